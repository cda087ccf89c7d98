/**
 * An in-process step runner for `npm run bench`: runs one OperationDefinition's plan and then its
 * steps in order, without BullMQ, Redis or Slack, building the StepContext the framework's runner
 * builds (results, saved/save, note, signal, throwIfCancelled, the operation record). Checkpoints
 * stay in memory; notes are collected. A failing step runs the operation's cleanup (as the runner
 * does) and the error is rethrown: the bench only measures operations that succeed.
 */
import type { Logger } from 'pino';
import type { EnvironmentConfig } from '../src/config/fleet-schema';
import { environmentFingerprint } from '../src/config/load';
import type { OperationRecord } from '../src/domain/operation';
import type { Json, OperationDefinition, Plan, StepContext } from '../src/operations/framework/types';

export interface BenchOperationInput {
  def: OperationDefinition;
  /** e.g. `op-bench1`. */
  id: string;
  envName: string;
  env: EnvironmentConfig;
  args?: Record<string, string>;
  requesterId?: string;
  log: Logger;
  now: () => number;
  /** Called after the plan and before the first step (to split plan calls from step calls). */
  afterPlan?: () => void;
}

export interface BenchOperationResult {
  plan: Plan;
  operation: OperationRecord;
  results: Record<string, Json>;
  notes: string[];
  summary: string;
}

export async function runBenchOperation(input: BenchOperationInput): Promise<BenchOperationResult> {
  const { def, id, envName, env, log } = input;
  const requesterId = input.requesterId ?? 'U0ALICE';
  const plan = await def.plan({ envName, env, args: input.args ?? {}, requesterId, operationId: id });
  input.afterPlan?.();
  const createdAt = input.now();
  const operation: OperationRecord = {
    id, verb: def.verb, env: envName, args: { ...input.args, ...plan.args }, requesterId,
    channel: env.channel ?? 'C0BENCH', state: 'running', fingerprint: environmentFingerprint(env),
    approvalRequired: false, createdAt, startedAt: createdAt,
  };
  const abort = new AbortController();
  const results: Record<string, Json> = {};
  const saved: Record<string, Json> = {};
  const notes: string[] = [];
  const base = {
    operation, envName, env, log: log.child({ operationId: id, verb: def.verb, env: envName }), signal: abort.signal, results,
    note: async (text: string) => { notes.push(text); },
  };
  try {
    for (const step of def.steps) {
      const ctx: StepContext = {
        ...base,
        saved: saved[step.name],
        save: async (state: Json) => { saved[step.name] = state; },
        throwIfCancelled: async () => undefined,
      };
      results[step.name] = (await step.run(ctx)) ?? null;
    }
  } catch (err) {
    if (def.cleanup !== undefined) await def.cleanup({ ...base, saved, outcome: 'failed' }).catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${def.verb} ${envName} (${id}) failed: ${message}\nnotes:\n${notes.join('\n')}`, { cause: err });
  }
  return { plan, operation: { ...operation, state: 'succeeded', finishedAt: input.now() }, results, notes, summary: def.summarize?.(results) ?? 'Done.' };
}
