/**
 * The one GitLab runner module (on @gitbeaker/rest). This file holds the READ side: list the
 * environment's runners and show one. The write side (create via POST /user/runners, delete via
 * DELETE /runners/:id, verify) belongs here too and reuses `gitlabCall`, the schemas and
 * `toRunner`.
 *
 * Endpoints (DESIGN §2; gitbeaker's `Runners.all` picks the URL from its arguments):
 * - group_type:    `Runners.all({ groupId })`   -> GET /groups/:id/runners?type=group_type
 * - project_type:  `Runners.all({ projectId })` -> GET /projects/:id/runners?type=project_type
 * - instance_type: `Runners.all()`              -> GET /runners/all?type=instance_type (admin only;
 *   instance runners can only be created by an administrator anyway). Note `{ owned: true }`
 *   would be GET /runners, the runners the token's user owns.
 * gitbeaker follows the `Link: rel="next"` header, so lists are complete; `perPage: 100` keeps
 * the number of pages small.
 */
import { withDeadline } from '../../domain/deadline';
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { RunnerOpsError } from '../../domain/errors';
import { DEFAULT_GITLAB_CALL_TIMEOUT_MS, type GitlabClient } from './client';
import { isEnvironmentRunner, parseRunnerDescription } from './description';
import { fromGitlabError, type GitlabCallContext } from './errors';
import { runnerDetailsSchema, runnerListSchema, type RunnerDetails, type RunnerListItem, type RunnerType } from './schemas';

export { runnerDescription, parseRunnerDescription, isEnvironmentRunner } from './description';

export type RunnerStatus = 'online' | 'offline' | 'stale' | 'never_contacted' | 'unknown';

export interface Runner {
  id: number;
  description: string;
  status: RunnerStatus;
  paused: boolean;
  runnerType: RunnerType | undefined;
  /** From the description marker (`[runner-ops:<env> manager:<id>]`). */
  environment: string | undefined;
  managerId: string | undefined;
  tags: string[];
  createdAt?: Date;
  /** Only from the details endpoint (showRunner / listEnvironmentRunners with details). */
  contactedAt?: Date;
  /** Only where GitLab exposes it on GET /runners/:id (newer versions). */
  tokenExpiresAt?: Date;
  version?: string;
}

export interface GitlabCallOptions {
  /** Bound on the whole call (pages and retries included). Default DEFAULT_GITLAB_CALL_TIMEOUT_MS. */
  timeoutMs?: number;
}

export type GitlabScopeConfig = Pick<EnvironmentConfig['gitlab'], 'runnerType' | 'groupId' | 'projectId'>;

/**
 * Runs one GitLab call, bounded by `timeoutMs`, with errors mapped to RunnerOpsError. gitbeaker
 * takes no per-call AbortSignal, so on timeout the request is abandoned (its own `queryTimeout`
 * ends it later) and the caller gets a 'timeout' error now.
 */
export async function gitlabCall<T>(fn: () => Promise<unknown>, parse: (body: unknown) => T, ctx: GitlabCallContext, opts: GitlabCallOptions = {}): Promise<T> {
  const ms = opts.timeoutMs ?? DEFAULT_GITLAB_CALL_TIMEOUT_MS;
  try {
    return parse(await withDeadline(`GitLab: could not ${ctx.action}`, Date.now() + ms, () => fn()));
  } catch (err) {
    throw fromGitlabError(err, ctx);
  }
}

function toStatus(item: RunnerListItem): RunnerStatus {
  switch (item.status) {
    case 'online':
    case 'offline':
    case 'stale':
    case 'never_contacted':
      return item.status;
    case 'not_connected': // GitLab < 15 name for never_contacted
      return 'never_contacted';
    default:
      // Old GitLab reported active/paused in `status`; `online` still tells the connection.
      if (item.online === true) return 'online';
      if (item.online === false) return 'offline';
      return 'unknown';
  }
}

export function toRunner(item: RunnerListItem | RunnerDetails): Runner {
  const marker = parseRunnerDescription(item.description);
  const runner: Runner = {
    id: item.id,
    description: item.description,
    status: toStatus(item),
    paused: item.paused ?? (item.active === undefined ? false : !item.active),
    runnerType: item.runner_type,
    environment: marker?.environment,
    managerId: marker?.managerId,
    tags: [],
  };
  if (item.created_at !== undefined) runner.createdAt = item.created_at;
  if ('contacted_at' in item) {
    if (item.contacted_at !== undefined) runner.contactedAt = item.contacted_at;
    if (item.token_expires_at !== undefined) runner.tokenExpiresAt = item.token_expires_at;
    if (item.tag_list !== null && item.tag_list !== undefined) runner.tags = [...item.tag_list];
    if (item.version !== null && item.version !== undefined) runner.version = item.version;
  }
  return runner;
}

