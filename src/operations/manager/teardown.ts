/**
 * Taking a manager out of service: drain its gitlab-runner (SIGQUIT, bounded), remove its Docker
 * Machine workers (docker-machine rm over SSM, then terminate leftovers tagged with its id), delete
 * its key pair, terminate it. Used by rotate (the old manager), destroy (every manager) and the
 * cleanup of a failed bootstrap or rotate (the manager the operation launched).
 */
import { getSsmInstanceInfo } from '../../adapters/aws/ssm-ping';
import { deleteKeyPair, listManagerWorkers, managerKeyPairName, terminateInstances, waitUntilTerminated } from '../../adapters/aws/ec2-cleanup';
import { listInstances } from '../../adapters/aws/ec2-instances';
import { TAG } from '../../adapters/aws/tags';
import { userMessage } from '../../domain/errors';
import { renderDrainScript, renderRemoveWorkersScript } from '../../fleet/manager-maintenance';
import { lastSummary } from '../../fleet/summary';
import type { OperationContext, StepContext } from '../framework/types';
import { runOnManager, runOnManagerOrFail } from './commands';
import { awsFor, type ManagerOpsDeps, pacing } from './deps';

async function reachable(deps: ManagerOpsDeps, ctx: OperationContext, instanceId: string): Promise<boolean> {
  const { ssm } = awsFor(deps, ctx);
  return (await getSsmInstanceInfo(ssm, instanceId, { abortSignal: ctx.signal })).pingStatus === 'Online';
}

/** Drains one manager. Returns a line for the thread; throws when the drain command fails. */
export async function drainManager(deps: ManagerOpsDeps, ctx: StepContext, instanceId: string): Promise<string> {
  if (!await reachable(deps, ctx, instanceId)) {
    return `\`${instanceId}\` is not reachable through SSM, so its gitlab-runner could not be drained; jobs still running on it stop when it is terminated`;
  }
  const drainSeconds = ctx.env.manager.drainTimeoutMinutes * 60;
  const result = await runOnManagerOrFail(deps, ctx, {
    instanceId, script: renderDrainScript(ctx.envName, drainSeconds), what: `drain of ${instanceId}`,
    // systemd's own stop timeout (TimeoutStopSec = the drain time) plus the stop itself.
    executionTimeoutSeconds: drainSeconds + 300,
  });
  const drain = lastSummary(result.stdout, 'drain');
  if (drain === undefined) return `drained \`${instanceId}\``;
  return drain.graceful
    ? `drained \`${instanceId}\`: gitlab-runner finished its jobs and stopped (${drain.waitedSeconds} s)`
    : `\`${instanceId}\`: jobs still running after ${drain.waitedSeconds} s were stopped with the service`;
}

/**
 * Removes one manager's workers: docker-machine rm over SSM when the manager answers, then
 * terminates every worker still tagged with its id. Returns lines; leftovers that could not be
 * terminated are returned in `remaining`.
 */
export async function removeWorkers(deps: ManagerOpsDeps, ctx: StepContext | OperationContext, instanceId: string): Promise<{ lines: string[]; remaining: string[] }> {
  const lines: string[] = [];
  const remaining: string[] = [];
  if ('save' in ctx && await reachable(deps, ctx, instanceId)) {
    const result = await runOnManager(deps, ctx, { instanceId, script: renderRemoveWorkersScript(ctx.envName), what: `docker-machine rm on ${instanceId}`, executionTimeoutSeconds: deps.timings.removeWorkersSeconds });
    const w = result.ok ? lastSummary(result.stdout, 'workers') : undefined;
    lines.push(w === undefined ? `docker-machine rm on \`${instanceId}\` did not finish (${result.reason}); leftovers are terminated below`
      : `docker-machine removed ${w.removed} worker(s) of \`${instanceId}\`${w.failed > 0 ? `, ${w.failed} failed (terminated below)` : ''}`);
  }
  const { ec2 } = awsFor(deps, ctx);
  const left = await listManagerWorkers(ec2, ctx.envName, instanceId, { abortSignal: ctx.signal });
  if (left.length > 0) {
    const t = await terminateInstances(ec2, left.map((i) => i.id), { abortSignal: ctx.signal });
    if (t.terminated.length > 0) lines.push(`terminated ${t.terminated.length} leftover worker(s) of \`${instanceId}\`: ${t.terminated.map((i) => `\`${i}\``).join(', ')}`);
    for (const r of t.refused) remaining.push(`worker ${r.id} (${r.reason})`);
  }
  return { lines, remaining };
}

export async function deleteManagerKeyPair(deps: ManagerOpsDeps, ctx: OperationContext, instanceId: string): Promise<string> {
  const { ec2 } = awsFor(deps, ctx);
  const name = managerKeyPairName(ctx.envName, instanceId);
  return await deleteKeyPair(ec2, name, { abortSignal: ctx.signal }) ? `deleted key pair \`${name}\`` : `key pair \`${name}\` did not exist`;
}

/** Terminates managers (only rotate, destroy and a failed operation's cleanup may) and waits. */
export async function terminateManagers(deps: ManagerOpsDeps, ctx: OperationContext, ids: readonly string[]): Promise<{ lines: string[]; remaining: string[] }> {
  if (ids.length === 0) return { lines: [], remaining: [] };
  const { ec2 } = awsFor(deps, ctx);
  const t = await terminateInstances(ec2, ids, { allowManagers: true, abortSignal: ctx.signal });
  if (t.terminated.length > 0) await waitUntilTerminated(ec2, t.terminated, { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.terminatedMs, ...pacing(deps) });
  return {
    lines: t.terminated.map((i) => `terminated manager \`${i}\``),
    remaining: t.refused.map((r) => `manager ${r.id} (${r.reason})`),
  };
}

/**
 * Cleanup of a failed bootstrap or rotate: every manager this operation launched (found by its
 * `runner-ops:operation` tag, so a launch whose id never reached the checkpoint is found too),
 * with its workers and key pair. Never touches a manager another operation launched.
 */
export async function removeLaunchedManagers(deps: ManagerOpsDeps, ctx: OperationContext): Promise<string[]> {
  const { ec2 } = awsFor(deps, ctx);
  const mine = (await listInstances(ec2, { environment: ctx.envName, role: 'manager', states: ['pending', 'running', 'stopping', 'stopped'] }))
    .filter((i) => i.tags.get(TAG.operation) === ctx.operation.id);
  const lines: string[] = [];
  for (const m of mine) {
    try {
      lines.push(...(await removeWorkers(deps, ctx, m.id)).lines);
    } catch (err) {
      lines.push(`could not remove the workers of \`${m.id}\`: ${userMessage(err)}`);
    }
    lines.push(...(await terminateManagers(deps, ctx, [m.id])).lines);
    lines.push(await deleteManagerKeyPair(deps, ctx, m.id));
  }
  return lines;
}
