/**
 * The WRITE side of the GitLab runner module: create a runner (POST /user/runners), delete one
 * (DELETE /runners/:id), wait for one to come online, and the retry policy for GitLab calls.
 * Reads live in ./runners.ts; both go through `gitlabCall` so errors map the same way.
 *
 * Secrets: POST /user/runners answers with the runner authentication token (`glrt-…`). It is
 * wrapped in a Secret as soon as it is parsed and never put into an error message, detail or
 * cause; the caller stores it with `putRunnerToken` (SSM SecureString) and nowhere else.
 *
 * Idempotency: creating a runner is NOT idempotent. gitbeaker itself repeats a request that got
 * 429/502 (any method), and `withGitlabRetry` around `createRunner` repeats one that got a 5xx
 * or timed out, so a request GitLab did carry out but answered badly can leave a second runner.
 * Every runner carries the environment marker (and the manager id) in its description, so the
 * caller finds such orphans with `listEnvironmentRunners` and deletes them with `deleteRunner`.
 */
import type { EnvironmentConfig } from '../../config/fleet-schema';
import type { Clock } from '../../domain/clock';
import { abortError } from '../../domain/clock';
import { RunnerOpsError, isRetryable } from '../../domain/errors';
import { pollUntil } from '../../domain/poll';
import { Secret } from '../../domain/secret';
import { DEFAULT_GITLAB_CALL_TIMEOUT_MS, type GitlabClient } from './client';
import { runnerDescription } from './description';
import type { GitlabCallContext } from './errors';
import { gitlabCall, showRunner, type GitlabCallOptions, type Runner } from './runners';
import { createdRunnerSchema } from './schemas';

export interface CreatedRunner {
  id: number;
  token: Secret;
  tokenExpiresAt: Date | undefined;
}

/**
 * What createRunner reads from the environment's `gitlab` section. `maximumTimeout` (seconds,
 * GitLab's `maximum_timeout`) is not in the fleet schema yet; it is sent when present.
 */
export type RunnerRegistrationConfig = Pick<EnvironmentConfig['gitlab'], 'runnerType' | 'groupId' | 'projectId' | 'tags' | 'runUntagged' | 'description'>
  & { maximumTimeout?: number };

function createContext(cfg: RunnerRegistrationConfig): GitlabCallContext {
  switch (cfg.runnerType) {
    case 'group_type': {
      const where = `group ${cfg.groupId ?? '?'}`;
      return {
        action: `create a runner in ${where}`,
        scopes: ['create_runner'],
        notFound: `${where} was not found, or the token cannot see it (check gitlab.groupId)`,
        forbiddenHint: `creating a group runner also needs the Owner role in ${where}`,
      };
    }
    case 'project_type': {
      const where = `project ${cfg.projectId ?? '?'}`;
      return {
        action: `create a runner in ${where}`,
        scopes: ['create_runner'],
        notFound: `${where} was not found, or the token cannot see it (check gitlab.projectId)`,
        forbiddenHint: `creating a project runner also needs at least the Maintainer role in ${where}`,
      };
    }
    case 'instance_type':
      return {
        action: 'create an instance runner',
        scopes: ['create_runner'],
        forbiddenHint: 'creating an instance runner needs an administrator\'s token',
      };
  }
}

/**
 * POST /user/runners (gitbeaker `Users.createCIRunner`), created unpaused with the environment's
 * tags and a description carrying the runner-ops marker. One request, no retry of its own (see
 * the module comment); errors: 401 token rejected, 403 names `create_runner` (and the role), 404
 * names gitlab.groupId / gitlab.projectId, 5xx/network 'unavailable'.
 */
export async function createRunner(
  gitlab: GitlabClient,
  envName: string,
  gitlabCfg: RunnerRegistrationConfig,
  managerId: string,
  opts: GitlabCallOptions = {},
): Promise<CreatedRunner> {
  if (gitlabCfg.runnerType === 'group_type' && gitlabCfg.groupId === undefined) {
    throw new RunnerOpsError('config_invalid', 'gitlab.groupId is required for group_type runners');
  }
  if (gitlabCfg.runnerType === 'project_type' && gitlabCfg.projectId === undefined) {
    throw new RunnerOpsError('config_invalid', 'gitlab.projectId is required for project_type runners');
  }
  const ctx = createContext(gitlabCfg);
  const body = await gitlabCall(
    () => gitlab.Users.createCIRunner(gitlabCfg.runnerType, {
      ...(gitlabCfg.runnerType === 'group_type' ? { groupId: gitlabCfg.groupId } : {}),
      ...(gitlabCfg.runnerType === 'project_type' ? { projectId: gitlabCfg.projectId } : {}),
      description: runnerDescription(envName, gitlabCfg, managerId),
      tagList: [...gitlabCfg.tags],
      runUntagged: gitlabCfg.runUntagged,
      paused: false,
      ...(gitlabCfg.maximumTimeout !== undefined ? { maximumTimeout: gitlabCfg.maximumTimeout } : {}),
    }),
    (answer) => answer,
    ctx,
    opts,
  );
  // Parsed here rather than in gitlabCall so that a failure carries no cause: the answer may
  // hold a token, and a cause is logged with the error.
  const parsed = createdRunnerSchema.safeParse(body);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
    const id = typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined;
    const orphan = typeof id === 'number' ? `; runner #${id} may have been created: delete it in GitLab` : '';
    throw new RunnerOpsError('external', `GitLab: could not ${ctx.action}: GitLab answered with an unexpected shape${where}${orphan}`);
  }
  return { id: parsed.data.id, token: new Secret(parsed.data.token), tokenExpiresAt: parsed.data.token_expires_at };
}

