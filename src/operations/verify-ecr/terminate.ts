/**
 * The verify worker never outlives the operation: the `terminate` step ends every run that got
 * that far, and the cleanup (failure, cancellation, a crash that exhausted the retries) does the
 * same. Both find the worker by its `runner-ops:operation` tag and role `verify-worker` as well as
 * by the checkpointed id, so a launch whose id never reached a checkpoint is found too. They go
 * through `terminateInstances` without `allowManagers`, which re-reads the tags and refuses a
 * manager or anything runner-ops did not create. After a crash the bot does not come back from,
 * the reaper terminates the worker past its `runner-ops:expires-at`.
 */
import { terminateInstances, waitUntilTerminated } from '../../adapters/aws/ec2-cleanup';
import { listOperationVerifyWorkers } from '../../adapters/aws/worker-lookups';
import type { CleanupContext, OperationContext, StepDefinition } from '../framework/types';
import { cleanupContext } from '../manager/cleanup';
import { awsFor, type ManagerOpsDeps, pacing } from '../manager/deps';
import { json } from '../manager/state';
import { LAUNCH_STEP, launchedWorker } from './launch';
import { launchResult, launchSaved, read } from './state';

export interface TerminateOutcome {
  /** Ids now terminated (or already gone). */
  terminated: string[];
  /** Ids that needed a TerminateInstances call. */
  stopped: string[];
  refused: { id: string; reason: string }[];
}

/** Terminates this operation's verify workers and waits until they are gone. Idempotent. */
export async function terminateVerifyWorkers(deps: ManagerOpsDeps, ctx: OperationContext, known: readonly string[]): Promise<TerminateOutcome> {
  const { ec2 } = awsFor(deps, ctx);
  const tagged = await listOperationVerifyWorkers(ec2, ctx.envName, ctx.operation.id, { abortSignal: ctx.signal });
  const ids = [...new Set([...known, ...tagged.map((i) => i.id)])];
  if (ids.length === 0) return { terminated: [], stopped: [], refused: [] };
  const t = await terminateInstances(ec2, ids, { abortSignal: ctx.signal });
  if (t.terminated.length > 0) {
    await waitUntilTerminated(ec2, t.terminated, { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.terminatedMs, ...pacing(deps) });
  }
  const gone = new Set(t.alreadyGone ?? []);
  return { terminated: t.terminated, stopped: t.terminated.filter((id) => !gone.has(id)), refused: t.refused };
}

function aliveFor(deps: ManagerOpsDeps, launchedAt: number | undefined): number | null {
  return launchedAt === undefined ? null : Math.max(0, Math.round((deps.clock.now() - launchedAt) / 1000));
}

export function terminateStep(deps: ManagerOpsDeps): StepDefinition {
  return {
    name: 'terminate',
    label: 'Terminate the verify worker',
    run: async (ctx) => {
      const launch = launchedWorker(ctx);
      const out = await terminateVerifyWorkers(deps, ctx, [launch.instanceId]);
      const secondsAlive = aliveFor(deps, launch.launchedAt);
      const lines = out.terminated.map((id) => `Terminated verify worker \`${id}\`${id === launch.instanceId && secondsAlive !== null ? ` after ${secondsAlive} s` : ''}.`);
      for (const r of out.refused) lines.push(`:warning: left \`${r.id}\` alone: ${r.reason}`);
      if (lines.length > 0) await ctx.note(lines.join('\n'));
      return json({ terminated: out.terminated, secondsAlive });
    },
  };
}

/** The cleanup of a failed or cancelled verify-ecr: no verify worker of this operation is left. */
export async function cleanupVerifyWorker(deps: ManagerOpsDeps, raw: CleanupContext): Promise<void> {
  const ctx = cleanupContext(raw);
  const launched = read(launchResult, ctx.results[LAUNCH_STEP]);
  const saved = read(launchSaved, ctx.saved[LAUNCH_STEP]);
  const known = [launched?.instanceId, saved?.instanceId].filter((id): id is string => id !== undefined);
  const out = await terminateVerifyWorkers(deps, ctx, known);
  const secondsAlive = aliveFor(deps, launched?.launchedAt);
  const gone = out.terminated.filter((id) => !out.stopped.includes(id));
  const lines = [
    ...out.stopped.map((id) => `terminated verify worker \`${id}\`${secondsAlive !== null && id === launched?.instanceId ? ` (alive ${secondsAlive} s)` : ''}`),
    ...out.refused.map((r) => `:warning: left \`${r.id}\` alone: ${r.reason}`),
  ];
  const already = gone.map((id) => `\`${id}\``).join(', ');
  if (lines.length > 0) {
    await ctx.note(`Undone:\n${lines.map((l) => `• ${l}`).join('\n')}${gone.length === 0 ? '' : `\nAlready terminated: ${already}.`}`);
  } else {
    await ctx.note(gone.length === 0 ? 'Nothing to undo: no verify worker was launched.' : `Nothing left to undo: verify worker ${already} is already terminated.`);
  }
}
