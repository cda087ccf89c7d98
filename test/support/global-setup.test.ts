/**
 * The test Redis set-up itself (CONTRACT §7): the global setup's three branches, and the private
 * redis-server helper that chaos tests use to stop and restart Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import globalSetup from './global-setup';
import globalTeardown from './global-teardown';
import { findOnPath, freePort, pingRedis, startPrivateRedis, type PrivateRedis } from './redis-server';

const saved = { REDIS_URL: process.env.REDIS_URL, PATH: process.env.PATH };
afterEach(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function closedUrl(): Promise<string> {
  return `redis://127.0.0.1:${await freePort()}`;
}

describe('jest global setup', () => {
  it('leaves a Redis answering at REDIS_URL for the tests', async () => {
    expect(process.env.REDIS_URL).toBeDefined();
    await expect(pingRedis(process.env.REDIS_URL ?? '')).resolves.toBe(true);
  });

  it('uses the Redis at REDIS_URL when one answers', async () => {
    const url = process.env.REDIS_URL ?? '';
    await globalSetup();
    expect(process.env.REDIS_URL).toBe(url);
    await globalTeardown(); // nothing to stop
    await expect(pingRedis(url)).resolves.toBe(true);
  });

  it('starts a private redis-server when nothing answers, and teardown stops it', async () => {
    const closed = await closedUrl();
    process.env.REDIS_URL = closed;
    await globalSetup();
    const privateUrl = process.env.REDIS_URL;
    expect(privateUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(privateUrl).not.toBe(closed);
    await expect(pingRedis(privateUrl)).resolves.toBe(true);
    await globalTeardown();
    await expect(pingRedis(privateUrl)).resolves.toBe(false);
  });

  it('fails at once, saying how to get Redis, when there is neither a Redis nor redis-server', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'runner-ops-no-redis-'));
    try {
      process.env.REDIS_URL = await closedUrl();
      process.env.PATH = emptyDir;
      await expect(globalSetup()).rejects.toThrow(/docker compose up -d redis.*redis-server/s);
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });
});

describe('startPrivateRedis', () => {
  let server: PrivateRedis | undefined;
  let client: Redis | undefined;
  afterEach(async () => {
    client?.disconnect();
    client = undefined;
    await server?.stop();
    server = undefined;
  });

  it('finds redis-server on the PATH', () => {
    expect(findOnPath('redis-server')).toMatch(/redis-server$/);
  });

  it('stops and restarts on the same port, keeping data with appendonly', async () => {
    server = await startPrivateRedis({ appendonly: true });
    client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined); // expected while the server is down
    await client.set('chaos:key', 'kept');

    await server.stop();
    await expect(pingRedis(server.url)).resolves.toBe(false);
    await server.stop(); // idempotent

    await server.restart();
    await expect(pingRedis(server.url)).resolves.toBe(true);
    // the same client reconnects by itself once the server is back
    await expect(client.get('chaos:key')).resolves.toBe('kept');
  });

  it('starts on a requested port, without persistence by default', async () => {
    const port = await freePort();
    server = await startPrivateRedis({ port });
    expect(server.port).toBe(port);
    expect(server.url).toBe(`redis://127.0.0.1:${port}`);
    client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    await client.set('gone:key', 'x');
    await server.restart();
    await expect(client.get('gone:key')).resolves.toBeNull();
  });

  it('rejects with the server log when redis-server cannot start', async () => {
    const first = await startPrivateRedis();
    try {
      await expect(startPrivateRedis({ port: first.port })).rejects.toThrow(/redis-server .*before it answered/);
    } finally {
      await first.stop();
    }
  });
});