/**
 * DELETE /runners/:id (gitbeaker `Runners.remove({ runnerId })`). Idempotent: a runner that is
 * already gone (404) gives false, a deleted one true. 403 names `manage_runner`.
 */
export async function deleteRunner(gitlab: GitlabClient, id: number, opts: GitlabCallOptions = {}): Promise<boolean> {
  const ctx: GitlabCallContext = {
    action: `delete runner ${id}`,
    scopes: ['manage_runner'],
    notFound: `runner ${id} does not exist (any more)`,
    forbiddenHint: 'and the right to manage this runner (Owner of its group, Maintainer of its project, administrator for instance runners)',
  };
  try {
    await gitlabCall(() => gitlab.Runners.remove({ runnerId: id }), () => undefined, ctx, opts);
    return true;
  } catch (err) {
    if (err instanceof RunnerOpsError && err.code === 'not_found') return false;
    throw err;
  }
}

export interface WaitForRunnerOnlineOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** How long to wait in all, on `clock`. */
  timeoutMs: number;
  /** First pause between checks; default 5 s. */
  initialDelayMs?: number;
  /** Longest pause between checks; default 15 s. */
  maxDelayMs?: number;
  /** Bound on each GET /runners/:id (real time); default DEFAULT_GITLAB_CALL_TIMEOUT_MS. */
  callTimeoutMs?: number;
}

function minutes(ms: number): string {
  return String(Math.round(ms / 6_000) / 10);
}

/**
 * Polls GET /runners/:id until GitLab reports the runner `online` (gitlab-runner on the manager
 * has contacted GitLab with the token). Retryable errors (429, 5xx, network, a call timeout) are
 * tolerated until the deadline; any other error ends the wait at once, and a 404 means someone
 * deleted the runner. The deadline may be overrun by at most one call's timeout.
 */
export async function waitForRunnerOnline(gitlab: GitlabClient, id: number, opts: WaitForRunnerOnlineOptions): Promise<Runner> {
  let last = 'no answer yet';
  try {
    return await pollUntil(async () => {
      try {
        const runner = await showRunner(gitlab, id, { timeoutMs: opts.callTimeoutMs ?? DEFAULT_GITLAB_CALL_TIMEOUT_MS });
        if (runner.status === 'online') return runner;
        last = `last status: ${runner.status}`;
        return undefined;
      } catch (err) {
        if (err instanceof RunnerOpsError && err.code === 'not_found') {
          throw new RunnerOpsError('external', `runner ${id} was deleted while waiting for it to come online`, { cause: err });
        }
        if (!isRetryable(err)) throw err;
        last = `last check failed: ${err instanceof Error ? err.message : String(err)}`;
        return undefined;
      }
    }, {
      clock: opts.clock,
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      deadline: opts.clock.now() + opts.timeoutMs,
      initialDelayMs: opts.initialDelayMs ?? 5_000,
      maxDelayMs: opts.maxDelayMs ?? 15_000,
      label: `runner #${id} to come online`,
    });
  } catch (err) {
    // Only the deadline produces a 'timeout' here: the check swallows retryable errors.
    if (err instanceof RunnerOpsError && err.code === 'timeout') {
      throw new RunnerOpsError(
        'timeout',
        `runner #${id} did not come online in GitLab within ${minutes(opts.timeoutMs)} min (${last}): check gitlab-runner on the manager `
        + '(`gitlab-runner verify`, `journalctl -u gitlab-runner`) and that the manager reaches GITLAB_URL over outbound HTTPS',
        { cause: err },
      );
    }
    throw err;
  }
}

export interface GitlabRetryOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** Tries in all, the first included; default 4. */
  attempts?: number;
  /** Pause before the second try; doubles after each; default 1 s. */
  baseDelayMs?: number;
}

/**
 * Runs `fn` again while it fails with a retryable RunnerOpsError (throttled, unavailable,
 * timeout), pausing `baseDelayMs * 2^n` on the clock between tries (1 s, 2 s, 4 s by default).
 * Any other error, and the last try's error, is thrown as it is. gitbeaker's own quick retries of
 * 429/502 happen inside each try. Wrap only calls that are safe to repeat (see the module
 * comment on createRunner).
 */
export async function withGitlabRetry<T>(fn: () => Promise<T>, opts: GitlabRetryOptions): Promise<T> {
  const attempts = Math.max(1, Math.floor(opts.attempts ?? 4));
  const base = opts.baseDelayMs ?? 1_000;
  for (let attempt = 1; ; attempt += 1) {
    if (opts.signal?.aborted === true) throw abortError(opts.signal);
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      await opts.clock.sleep(base * 2 ** (attempt - 1), opts.signal);
    }
  }
}
