/**
 * The `runner-ops` command line (bin/runner-ops.js calls `main(argv)` and uses the returned exit
 * code). One verb today:
 *   runner-ops render <env> --out <dir> [--config <file>]
 * writes manager-bootstrap.sh, worker-userdata.sh, config.toml and verify-ecr.sh for <env>,
 * offline and without credentials. The fleet file is --config, else RUNNER_OPS_CONFIG, else
 * ./runner-ops.yml; the GitLab URL is GITLAB_URL, else https://gitlab.com. Problems go to stderr
 * (fleet-file problems listed by path) with exit code 1; usage errors exit 2.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFleetFile } from './config/load';
import { isRunnerOpsError } from './domain/errors';
import { ARTIFACT_NAMES, renderArtifacts } from './fleet';

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const USAGE = 'usage: runner-ops render <environment> --out <dir> [--config <fleet file>]\n';

interface RenderArgs { envName: string; out: string; config: string | undefined }

function parseRenderArgs(args: readonly string[]): RenderArgs | string {
  let out: string | undefined;
  let config: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--out' || flag === '--config') {
      const value = inline ?? args[++i];
      if (value === undefined || value === '') return `${flag} needs a value`;
      if (flag === '--out') out = value; else config = value;
    } else if (arg.startsWith('-')) {
      return `unknown option ${arg}`;
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1 || positional[0] === undefined) return 'name exactly one environment';
  if (out === undefined) return '--out <dir> is required';
  return { envName: positional[0], out, config };
}

function render(args: RenderArgs, io: CliIo): number {
  const configPath = args.config ?? io.env.RUNNER_OPS_CONFIG ?? './runner-ops.yml';
  const gitlabUrl = io.env.GITLAB_URL ?? 'https://gitlab.com';
  const fleet = loadFleetFile(configPath);
  const env = fleet.environments[args.envName];
  if (env === undefined) {
    const known = Object.keys(fleet.environments).join(', ');
    io.stderr(`runner-ops: no environment ${JSON.stringify(args.envName)} in ${configPath} (environments: ${known})\n`);
    return 1;
  }
  const artifacts = renderArtifacts({ envName: args.envName, env, gitlabUrl });
  mkdirSync(args.out, { recursive: true });
  for (const name of ARTIFACT_NAMES) {
    const path = join(args.out, name);
    writeFileSync(path, artifacts[name], { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
    chmodSync(path, name.endsWith('.sh') ? 0o755 : 0o644);
    io.stdout(`wrote ${path}\n`);
  }
  return 0;
}

export async function main(argv: readonly string[], io: CliIo = {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
}): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === 'help' || verb === '--help' || verb === '-h') {
    (verb === undefined ? io.stderr : io.stdout)(USAGE);
    return verb === undefined ? 2 : 0;
  }
  if (verb !== 'render') {
    io.stderr(`runner-ops: unknown command ${JSON.stringify(verb)}\n${USAGE}`);
    return 2;
  }
  const args = parseRenderArgs(rest);
  if (typeof args === 'string') {
    io.stderr(`runner-ops render: ${args}\n${USAGE}`);
    return 2;
  }
  try {
    return render(args, io);
  } catch (err) {
    if (isRunnerOpsError(err)) {
      io.stderr(`runner-ops: ${err.message}\n`);
      return 1;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') {
      io.stderr(`runner-ops: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
