/**
 * The stale-runner clean-up (`remove-stale`): started by the `runner_remove_stale` button under a
 * status answer, never typed, under the environment's normal approval rules (CONTRACT §4).
 *
 * Which runners: the environment's runners in GitLab that status calls stale (`isStale`: stale
 * in GitLab, or offline / never contacted for longer than `gitlab.staleAfterDays`), never one
 * GitLab reports online and never the current manager's own runner (`isRemovableStale`, shared
 * with status). The plan lists them and fixes their ids in the operation's args (`runners`,
 * comma-separated), so the run deletes at most what the approver saw: at run time the set is
 * computed again and only the planned runners that are still stale are deleted.
 *
 * Idempotent: a runner already gone counts as gone, not as a failure; the ids deleted so far are
 * saved after each deletion, so a resumed step does not ask again. Nothing can be undone: a
 * deleted runner is gone (the cleanup only says which were deleted).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { findManager } from '../adapters/aws/ec2-instances';
import { deleteRunner, withGitlabRetry } from '../adapters/gitlab/runner-registration';
import { listEnvironmentRunners, type Runner } from '../adapters/gitlab/runners';
import type { EnvironmentConfig } from '../config/fleet-schema';
import { escapeMrkdwn } from '../domain/command';
import { isRunnerOpsError, RunnerOpsError, userMessage } from '../domain/errors';
import type { Json, OperationDefinition, StepDefinition } from './framework/types';
import { awsFor, gitlabOf, gitlabRetry, type ManagerOpsDeps } from './manager/deps';
import { resultOf } from './manager/inspect';
import { json, read } from './manager/state';
import { isRemovableStale } from './status/gather';

/** The operation's arg holding the planned runner ids (`12,13`; empty when none was stale). */
export const RUNNERS_ARG = 'runners';
/** How many runners the plan names one by one (the approval request stays readable). */
const MAX_PLAN_LINES = 25;
const DAY_MS = 24 * 3600 * 1000;

const ids = z.array(z.number().int().positive());
const selectResult = z.object({ runners: ids, kept: ids });
const deleteState = z.object({ deleted: ids, gone: ids });

interface Scan { managerId: string | undefined; stale: Runner[] }

/** The environment's removable stale runners now, read fresh from GitLab and EC2. */
async function scan(deps: ManagerOpsDeps, input: { envName: string; env: EnvironmentConfig; ec2: EC2Client; signal?: AbortSignal }): Promise<Scan> {
  const gitlab = gitlabOf(deps);
  const [runners, manager] = await Promise.all([
    withGitlabRetry(() => listEnvironmentRunners(gitlab, input.envName, input.env.gitlab, { details: true }), gitlabRetry(deps, input.signal)),
    findManager(input.ec2, input.envName, input.signal === undefined ? {} : { abortSignal: input.signal }),
  ]);
  const now = new Date(deps.clock.now());
  const stale = runners
    .filter((r) => isRemovableStale(r, now, input.env.gitlab.staleAfterDays, manager?.id))
    .sort((a, b) => a.id - b.id);
  return { managerId: manager?.id, stale };
}

/** The planned ids from the operation's args; a missing or unreadable list is refused. */
export function plannedRunnerIds(args: Readonly<Record<string, string>>): number[] {
  const raw = args[RUNNERS_ARG];
  if (raw === undefined || !/^(\d+(,\d+)*)?$/.test(raw)) {
    throw new RunnerOpsError('internal', 'this clean-up carries no readable list of runners from its plan; nothing was deleted: make a new request from `/runner status`');
  }
  return raw === '' ? [] : [...new Set(raw.split(',').map(Number))];
}

const list = (runnerIds: readonly number[]): string => runnerIds.map((id) => `#${id}`).join(', ');

function days(ms: number): string {
  const d = Math.floor(ms / DAY_MS);
  return d === 1 ? '1 day' : `${d} days`;
}

/** One plan line: id, status and how long ago GitLab last heard from it. */
function planLine(r: Runner, now: Date): string {
  const status = r.status.replace('_', ' ');
  const contact = r.contactedAt !== undefined
    ? `last contact ${days(now.getTime() - r.contactedAt.getTime())} ago`
    : `never contacted${r.createdAt === undefined ? '' : ` (created ${days(now.getTime() - r.createdAt.getTime())} ago)`}`;
  return `• *#${r.id}* ${escapeMrkdwn(status)}, ${contact}`;
}

