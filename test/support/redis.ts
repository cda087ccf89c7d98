/**
 * Redis for tests (CONTRACT §7): every test file works under its own unique key prefix and
 * deletes only the keys under that prefix, so a developer's Redis is never flushed.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function uniquePrefix(name: string): string {
  return `runner-ops-test:${name}:${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Deletes the keys under `prefix` (and BullMQ's `prefix:`-keys), and only those. */
export async function deletePrefix(prefix: string, url = testRedisUrl()): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
