/**
 * Runs one queued operation as a BullMQ job: named steps, each checkpointed in the job data
 * before and after it runs, so that a job resumed on another worker after a crash skips the
 * finished steps and gives the interrupted one what it saved.
 *
 * Failure policy: a retryable error (isRetryable) ends this attempt and BullMQ tries again with
 * backoff, resuming at the failing step; any other error, or the last attempt, runs the
 * operation's cleanup, marks it failed and raises UnrecoverableError. A cancellation stops at the
 * next safe point and runs cleanup. A shutdown (SIGTERM) puts the job back in the queue, untouched,
 * for this or another replica to resume.
 */
import { DelayedError, type Job, UnrecoverableError } from 'bullmq';
import type { Logger } from 'pino';
import { environmentFingerprint } from '../../config/load';
import type { FleetConfig } from '../../config/fleet-schema';
import { isRetryable, isRunnerOpsError, userMessage } from '../../domain/errors';
import type { OperationRecord } from '../../domain/operation';
import type { AuditLog } from '../../store/audit-log';
import type { OperationStore } from '../../store/operation-store';
import { type Checkpoint, type JobData, jobDataSchema } from '../../queue/job-data';
import type { OperationRegistry } from './registry';
import type { CleanupContext, Json, OperationDefinition, OperationThread, StepContext } from './types';

export const CANCELLED = 'cancelled';
export const SHUTDOWN = 'shutdown';

export interface RunnerDeps {
  store: OperationStore;
  audit: AuditLog;
  registry: OperationRegistry;
  /** The fleet file as it is now (re-read so an edited section is noticed). */
  fleet: () => FleetConfig;
  thread: (op: OperationRecord) => OperationThread;
  log: Logger;
  now?: () => number;
  onFinished?: (verb: string, outcome: 'succeeded' | 'failed' | 'cancelled', seconds: number) => void;
}

class Cancelled extends Error {}

