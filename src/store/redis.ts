/**
 * The one Redis connection factory (DESIGN §4, BullMQ's production guide): producers fail fast
 * while Redis is away (`enableOfflineQueue: false`, so a command gets a clear answer instead of
 * hanging), workers and blocking consumers wait for it (`maxRetriesPerRequest: null`).
 */
import { Redis, type RedisOptions } from 'ioredis';

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
    producer: (name) => make(name, { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
    worker: (name) => make(name, { maxRetriesPerRequest: null }),
    async closeAll() {
      await Promise.all(made.map(async (r) => {
        try { await r.quit(); } catch { r.disconnect(); }
      }));
    },
  };
}
