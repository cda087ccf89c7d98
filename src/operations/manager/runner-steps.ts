/**
 * The runner side of bootstrap, rotate and reregister (one module, DESIGN: build it once): create
 * a runner through the GitLab API and put its token in Parameter Store, wait for it to come
 * online, delete the runners it replaces, and undo all of that when the operation fails early.
 *
 * The token lives in memory between `createRunner` and `putRunnerToken` and nowhere else: the
 * checkpoint holds the runner id and parameter versions only.
 */
import { deleteTokenParameter, describeTokenParameter, putRunnerToken, restoreTokenVersion } from '../../adapters/aws/token-parameter';
import { createRunner, deleteRunner, waitForRunnerOnline, withGitlabRetry } from '../../adapters/gitlab/runner-registration';
import { listEnvironmentRunners, type Runner } from '../../adapters/gitlab/runners';
import { userMessage } from '../../domain/errors';
import type { CleanupContext, OperationContext, StepContext, StepDefinition } from '../framework/types';
import { awsFor, finalWait, gitlabOf, gitlabRetry, type ManagerOpsDeps, pacing } from './deps';
import { inspected, resultOf } from './inspect';
import { json, read, runnerResult, runnerSaved, type InspectResult, type RunnerResult } from './state';

export type RunnerMode = 'reuse-if-present' | 'always-new';

const retry = (deps: ManagerOpsDeps, ctx: Pick<OperationContext, 'signal'>) => gitlabRetry(deps, ctx.signal);

/**
 * `reuse-if-present` (bootstrap): keep the environment's runner when the token parameter exists
 * and GitLab has a runner for this manager that is not stale. Otherwise, and always in
 * `always-new` (rotate, reregister): create one and store its token.
 *
 * Resume: the previous parameter version is saved before the runner is created and the runner id
 * right after. A runner whose id was saved but whose token never reached Parameter Store (the
 * process stopped in between) is deleted and a new one made: its token is gone.
 */
export function runnerStep(deps: ManagerOpsDeps, mode: RunnerMode, target: (ctx: StepContext) => string): StepDefinition {
  return {
    name: 'runner',
    label: mode === 'reuse-if-present' ? 'Make sure the runner exists in GitLab' : 'Create the new runner in GitLab',
    run: async (ctx) => {
      const gitlab = gitlabOf(deps);
      const { ssm } = awsFor(deps, ctx);
      const managerId = target(ctx);
      const name = ctx.env.gitlab.tokenParameter;
      const saved = read(runnerSaved, ctx.saved);
      if (saved?.runnerId !== undefined && saved.newVersion !== undefined) {
        return json({ runnerId: saved.runnerId, created: true, previousVersion: saved.previousVersion, newVersion: saved.newVersion, parameterCreated: saved.parameterCreated ?? false });
      }
      if (mode === 'reuse-if-present' && saved === undefined) {
        const info = inspected(ctx);
        const usable = usableRunner(info, managerId);
        if (usable !== undefined) {
          return json({ runnerId: usable.id, created: false, previousVersion: info.parameterVersion, newVersion: null, parameterCreated: false });
        }
      }
      if (saved?.runnerId !== undefined) {
        await withGitlabRetry(() => deleteRunner(gitlab, saved.runnerId ?? 0), retry(deps, ctx));
        await ctx.note(`Deleted runner #${saved.runnerId}: it was created before the bot stopped and its token was not stored.`);
      }
      const before = saved ?? { previousVersion: (await describeTokenParameter(ssm, name, { abortSignal: ctx.signal })).version ?? null };
      await ctx.save(json({ previousVersion: before.previousVersion }));
      const created = await withGitlabRetry(() => createRunner(gitlab, ctx.envName, ctx.env.gitlab, managerId), retry(deps, ctx));
      await ctx.save(json({ runnerId: created.id, previousVersion: before.previousVersion }));
      const put = await putRunnerToken(ssm, name, ctx.envName, created.token, { abortSignal: ctx.signal });
      const state = { runnerId: created.id, previousVersion: before.previousVersion, newVersion: put.version, parameterCreated: put.created };
      await ctx.save(json(state));
      await ctx.note(`Created runner #${created.id} in GitLab; its token is in \`${name}\` (SecureString, version ${put.version}).`);
      return json({ ...state, created: true });
    },
  };
}