export function createOperationProcessor(deps: RunnerDeps) {
  const now = deps.now ?? Date.now;

  return async function processOperation(job: Job<JobData>, token?: string, signal?: AbortSignal): Promise<string> {
    const data = jobDataSchema.parse(job.data);
    const op = await deps.store.get(data.operationId);
    if (op === undefined) throw new UnrecoverableError(`operation ${data.operationId} has no record`);
    if (op.state !== 'queued' && op.state !== 'running') return `skipped: ${op.state}`;
    const log = deps.log.child({ operationId: op.id, verb: op.verb, env: op.env });
    const thread = deps.thread(op);
    const def = deps.registry.get(op.verb);
    const abort = signal ?? new AbortController().signal;

    const finishFailed = async (reason: string, outputTail?: string): Promise<void> => {
      const t = await deps.store.transition(op.id, ['queued', 'running'], 'failed', { finishedAt: now(), reason });
      if (!t.ok) return;
      thread.setRoot({ phase: 'failed', reason });
      await thread.finish({ ok: false, reason, ...(outputTail === undefined ? {} : { outputTail }) });
      await deps.audit.record({ kind: 'failed', operationId: op.id, verb: op.verb, env: op.env, userId: op.requesterId, at: now(), reason });
      deps.onFinished?.(op.verb, 'failed', ((now() - (op.startedAt ?? op.createdAt)) / 1000));
      await thread.flush();
    };

    if (def === undefined) {
      await finishFailed(`\`${op.verb}\` is not available in this version of runner-ops`);
      throw new UnrecoverableError('no definition');
    }

    // The approval was given for the plan made from the fleet file as it was: a changed section
    // needs a new request.
    const env = deps.fleet().environments[op.env];
    if (op.state === 'queued') {
      if (env === undefined || environmentFingerprint(env) !== op.fingerprint) {
        await finishFailed(`the fleet file's section for ${op.env} changed after this was requested; nothing was done. Make a new request.`);
        return 'fleet changed';
      }
      const started = await deps.store.transition(op.id, ['queued'], 'running', { startedAt: now() });
      if (!started.ok) return `skipped: ${started.previous ?? 'gone'}`;
      op.startedAt = now();
      await deps.audit.record({ kind: 'started', operationId: op.id, verb: op.verb, env: op.env, userId: op.requesterId, at: now() });
    } else {
      log.info({ attempt: job.attemptsMade }, 'resuming operation');
      await thread.reply(':arrows_counterclockwise: Resuming from the last checkpoint.');
    }
    if (env === undefined) {
      await finishFailed(`environment ${op.env} is no longer in the fleet file`);
      return 'env gone';
    }

    const checkpoints: Record<string, Checkpoint> = { ...data.checkpoints };
    const persist = async (): Promise<void> => { await job.updateData({ operationId: op.id, checkpoints }); };
    const results: Record<string, Json> = {};
    const isCancelRequested = async (): Promise<boolean> => {
      if (abort.aborted && abort.reason === CANCELLED) return true;
      const fresh = await deps.store.get(op.id);
      return fresh?.cancelRequestedBy !== undefined;
    };
    const base = {
      operation: op, envName: op.env, env, log, signal: abort, results,
      note: (text: string) => thread.reply(text),
    };

    const total = def.steps.length;
    try {
      for (const [i, step] of def.steps.entries()) {
        const cp = checkpoints[step.name];
        if (cp?.status === 'done') {
          results[step.name] = cp.result ?? null;
          continue;
        }
        if (await isCancelRequested()) throw new Cancelled();
        if (abort.aborted && abort.reason === SHUTDOWN) throw new Error(SHUTDOWN);
        const startedAt = now();
        const current: Checkpoint = { status: 'started', startedAt, ...(cp?.saved === undefined ? {} : { saved: cp.saved }) };
        checkpoints[step.name] = current;
        await persist();
        thread.setRoot({ phase: 'running', step: { index: i + 1, total, name: step.label } });
        await thread.stepStarted(i + 1, total, step.label);
        const ctx: StepContext = {
          ...base,
          saved: current.saved,
          save: async (state: Json) => { current.saved = state; await persist(); },
          throwIfCancelled: async () => { if (await isCancelRequested()) throw new Cancelled(); },
        };
        try {
          const result = (await step.run(ctx)) ?? null;
          results[step.name] = result;
          checkpoints[step.name] = { ...current, status: 'done', finishedAt: now(), result };
          await persist();
          await thread.stepSucceeded(i + 1, total, step.label, now() - startedAt);
        } catch (err) {
          if (err instanceof Cancelled || (abort.aborted && abort.reason === CANCELLED)) throw new Cancelled();
          if (abort.aborted && abort.reason === SHUTDOWN) throw new Error(SHUTDOWN);
          await thread.stepFailed(i + 1, total, step.label, now() - startedAt, userMessage(err));
          throw err;
        }
      }
    } catch (err) {
      if (err instanceof Error && err.message === SHUTDOWN && abort.reason === SHUTDOWN) {
        // Leave everything as checkpointed; the job goes back to the queue for a replica to resume.
        log.info('operation paused for shutdown');
        await thread.flush();
        await job.moveToDelayed(now() + 1_000, token);
        throw new DelayedError();
      }
      const savedAll: Record<string, Json> = {};
      for (const [name, c] of Object.entries(checkpoints)) if (c.saved !== undefined) savedAll[name] = c.saved;
      if (err instanceof Cancelled) {
        await runCleanup(def, { ...base, saved: savedAll, outcome: 'cancelled' }, thread, log);
        const fresh = await deps.store.get(op.id);
        const reason = `cancelled by <@${fresh?.cancelRequestedBy ?? 'unknown'}>`;
        const t = await deps.store.transition(op.id, ['running'], 'cancelled', { finishedAt: now(), reason });
        if (t.ok) {
          thread.setRoot({ phase: 'cancelled', reason });
          await thread.finish({ cancelled: true, reason });
          await deps.audit.record({ kind: 'cancelled', operationId: op.id, verb: op.verb, env: op.env, userId: fresh?.cancelRequestedBy ?? op.requesterId, at: now(), reason });
          deps.onFinished?.(op.verb, 'cancelled', (now() - (op.startedAt ?? op.createdAt)) / 1000);
        }
        await thread.flush();
        return 'cancelled';
      }
      const maxAttempts = job.opts.attempts ?? 1;
      if (isRetryable(err) && job.attemptsMade + 1 < maxAttempts) {
        log.warn({ err: userMessage(err), attempt: job.attemptsMade + 1 }, 'retryable failure; retrying');
        await thread.reply(`:hourglass: ${userMessage(err)} — retrying (attempt ${job.attemptsMade + 2} of ${maxAttempts}).`);
        await thread.flush();
        throw err;
      }
      log.error({ err: isRunnerOpsError(err) ? { code: err.code, message: err.message } : String(err) }, 'operation failed');
      await runCleanup(def, { ...base, saved: savedAll, outcome: 'failed' }, thread, log);
      const outputTail = isRunnerOpsError(err) ? err.detail : undefined;
      await finishFailed(userMessage(err), outputTail);
      throw new UnrecoverableError(userMessage(err));
    }

    const summary = def.summarize?.(results) ?? 'Done.';
    const t = await deps.store.transition(op.id, ['running'], 'succeeded', { finishedAt: now() });
    if (t.ok) {
      thread.setRoot({ phase: 'succeeded', step: { index: total, total, name: 'done' } });
      await thread.finish({ ok: true, summary });
      await deps.audit.record({ kind: 'succeeded', operationId: op.id, verb: op.verb, env: op.env, userId: op.requesterId, at: now() });
      deps.onFinished?.(op.verb, 'succeeded', (now() - (op.startedAt ?? op.createdAt)) / 1000);
    }
    await thread.flush();
    return 'succeeded';
  };
}

async function runCleanup(
  def: OperationDefinition,
  ctx: CleanupContext,
  thread: OperationThread,
  log: Logger,
): Promise<void> {
  if (def.cleanup === undefined) return;
  try {
    await thread.reply(':broom: Cleaning up what this operation created.');
    await def.cleanup(ctx);
  } catch (err) {
    log.error({ err: userMessage(err) }, 'cleanup failed');
    await thread.reply(`:warning: Cleanup did not finish: ${userMessage(err)}. The reaper and the next run will retry it; check the resources tagged with this operation id.`);
  }
}
