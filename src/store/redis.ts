/**
 * The one Redis connection factory (DESIGN §4, BullMQ's production guide): producers fail fast
 * while Redis is away (`enableOfflineQueue: false`, so a command gets a clear answer instead of
 * hanging), workers and blocking consumers wait for it (`maxRetriesPerRequest: null`).
 *
 * Producers also bound every command (`commandTimeout`): a Redis that keeps the connection open
 * but does not answer (frozen, or a network partition without a reset) would otherwise hold a
 * request forever, and the person who typed the command would never hear back. Producers only
 * send short, non-blocking commands, so the bound is far above any healthy answer.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { RunnerOpsError } from '../domain/errors';

/** The longest a producer command may wait for Redis before it fails ('Command timed out'). */
export const PRODUCER_COMMAND_TIMEOUT_MS = 3_000;

/**
 * Whether `err` is ioredis saying that Redis is not reachable right now (as opposed to Redis
 * answering with an error): not connected with no offline queue, connection lost with the
 * command in flight, retries used up, or no answer within the command timeout.
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  return /^(Stream isn't writeable and enableOfflineQueue options is false|Connection is closed\.|Command timed out)$/.test(err.message);
}

/** `err` as the taxonomy's 'unavailable' error when it is Redis being away; otherwise unchanged. */
export function redisUnavailableAsError(err: unknown): unknown {
  return isRedisUnavailable(err) ? new RunnerOpsError('unavailable', 'Redis is not answering', { cause: err }) : err;
}

export interface RedisFactory {
  /** For request paths: fails fast when Redis does not answer. */
  producer(name: string): Redis;
  /** For BullMQ workers and other blocking consumers: waits and reconnects. */
  worker(name: string): Redis;
  /** Closes every connection this factory made. */
  closeAll(): Promise<void>;
}

export function createRedisFactory(url: string): RedisFactory {
  const made: Redis[] = [];
  const base: RedisOptions = {
    connectTimeout: 5_000,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  };
  const make = (name: string, options: RedisOptions): Redis => {
    const redis = new Redis(url, { ...base, ...options, connectionName: `runner-ops:${name}` });
    // Errors are surfaced through the calls that fail and /healthz; an unhandled 'error' event
    // would otherwise crash the process while Redis restarts.
    redis.on('error', () => undefined);
    made.push(redis);
    return redis;
  };
  return {
    producer: (name) => make(name, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: PRODUCER_COMMAND_TIMEOUT_MS }),
    worker: (name) => make(name, { maxRetriesPerRequest: null }),
    async closeAll() {
      await Promise.all(made.map(async (r) => {
        try { await r.quit(); } catch { r.disconnect(); }
      }));
    },
  };
}
