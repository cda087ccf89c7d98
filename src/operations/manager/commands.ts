/**
 * Running a script on a manager from inside a step, resumably: the CommandId of every command a
 * step sends is saved in the step's checkpoint (keyed by instance) before it is polled, so a
 * resumed job re-attaches to the command instead of sending it again (SendCommand has no
 * idempotency token, DESIGN §2).
 */
import { type CommandResult, commandFailed, runScript } from '../../adapters/aws/ssm-commands';
import { renderFleet, type RenderedFleet } from '../../fleet/render';
import type { ManagerPhaseName } from '../../fleet/manager-phases';
import { readManagerResult } from '../../fleet/summary';
import { RunnerOpsError, userMessage } from '../../domain/errors';
import type { CleanupContext, OperationContext, StepContext } from '../framework/types';
import { awsFor, type ManagerOpsDeps } from './deps';
import { commandSaved, json, read, type CommandSaved } from './state';
import { z } from 'zod';

const commandsSaved = z.object({ commands: z.record(z.string(), commandSaved) });

export interface CommandSpec {
  instanceId: string;
  script: string;
  /** What the command does, for the SSM comment and error messages: `bootstrap phase host`. */
  what: string;
  executionTimeoutSeconds: number;
}

/** Sends (or re-attaches to) one command on `spec.instanceId` and waits for its result. */
export async function runOnManager(deps: ManagerOpsDeps, ctx: StepContext, spec: CommandSpec): Promise<CommandResult> {
  const { ssm } = awsFor(deps, ctx);
  const all: Record<string, CommandSaved> = { ...(read(commandsSaved, ctx.saved)?.commands ?? {}) };
  const bucket = ctx.env.ssm.outputBucket;
  return runScript(ssm, {
    instanceId: spec.instanceId,
    script: spec.script,
    comment: `runner-ops ${ctx.operation.id} ${ctx.operation.verb}: ${spec.what}`,
    executionTimeoutSeconds: spec.executionTimeoutSeconds,
    ...(bucket === undefined ? {} : { outputBucket: bucket, outputKeyPrefix: `runner-ops/${ctx.envName}/${ctx.operation.id}` }),
  }, {
    clock: deps.clock,
    signal: ctx.signal,
    saved: all[spec.instanceId],
    save: async (state) => {
      all[spec.instanceId] = state;
      await ctx.save(json({ commands: all }));
    },
    ...(deps.timings.poll === undefined ? {} : { initialDelayMs: deps.timings.poll.initialDelayMs, maxDelayMs: deps.timings.poll.maxDelayMs }),
  });
}

/** Runs a command and throws the failure (with its redacted output tail) unless it succeeded. */
export async function runOnManagerOrFail(deps: ManagerOpsDeps, ctx: StepContext, spec: CommandSpec): Promise<CommandResult> {
  const result = await runOnManager(deps, ctx, spec);
  if (!result.ok) throw commandFailed(spec.what, result);
  if (result.outputUrl !== undefined && result.truncated) await ctx.note(`Full output of ${spec.what}: ${result.outputUrl}`);
  return result;
}

/** The environment's artifacts, rendered from the fleet-file section the operation was approved for. */
export function renderFor(deps: ManagerOpsDeps, ctx: Pick<OperationContext, 'envName' | 'env'>): RenderedFleet {
  return renderFleet({ envName: ctx.envName, env: ctx.env, gitlabUrl: deps.gitlabUrl, ...(deps.catalogue === undefined ? {} : { catalogue: deps.catalogue }) });
}

/** One bootstrap phase on `instanceId`; returns whether it changed anything. */
export async function runPhase(deps: ManagerOpsDeps, ctx: StepContext, instanceId: string, name: ManagerPhaseName): Promise<{ changed: boolean; restarted: boolean }> {
  const phase = renderFor(deps, ctx).managerPhases.find((p) => p.name === name);
  if (phase === undefined) throw new RunnerOpsError('internal', `no bootstrap phase ${name}`);
  const result = await runOnManagerOrFail(deps, ctx, { instanceId, script: phase.script, what: `bootstrap phase ${name}`, executionTimeoutSeconds: deps.timings.phaseSeconds[name] });
  const summary = readManagerResult(result.stdout);
  return { changed: summary.changed, restarted: summary.manager?.restarted === true };
}

/**
 * Cleanup after the token parameter was put back: renders config.toml on `instanceId` from it
 * again (the runner phase), so the manager uses the previous token, not the deleted runner's.
 * This sends a new command (a cleanup has no checkpoint to re-attach to; the phase is idempotent,
 * so a second copy after a crash does no harm). Returns a line for the thread.
 */
export async function rerenderConfig(deps: ManagerOpsDeps, ctx: CleanupContext, instanceId: string): Promise<string> {
  try {
    const script = renderFor(deps, ctx).managerPhases.find((p) => p.name === 'runner')?.script ?? '';
    const step: StepContext = { ...ctx, saved: undefined, save: async () => undefined, throwIfCancelled: async () => undefined };
    const result = await runOnManager(deps, step, { instanceId, script, what: 'restore of config.toml', executionTimeoutSeconds: deps.timings.phaseSeconds.runner });
    return result.ok
      ? `rendered config.toml on \`${instanceId}\` from the previous token again`
      : `could not render config.toml again on \`${instanceId}\` (${result.reason}): run \`/runner bootstrap ${ctx.envName}\``;
  } catch (err) {
    return `could not render config.toml again on \`${instanceId}\` (${userMessage(err)}): run \`/runner bootstrap ${ctx.envName}\``;
  }
}
