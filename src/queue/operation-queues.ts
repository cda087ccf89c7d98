/**
 * One BullMQ queue per environment, each with a global concurrency of 1: a changing operation
 * holds its environment exclusively across every bot replica, while different environments run
 * in parallel. The job id is the operation id, so enqueueing twice is harmless.
 */
import { type ConnectionOptions, type Job, type Processor, Queue, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData } from './job-data';

export interface QueueSettings {
  /** Attempts for retryable failures (the runner decides what is retryable). */
  attempts: number;
  backoffMs: number;
  /** BullMQ lock duration: how soon a dead worker's job is picked up again. */
  lockDurationMs: number;
  stalledIntervalMs: number;
}

export const DEFAULT_QUEUE_SETTINGS: QueueSettings = { attempts: 3, backoffMs: 5_000, lockDurationMs: 30_000, stalledIntervalMs: 15_000 };

export function queueName(env: string): string { return `ops-${env}`; }

export class OperationQueues {
  private readonly queues = new Map<string, Queue<JobData>>();
  private readonly workers: Worker<JobData>[] = [];

  constructor(
    private readonly connection: Redis,
    private readonly workerConnection: () => ConnectionOptions,
    private readonly prefix: string,
    private readonly settings: QueueSettings = DEFAULT_QUEUE_SETTINGS,
  ) {}

  queue(env: string): Queue<JobData> {
    let q = this.queues.get(env);
    if (q === undefined) {
      q = new Queue<JobData>(queueName(env), { connection: this.connection, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(env, q);
    }
    return q;
  }

  /** Makes the per-environment exclusivity hold (idempotent; every replica may call it). */
  async init(envs: readonly string[]): Promise<void> {
    await Promise.all(envs.map((env) => this.queue(env).setGlobalConcurrency(1)));
  }

  async enqueue(env: string, operationId: string): Promise<void> {
    await this.queue(env).add('operation', { operationId, checkpoints: {} }, {
      jobId: operationId,
      attempts: this.settings.attempts,
      backoff: { type: 'exponential', delay: this.settings.backoffMs },
      removeOnComplete: { age: 7 * 24 * 3600, count: 1000 },
      removeOnFail: { age: 30 * 24 * 3600, count: 1000 },
    });
  }

  /** The operation holding the environment right now, if any. */
  async activeOperation(env: string): Promise<string | undefined> {
    const active = await this.queue(env).getActive(0, 0);
    return active[0]?.id;
  }

  /** Whether BullMQ holds a job for the operation (in any state). */
  async hasJob(env: string, operationId: string): Promise<boolean> {
    return (await this.queue(env).getJob(operationId)) !== undefined;
  }

  /** Removes a job that has not started; false when it is running (or gone). */
  async removeWaiting(env: string, operationId: string): Promise<boolean> {
    const job = await this.queue(env).getJob(operationId);
    if (job === undefined) return false;
    const state = await job.getState();
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return false;
    try { await job.remove(); return true; } catch { return false; }
  }

  async depth(env: string): Promise<{ waiting: number; active: number; delayed: number }> {
    const c = await this.queue(env).getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    return { waiting: (c.waiting ?? 0) + (c.prioritized ?? 0), active: c.active ?? 0, delayed: c.delayed ?? 0 };
  }

  startWorkers(envs: readonly string[], processor: Processor<JobData>, extra: Partial<WorkerOptions> = {}): Worker<JobData>[] {
    const started = envs.map((env) => {
      const worker = new Worker<JobData>(queueName(env), processor, {
        connection: this.workerConnection(),
        prefix: this.prefix,
        concurrency: 1,
        lockDuration: this.settings.lockDurationMs,
        stalledInterval: this.settings.stalledIntervalMs,
        maxStalledCount: 5,
        ...extra,
      });
      worker.on('error', () => undefined);
      return worker;
    });
    this.workers.push(...started);
    return started;
  }

  /** Cancels a job running in this process (its processor sees an aborted signal). */
  cancelLocal(operationId: string, reason: string): boolean {
    return this.workers.map((w) => w.cancelJob(operationId, reason)).some(Boolean);
  }

  /** Asks every local worker's running job to stop at its next safe point. */
  cancelAllLocal(reason: string): void {
    for (const w of this.workers) w.cancelAllJobs(reason);
  }

  async closeWorkers(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.close()));
  }

  async close(): Promise<void> {
    await this.closeWorkers();
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}

export type OperationJob = Job<JobData>;
