/**
 * Enqueue-to-job-start latency on the path the bot uses: `OperationQueues.enqueue` (the
 * production DEFAULT_QUEUE_SETTINGS, global concurrency 1) → the BullMQ Worker that
 * `OperationQueues.startWorkers` makes → the processor function. Jobs go one at a time: each is
 * enqueued only after the previous one completed and the worker had 5 ms to go back to waiting,
 * as when an operation is approved while the environment is idle.
 *
 * Two processors, measured separately:
 *  - raw: a function that records when it is called (where the bot's wrapper calls the runner);
 *  - runner: `createOperationProcessor` with a registered one-step operation, timed to the start
 *    of the step's run() (includes the runner's own Redis work before step 1: record read,
 *    queued→running transition, audit entry, checkpoint write).
 */
import type { Job } from 'bullmq';
import type { Logger } from 'pino';
import { performance } from 'node:perf_hooks';
import { environmentFingerprint } from '../src/config/load';
import type { FleetConfig } from '../src/config/fleet-schema';
import { OperationRegistry } from '../src/operations/framework/registry';
import { createOperationProcessor } from '../src/operations/framework/runner';
import type { OperationThread } from '../src/operations/framework/types';
import type { JobData } from '../src/queue/job-data';
import { DEFAULT_QUEUE_SETTINGS, OperationQueues } from '../src/queue/operation-queues';
import { AuditLog } from '../src/store/audit-log';
import { OperationStore } from '../src/store/operation-store';
import { createRedisFactory } from '../src/store/redis';

export interface QueueLatencies {
  /** ms from just before enqueue() is called to the processor (or step) starting. */
  fromCall: number[];
  /** ms from enqueue() resolving to the processor starting (negative: started before add's reply arrived). */
  fromReturn: number[];
  /** ms that enqueue() itself took (queue.add round trip). */
  enqueueMs: number[];
}

const noThread: OperationThread = {
  setRoot: () => undefined,
  reply: async () => undefined,
  stepStarted: () => undefined,
  stepSucceeded: () => undefined,
  stepFailed: () => undefined,
  finish: () => undefined,
  flush: async () => undefined,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}

export async function benchQueue(opts: {
  redisUrl: string; prefix: string; fleet: FleetConfig; log: Logger;
  mode: 'raw' | 'runner'; warmup: number; count: number;
}): Promise<QueueLatencies> {
  const envName = 'prod';
  const redis = createRedisFactory(opts.redisUrl);
  const producer = redis.producer('bench-producer');
  await within(new Promise<void>((resolve) => { if (producer.status === 'ready') resolve(); else producer.once('ready', () => resolve()); }), 10_000, 'redis ready');
  const queues = new OperationQueues(producer, () => redis.worker('bench-worker'), opts.prefix, DEFAULT_QUEUE_SETTINGS);
  const store = new OperationStore(producer, opts.prefix);
  const audit = new AuditLog(producer, opts.prefix);

  const started = new Map<string, (t: number) => void>();
  const completed = new Map<string, () => void>();
  const mark = (id: string): void => { const t = performance.now(); started.get(id)?.(t); };

  let processor: (job: Job<JobData>, token?: string, signal?: AbortSignal) => Promise<string>;
  if (opts.mode === 'raw') {
    processor = async (job) => { mark(job.data.operationId); return 'ok'; };
  } else {
    const registry = new OperationRegistry();
    registry.register({
      verb: 'bootstrap',
      plan: async () => ({ summary: 'bench', steps: ['bench step'] }),
      steps: [{ name: 'bench', label: 'bench step', run: async (ctx) => { mark(ctx.operation.id); return null; } }],
    });
    processor = createOperationProcessor({ store, audit, registry, fleet: () => opts.fleet, thread: () => noThread, log: opts.log });
  }

  try {
    await queues.init([envName]);
    const [worker] = queues.startWorkers([envName], processor);
    if (worker === undefined) throw new Error('no worker');
    worker.on('completed', (job) => completed.get(job.id ?? '')?.());
    worker.on('failed', (job) => { if (job?.id !== undefined) completed.get(job.id)?.(); });
    await worker.waitUntilReady();
    const fingerprint = environmentFingerprint(opts.fleet.environments[envName] ?? (() => { throw new Error('no prod env'); })());

    const out: QueueLatencies = { fromCall: [], fromReturn: [], enqueueMs: [] };
    for (let i = 0; i < opts.warmup + opts.count; i += 1) {
      const id = `op-${opts.mode === 'raw' ? 'a' : 'b'}${i.toString(36).padStart(5, '0')}`;
      if (opts.mode === 'runner') {
        await store.create({
          id, verb: 'bootstrap', env: envName, args: {}, requesterId: 'U0ALICE', channel: 'C0PROD',
          state: 'queued', fingerprint, approvalRequired: false, createdAt: Date.now(),
        });
      }
      const startP = new Promise<number>((resolve) => started.set(id, resolve));
      const doneP = new Promise<void>((resolve) => completed.set(id, resolve));
      const tCall = performance.now();
      await queues.enqueue(envName, id);
      const tReturn = performance.now();
      const tStart = await within(startP, 10_000, `job ${id} start`);
      await within(doneP, 10_000, `job ${id} completion`);
      started.delete(id);
      completed.delete(id);
      if (i >= opts.warmup) {
        out.fromCall.push(tStart - tCall);
        out.fromReturn.push(tStart - tReturn);
        out.enqueueMs.push(tReturn - tCall);
      }
      await sleep(5);
    }
    return out;
  } finally {
    await queues.close();
    await redis.closeAll();
  }
}
