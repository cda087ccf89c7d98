/**
 * A sandbox for running the generated scripts for real: bash runs them with RUNNER_OPS_ROOT set to
 * a temporary root and a PATH that holds only recording stubs (curl, apt-get, dnf, aws, systemctl,
 * ssh-keygen, docker, gitlab-runner, uname, …) and a few real tools (coreutils, sed, grep,
 * python3). Stubs keep their state (installed packages, enabled units, key pairs) under the
 * sandbox, so a second run sees what the first did. Every stub call is recorded with its argv.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CATALOGUE, type VersionCatalogue } from '../../src/fleet/versions';
import { STUB_COMMANDS } from './stubs';

export type Distro = 'ubuntu-22.04' | 'ubuntu-24.04' | 'amzn-2023';
export type Machine = 'x86_64' | 'aarch64';
export const TOKEN = 'glrt-SANDBOXsecretTOKEN_0123456789abc';
export const INSTANCE_ID = 'i-0123456789abcdef0';
export const REGION = 'eu-central-1';

const REAL_TOOLS = ['bash', 'sh', 'cat', 'mkdir', 'mv', 'rm', 'chmod', 'mktemp', 'dirname', 'sed', 'tr', 'tee', 'tail', 'cut', 'grep', 'date', 'sha256sum', 'seq', 'env', 'python3', 'touch', 'head', 'basename'];

export interface RunResult { stdout: string; stderr: string; code: number }

export interface Sandbox {
  readonly dir: string;
  readonly root: string;
  run(script: string, extraEnv?: Record<string, string>): RunResult;
  /** argv of every stub call, in order; each call is [command, ...args]. */
  calls(): string[][];
  clearCalls(): void;
  /** sha256 of every file under the root (log files excluded), to compare runs. */
  snapshot(): Record<string, string>;
  readFile(path: string): string;
  writeFile(path: string, content: string): void;
  cleanup(): void;
}

function which(tool: string): string {
  if (tool === 'python3') return '/usr/bin/python3';
  for (const dir of ['/usr/bin', '/bin', '/usr/local/bin']) if (existsSync(join(dir, tool))) return join(dir, tool);
  throw new Error(`sandbox needs ${tool}`);
}

export function createSandbox(opts: { distro: Distro; machine: Machine }): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'runner-ops-sandbox-'));
  const root = join(dir, 'root');
  const stubs = join(dir, 'stubs');
  const real = join(dir, 'real');
  for (const d of [root, stubs, real, join(dir, 'state'), join(root, 'etc')]) mkdirSync(d, { recursive: true });
  const stubFile = join(dir, 'stub.sh');
  writeFileSync(stubFile, readFileSync(join(__dirname, 'stub.sh')));
  chmodSync(stubFile, 0o755);
  for (const name of STUB_COMMANDS) symlinkSync(stubFile, join(stubs, name));
  for (const tool of REAL_TOOLS) symlinkSync(which(tool), join(real, tool));
  const [id, version] = opts.distro.split('-');
  writeFileSync(join(root, 'etc/os-release'), `NAME="sandbox"\nID=${id}\nVERSION_ID="${version}"\n`);
  const callsFile = join(dir, 'calls.log');
  const walk = (d: string, out: Record<string, string>) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p, out);
      else if (!p.includes('/var/log/')) out[p.slice(root.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
    return out;
  };
  return {
    dir,
    root,
    run(script, extraEnv = {}) {
      const file = join(dir, 'script.sh');
      writeFileSync(file, script);
      const r = spawnSync(join(real, 'bash'), [file], {
        env: { PATH: `${stubs}:${real}`, RUNNER_OPS_ROOT: root, SANDBOX: dir, SANDBOX_MACHINE: opts.machine, SANDBOX_TOKEN: TOKEN, SANDBOX_INSTANCE_ID: INSTANCE_ID, SANDBOX_REGION: REGION, HOME: join(root, 'root'), LANG: 'C.UTF-8', ...extraEnv },
        encoding: 'utf8',
        timeout: 20000,
      });
      return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
    },
    calls() {
      if (!existsSync(callsFile)) return [];
      return readFileSync(callsFile, 'utf8').split('\x1e\n').filter((l) => l !== '').map((l) => l.split('\x1f'));
    },
    clearCalls() { rmSync(callsFile, { force: true }); },
    snapshot() { return walk(root, {}); },
    readFile(path) { return readFileSync(join(root, path), 'utf8'); },
    writeFile(path, content) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content);
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

/** What the curl stub serves for a binary URL (see stubs.ts), and so the digest a test pins. */
export const fakeBinary = (url: string): string => `fake-binary:${url}\n`;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The default catalogue with digests of the stub's fake downloads, so sha256sum -c passes. */
export function sandboxCatalogue(base: VersionCatalogue = DEFAULT_CATALOGUE): VersionCatalogue {
  const dm = (v: string, m: string) => `https://gitlab-docker-machine-downloads.s3.amazonaws.com/v${v}/docker-machine-Linux-${m}`;
  const helper = (v: string, a: string) => `https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/${v}/linux-${a}/docker-credential-ecr-login`;
  return {
    ...base,
    dockerMachine: { ...base.dockerMachine, releases: base.dockerMachine.releases.map((r) => ({ ...r, sha256: { amd64: sha(fakeBinary(dm(r.version, 'x86_64'))), arm64: sha(fakeBinary(dm(r.version, 'aarch64'))) } })) },
    ecrCredentialHelper: { ...base.ecrCredentialHelper, releases: base.ecrCredentialHelper.releases.map((r) => ({ ...r, sha256: { amd64: sha(fakeBinary(helper(r.version, 'amd64'))), arm64: sha(fakeBinary(helper(r.version, 'arm64'))) } })) },
  };
}
