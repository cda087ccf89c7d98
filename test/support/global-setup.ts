/**
 * jest globalSetup (CONTRACT §7): make sure a Redis answers at REDIS_URL before any test runs.
 *
 * 1. A Redis answers at REDIS_URL (default redis://127.0.0.1:6379): use it. Tests only touch keys
 *    under their own unique prefix, so a developer's Redis is safe.
 * 2. Otherwise, with `redis-server` on the PATH: start a private one on a free port and export its
 *    URL as REDIS_URL; the test workers are forked after this and inherit it. globalTeardown stops it.
 * 3. Otherwise fail at once, saying how to get Redis.
 */
import { DEFAULT_REDIS_URL, HOW_TO_GET_REDIS, findOnPath, pingRedis, startPrivateRedis } from './redis-server';
import { setPrivateRedis } from './global-teardown';

export default async function globalSetup(): Promise<void> {
  const url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  if (await pingRedis(url)) {
    process.env.REDIS_URL = url;
    return;
  }
  if (findOnPath('redis-server') === undefined) {
    throw new Error(`No Redis answers at ${url} and redis-server is not on the PATH. ${HOW_TO_GET_REDIS}`);
  }
  const server = await startPrivateRedis();
  setPrivateRedis(server);
  process.env.REDIS_URL = server.url;
  process.stderr.write(`\ntest Redis: nothing answers at ${url}; started a private redis-server at ${server.url}\n`);
}