export function staleRunnersOperation(deps: ManagerOpsDeps): OperationDefinition {
  const steps: StepDefinition[] = [
    {
      name: 'select',
      label: 'Check which of the planned runners are still stale',
      run: async (ctx) => {
        const planned = plannedRunnerIds(ctx.operation.args);
        if (planned.length === 0) return json({ runners: [], kept: [] });
        const { stale } = await scan(deps, { envName: ctx.envName, env: ctx.env, ec2: awsFor(deps, ctx).ec2, signal: ctx.signal });
        const still = new Set(stale.map((r) => r.id));
        const runners = planned.filter((id) => still.has(id));
        const kept = planned.filter((id) => !still.has(id));
        if (kept.length > 0) await ctx.note(`Keeping ${list(kept)}: no longer stale (or already gone) since the plan.`);
        return json({ runners, kept });
      },
    },
    {
      name: 'delete',
      label: 'Delete the stale runners in GitLab',
      run: async (ctx) => {
        const { runners } = resultOf(ctx, 'select', selectResult);
        const gitlab = gitlabOf(deps);
        const state = read(deleteState, ctx.saved) ?? { deleted: [], gone: [] };
        const failed: string[] = [];
        for (const id of runners) {
          if (state.deleted.includes(id) || state.gone.includes(id)) continue;
          await ctx.throwIfCancelled();
          try {
            const removed = await withGitlabRetry(() => deleteRunner(gitlab, id), gitlabRetry(deps, ctx.signal));
            (removed ? state.deleted : state.gone).push(id);
            await ctx.save(json(state));
          } catch (err) {
            if (isRunnerOpsError(err) && err.code === 'cancelled') throw err;
            failed.push(`#${id} (${userMessage(err)})`);
          }
        }
        if (failed.length > 0) {
          const done = state.deleted.length > 0 ? ` Deleted ${list(state.deleted)}.` : ' None was deleted.';
          throw new RunnerOpsError('external', `could not delete stale runner(s) ${failed.join(', ')}.${done}`);
        }
        return json(state);
      },
    },
  ];

  return {
    verb: 'remove-stale',
    steps,
    async plan(input) {
      const { ec2 } = deps.aws.forEnvironment(input.env, `runner-ops-${input.operationId}`);
      const { managerId, stale } = await scan(deps, { envName: input.envName, env: input.env, ec2 });
      const env = escapeMrkdwn(input.envName);
      const limit = input.env.gitlab.staleAfterDays;
      const args = { [RUNNERS_ARG]: stale.map((r) => r.id).join(',') };
      const labels = steps.map((s) => s.label);
      if (stale.length === 0) {
        return { summary: `No stale runner in *${env}* (none stale in GitLab, none offline or never contacted for more than ${limit} days): nothing would be deleted.`, steps: labels, args };
      }
      const now = new Date(deps.clock.now());
      const shown = stale.slice(0, MAX_PLAN_LINES).map((r) => planLine(r, now));
      if (stale.length > MAX_PLAN_LINES) shown.push(`…and ${stale.length - MAX_PLAN_LINES} more`);
      const kept = managerId === undefined ? '' : ` nor the runner of the current manager \`${managerId}\``;
      const summary = [
        `Delete ${stale.length} stale runner${stale.length === 1 ? '' : 's'} of *${env}* in GitLab (stale in GitLab, or offline or never contacted for more than ${limit} days; never an online runner${kept}):`,
        ...shown,
        'Each is checked again before it is deleted: one that came back online meanwhile is kept.',
      ].join('\n');
      return { summary, steps: labels, args };
    },
    async cleanup(ctx) {
      const state = read(deleteState, ctx.saved.delete);
      if (state !== undefined && state.deleted.length > 0) {
        await ctx.note(`Already deleted before this stopped (cannot be undone): ${list(state.deleted)}.`);
      }
    },
    summarize(results: Readonly<Record<string, Json>>): string {
      const done = read(deleteState, results.delete) ?? { deleted: [], gone: [] };
      const selected = read(selectResult, results.select);
      const parts = [done.deleted.length > 0 ? `Deleted stale runner(s) ${list(done.deleted)} in GitLab.` : 'No stale runner was deleted.'];
      if (done.gone.length > 0) parts.push(`Already gone: ${list(done.gone)}.`);
      if (selected !== undefined && selected.kept.length > 0) parts.push(`Kept (no longer stale): ${list(selected.kept)}.`);
      return parts.join(' ');
    },
  };
}
