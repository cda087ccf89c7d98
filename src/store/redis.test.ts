/**
 * `isRedisUnavailable` against the errors ioredis really raises when Redis is away (so an ioredis
 * upgrade that rewords them fails here, not in front of a user), and not for Redis's own answers.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { RunnerOpsError } from '../domain/errors';
import { isRedisUnavailable, redisUnavailableAsError } from './redis';

/** A TCP server that accepts connections and never answers (a frozen Redis). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((s) => { sockets.push(s); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** ioredis 6: disconnect() on a client that already ended arms a timer nothing clears. */
function close(redis: Redis): void {
  if (redis.status !== 'end') redis.disconnect();
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('isRedisUnavailable', () => {
  it('recognises a producer that is not connected (no offline queue)', async () => {
    const redis = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    redis.on('error', () => undefined);
    const err = await rejection(redis.get('k'));
    close(redis);
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it('recognises a command that got no answer in time', async () => {
    const silent = await silentServer();
    const redis = new Redis({ port: silent.port, enableReadyCheck: false, commandTimeout: 50, maxRetriesPerRequest: 1, retryStrategy: () => null });
    redis.on('error', () => undefined);
    const err = await rejection(redis.get('k'));
    close(redis);
    await silent.close();
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it('recognises a connection closed with the command in flight', async () => {
    const silent = await silentServer();
    const redis = new Redis({ port: silent.port, enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on('error', () => undefined);
    const pending = rejection(redis.get('k'));
    await new Promise((r) => setTimeout(r, 50));
    await silent.close();
    const err = await pending;
    close(redis);
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it.each([
    ['a Redis error reply', new Error('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a RunnerOpsError', new RunnerOpsError('conflict', 'already exists')],
    ['a string', 'Command timed out'],
    ['undefined', undefined],
  ])('does not take %s for Redis being away', (_what, err) => {
    expect(isRedisUnavailable(err)).toBe(false);
    expect(redisUnavailableAsError(err)).toBe(err);
  });

  it('turns Redis being away into the taxonomy\'s unavailable error', () => {
    const err = redisUnavailableAsError(new Error('Command timed out'));
    expect(err).toBeInstanceOf(RunnerOpsError);
    expect(err).toMatchObject({ code: 'unavailable', message: 'Redis is not answering' });
  });
});
