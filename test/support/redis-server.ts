/**
 * A private `redis-server` for tests (CONTRACT §7): the jest global setup falls back to one when
 * nothing answers at REDIS_URL, and tests that stop or restart Redis (chaos tests) start their
 * own with `startPrivateRedis()` so that a developer's Redis is never touched.
 *
 * The server listens on 127.0.0.1 only, keeps its files in a fresh temporary directory, and dies
 * with the process that started it (an `exit` hook kills whatever is still running).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export const HOW_TO_GET_REDIS =
  'The tests need Redis (CONTRACT §7): start one with `docker compose up -d redis`, ' +
  "or install your distribution's package (Debian/Ubuntu: `apt-get install redis-server`) so that " +
  '`redis-server` is on the PATH and the tests start a private one, ' +
  'or point REDIS_URL at a Redis that answers.';

export interface PrivateRedisOptions {
  /** Fixed port; default: a free one chosen by the OS. */
  port?: number;
  /** Persist writes in an append-only file, so that data survives `restart()`. Default false. */
  appendonly?: boolean;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Graceful stop (SIGTERM, then SIGKILL after 5 s). The data directory is kept for `restart()`. */
  stop(): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port and directory. */
  restart(): Promise<void>;
  /**
   * Freezes the running server (SIGSTOP): connections stay open, nothing answers, as in a network
   * partition without a reset. Commands already sent are run once it resumes. Synchronous.
   */
  pause(): void;
  /** Lets a paused server run again (SIGCONT). */
  resume(): void;
}

const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Runs `fn` on a one-shot connection to `url`: one attempt, no retries, no offline queue. */
async function probe<T>(url: string, timeoutMs: number, fn: (client: Redis) => Promise<T>): Promise<T | undefined> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // a failure is the answer, not noise on stderr
  try {
    await client.connect();
    return await fn(client);
  } catch {
    return undefined;
  } finally {
    // ioredis 6: disconnect() on a client that already ended (refused connection) arms a 2 s
    // timer that nothing clears, which keeps jest from exiting.
    if (client.status !== 'end') client.disconnect();
  }
}

/** True when a Redis at `url` answers PING within `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  return (await probe(url, timeoutMs, (c) => c.ping())) === 'PONG';
}

/** The `process_id` of the Redis answering at `url`, or undefined when none answers. */
async function answeringPid(url: string, timeoutMs: number): Promise<number | undefined> {
  const info = await probe(url, timeoutMs, (c) => c.info('server'));
  const pid = info === undefined ? undefined : /^process_id:(\d+)/m.exec(info)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/** Absolute path of an executable found on PATH, or undefined. */
export function findOnPath(name: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A port that was free a moment ago (the OS picks it); the caller retries if it is taken by then. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

// Whatever is still running when the process exits is killed, and its directories removed. (Inside
// a jest test file `process` is a sandbox copy whose 'exit' never fires, so tests must call
// stop(); directories left behind by a process that is gone are swept at the next start.)
const DIR_PREFIX = 'runner-ops-redis-';
const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the directories of private servers whose owning process (pid in the name) is gone. */
function sweepStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = new RegExp(`^${DIR_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (owner !== undefined && !isAlive(Number(owner))) {
      rmSync(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

function logTail(logFile: string, lines = 15): string {
  try {
    return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function spawnAndWait(bin: string, args: string[], url: string, logFile: string): Promise<ChildProcess> {
  const child = spawn(bin, args, { stdio: 'ignore' });
  live.add(child);
  let exited: string | undefined;
  child.once('error', (err) => (exited = err.message));
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited ??= `exited with ${signal ?? `code ${code}`}`;
  });

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited !== undefined) {
      throw new Error(`redis-server ${exited} before it answered:\n${logTail(logFile)}`);
    }
    // Ready only when the server that answers is this one, not another on the same port.
    if ((await answeringPid(url, 500)) === child.pid) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer at ${url} within ${READY_TIMEOUT_MS} ms:\n${logTail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts a private redis-server on 127.0.0.1 and resolves once it (not another server on its port) answers. */
export async function startPrivateRedis(opts: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const bin = findOnPath('redis-server');
  if (bin === undefined) throw new Error(`redis-server is not on the PATH. ${HOW_TO_GET_REDIS}`);
  installExitHook();
  sweepStaleDirs();

  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  dirs.add(dir);
  const logFile = join(dir, 'redis.log');
  const argsFor = (port: number): string[] => [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', opts.appendonly === true ? 'yes' : 'no',
    '--appendfsync', 'always',
    '--dir', dir,
    '--logfile', logFile,
    '--daemonize', 'no',
  ];

  // A port chosen by the OS may be taken by someone else before redis-server binds it: retry.
  let port = opts.port ?? 0;
  let child: ChildProcess | undefined;
  for (let attempt = 1; child === undefined; attempt++) {
    if (opts.port === undefined) port = await freePort();
    try {
      child = await spawnAndWait(bin, argsFor(port), `redis://127.0.0.1:${port}`, logFile);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3) {
        dirs.delete(dir);
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const url = `redis://127.0.0.1:${port}`;

  const stop = async (): Promise<void> => {
    const running = child;
    if (running === undefined) return;
    child = undefined;
    running.kill('SIGTERM');
    running.kill('SIGCONT'); // a paused server handles SIGTERM only once it runs
    if (!(await waitForExit(running, STOP_TIMEOUT_MS))) {
      running.kill('SIGKILL');
      await waitForExit(running, STOP_TIMEOUT_MS);
    }
  };

  const restart = async (): Promise<void> => {
    await stop();
    child = await spawnAndWait(bin, argsFor(port), url, logFile);
  };

  const pause = (): void => { child?.kill('SIGSTOP'); };
  const resume = (): void => { child?.kill('SIGCONT'); };

  return { url, port, stop, restart, pause, resume };
}
