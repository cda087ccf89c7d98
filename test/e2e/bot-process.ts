/**
 * The compiled bot as a child process (`node dist/src/main.js`, what `npm start` runs): started
 * with an environment, awaited until /healthz answers 200, killed (SIGKILL: a crash) or stopped
 * (SIGTERM) and started again with the same environment. Everything it writes to stdout and
 * stderr, over every run, is kept in `output` for assertions (a secret must never appear there).
 *
 * `E2E_BOT_MAIN` (test harness only, not a product setting) runs another build's main.js instead
 * of dist/src/main.js and skips the build check: used to prove that each test fails against a
 * build with the guarantee it checks broken. The build must sit inside this checkout, so that its
 * `require`s find node_modules.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const MAIN = process.env.E2E_BOT_MAIN ?? join(ROOT, 'dist/src/main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (tsc -p tsconfig.build.json) when it is missing or older than a file in src/. */
export function ensureBuilt(): void {
  if (process.env.E2E_BOT_MAIN !== undefined) return;
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class BotProcess {
  /** stdout and stderr of every run, in arrival order. */
  output = '';
  /** How many times the process was started. */
  runs = 0;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(private readonly env: Record<string, string>, readonly port: number) {}

  get baseUrl(): string { return `http://127.0.0.1:${this.port}`; }
  get running(): boolean { return this.child !== undefined; }
  get pid(): number | undefined { return this.child?.pid; }

  /** Starts the process and resolves once /healthz answers 200; rejects (with the output) if it exits or takes too long. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.child !== undefined) throw new Error('bot-process: already running');
    this.runs += 1;
    this.output += `\n--- run ${this.runs} ---\n`;
    const child = spawn(process.execPath, [MAIN], { cwd: ROOT, env: { ...this.env, PORT: String(this.port) }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', (d: Buffer) => { this.output += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { this.output += d.toString(); });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.output += `\n--- exit ${code ?? signal ?? '?'} ---\n`;
      if (this.child === child) this.child = undefined;
      resolve(code);
    }));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child !== child) throw new Error(`bot-process: exited during start-up:\n${this.output.slice(-4000)}`);
      try {
        const res = await fetch(`${this.baseUrl}/healthz`, { signal: AbortSignal.timeout(1_000) });
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(`bot-process: /healthz did not answer 200 within ${timeoutMs} ms:\n${this.output.slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL: the process dies at once, mid-whatever (a crash). Resolves when it is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM (the clean stop main.ts handles); SIGKILL if it is not gone within `graceMs`. Resolves with the exit code. */
  async stop(graceMs = 30_000): Promise<number | null> {
    const child = this.child;
    if (child === undefined) return null;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await (this.exited ?? Promise.resolve(null));
    } finally {
      clearTimeout(timer);
    }
  }
}