/**
 * The runner bootstrap keeps: the token parameter exists and GitLab has a runner for this manager
 * (or an unmarked legacy one) that is not stale. Undefined means a new runner is needed.
 */
export function usableRunner(info: InspectResult, managerId: string | null): InspectResult['runners'][number] | undefined {
  if (info.parameterVersion === null) return undefined;
  return info.runners.find((r) => (r.managerId === managerId || r.managerId === null) && r.status !== 'stale');
}

export function theRunner(ctx: Pick<OperationContext, 'results'>): RunnerResult {
  return resultOf(ctx, 'runner', runnerResult);
}

export function runnerOnlineStep(deps: ManagerOpsDeps): StepDefinition {
  return {
    name: 'online',
    label: 'Wait for the runner to come online in GitLab',
    run: async (ctx) => {
      const { runnerId } = theRunner(ctx);
      const runner = await finalWait(waitForRunnerOnline(gitlabOf(deps), runnerId, { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.runnerOnlineMs, ...pacing(deps) }));
      return json({ runnerId, status: runner.status });
    },
  };
}

/**
 * Deletes the environment's runners that `doomed` selects (read fresh from GitLab). Runners that
 * could not be deleted are reported, not thrown, so the caller can list what remains.
 */
export async function deleteRunners(deps: ManagerOpsDeps, ctx: OperationContext, doomed: (r: Runner) => boolean): Promise<{ deleted: number[]; failed: string[] }> {
  const gitlab = gitlabOf(deps);
  const runners = await withGitlabRetry(() => listEnvironmentRunners(gitlab, ctx.envName, ctx.env.gitlab, { details: false }), retry(deps, ctx));
  const deleted: number[] = [];
  const failed: string[] = [];
  for (const r of runners.filter(doomed)) {
    try {
      await withGitlabRetry(() => deleteRunner(gitlab, r.id), retry(deps, ctx));
      deleted.push(r.id);
    } catch (err) {
      failed.push(`runner #${r.id} (${userMessage(err)})`);
    }
  }
  return { deleted, failed };
}

/**
 * Cleanup: delete the runner this operation created and put the token parameter back as it was
 * (the previous version's value, or no parameter). The environment runs one changing operation at
 * a time, so a parameter version newer than the saved one is this operation's. Returns lines for
 * the thread. Idempotent.
 */
export async function undoRunner(deps: ManagerOpsDeps, ctx: CleanupContext): Promise<string[]> {
  const saved = read(runnerSaved, ctx.saved.runner);
  if (saved === undefined) return [];
  const lines: string[] = [];
  const { ssm } = awsFor(deps, ctx);
  const name = ctx.env.gitlab.tokenParameter;
  const now = await describeTokenParameter(ssm, name);
  if (saved.previousVersion === null) {
    if (now.exists && await deleteTokenParameter(ssm, name)) lines.push(`deleted the token parameter \`${name}\` (it did not exist before)`);
  } else if (now.version !== saved.previousVersion) {
    const v = await restoreTokenVersion(ssm, name, saved.previousVersion);
    lines.push(`put the previous token back in \`${name}\` (version ${saved.previousVersion}, now version ${v})`);
  }
  if (saved.runnerId !== undefined) {
    const gone = await withGitlabRetry(() => deleteRunner(gitlabOf(deps), saved.runnerId ?? 0), gitlabRetry(deps));
    lines.push(gone ? `deleted the new runner #${saved.runnerId}` : `runner #${saved.runnerId} was already gone`);
  }
  return lines;
}
