/** jest globalTeardown: stops the private redis-server that globalSetup started, if any. */
import type { PrivateRedis } from './redis-server';

// globalSetup and globalTeardown run in jest's main process; the handle is kept on globalThis so
// that it is found even if the two files were loaded as separate module instances.
const KEY = Symbol.for('runner-ops.test.private-redis');
type Holder = { [KEY]?: PrivateRedis };

export function setPrivateRedis(server: PrivateRedis): void {
  (globalThis as Holder)[KEY] = server;
}

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Holder;
  const server = holder[KEY];
  if (server === undefined) return;
  delete holder[KEY];
  await server.stop();
}