function scopeName(cfg: GitlabScopeConfig): string {
  switch (cfg.runnerType) {
    case 'group_type': return `group ${cfg.groupId ?? '?'}`;
    case 'project_type': return `project ${cfg.projectId ?? '?'}`;
    case 'instance_type': return 'the instance';
  }
}

/** Every runner of the configured scope (group, project or instance), unfiltered. */
export async function listScopeRunners(gitlab: GitlabClient, cfg: GitlabScopeConfig, opts: GitlabCallOptions = {}): Promise<Runner[]> {
  const where = scopeName(cfg);
  const ctx: GitlabCallContext = {
    action: `list the runners of ${where}`,
    scopes: ['manage_runner', 'read_api'],
    ...(cfg.runnerType === 'group_type' ? { notFound: `${where} was not found, or the token cannot see it (check gitlab.groupId)` } : {}),
    ...(cfg.runnerType === 'project_type' ? { notFound: `${where} was not found, or the token cannot see it (check gitlab.projectId)` } : {}),
    ...(cfg.runnerType === 'instance_type'
      ? { forbiddenHint: 'listing instance runners needs an administrator\'s token' }
      : { forbiddenHint: `and at least the Maintainer role in ${where}` }),
  };
  const list = () => {
    switch (cfg.runnerType) {
      case 'group_type':
        if (cfg.groupId === undefined) throw new RunnerOpsError('config_invalid', 'gitlab.groupId is required for group_type runners');
        return gitlab.Runners.all({ groupId: cfg.groupId, type: 'group_type', perPage: 100 });
      case 'project_type':
        if (cfg.projectId === undefined) throw new RunnerOpsError('config_invalid', 'gitlab.projectId is required for project_type runners');
        return gitlab.Runners.all({ projectId: cfg.projectId, type: 'project_type', perPage: 100 });
      case 'instance_type':
        return gitlab.Runners.all({ type: 'instance_type', perPage: 100 });
    }
  };
  const items = await gitlabCall(list, (body) => runnerListSchema.parse(body), ctx, opts);
  return items.map(toRunner);
}

/** One runner's details: status, contacted_at, tags and (where GitLab gives it) token expiry. */
export function showRunner(gitlab: GitlabClient, id: number, opts: GitlabCallOptions = {}): Promise<Runner> {
  return gitlabCall(
    () => gitlab.Runners.show(id),
    (body) => toRunner(runnerDetailsSchema.parse(body)),
    { action: `show runner ${id}`, scopes: ['manage_runner', 'read_api'], notFound: `runner ${id} does not exist (any more)` },
    opts,
  );
}

export interface ListEnvironmentRunnersOptions extends GitlabCallOptions {
  /** Fetch each runner's details (contacted_at, tags, token expiry). Default true. */
  details?: boolean;
}

const DETAIL_CONCURRENCY = 4;

/**
 * The runners in the environment's scope whose description carries the environment's marker,
 * with details. `timeoutMs` bounds the list and the details together. A runner deleted between
 * the list and its details call is left out.
 */
export async function listEnvironmentRunners(
  gitlab: GitlabClient,
  envName: string,
  gitlabCfg: GitlabScopeConfig,
  opts: ListEnvironmentRunnersOptions = {},
): Promise<Runner[]> {
  const started = Date.now();
  const total = opts.timeoutMs ?? DEFAULT_GITLAB_CALL_TIMEOUT_MS;
  const remaining = () => Math.max(1, total - (Date.now() - started));

  const mine = (await listScopeRunners(gitlab, gitlabCfg, { timeoutMs: total })).filter((r) => isEnvironmentRunner(r.description, envName));
  if (opts.details === false) return mine;

  const out: (Runner | undefined)[] = new Array<Runner | undefined>(mine.length);
  let next = 0;
  const worker = async () => {
    while (next < mine.length) {
      const i = next;
      next += 1;
      const listed = mine[i];
      if (listed === undefined) continue;
      try {
        out[i] = await showRunner(gitlab, listed.id, { timeoutMs: remaining() });
      } catch (err) {
        if (err instanceof RunnerOpsError && err.code === 'not_found') continue;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DETAIL_CONCURRENCY, mine.length) }, worker));
  return out.filter((r): r is Runner => r !== undefined);
}
