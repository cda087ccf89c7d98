/**
 * The infra CDK app: `npm run synth` compiles infra/ and runs this with plain node, no CDK CLI and no
 * AWS credentials (nothing here looks anything up in AWS). The CDK CLI runs it too (infra/cdk.json).
 *
 * Config: `-c config=<file>` (CDK CLI), else RUNNER_OPS_INFRA_CONFIG, else infra/config.json, else
 * infra/config.example.json (placeholder accounts; every stack then carries a warning).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadInfraConfig } from '../lib/config';
import { buildApp } from '../lib/app';

function repoRoot(): string {
  // dist-infra/infra/bin when compiled, infra/bin when loaded from source: the root has infra/cdk.json.
  let dir = __dirname;
  while (!existsSync(resolve(dir, 'infra', 'cdk.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the repository root (a directory with infra/cdk.json) above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

function contextConfig(): string | undefined {
  const json = process.env.CDK_CONTEXT_JSON;
  if (json === undefined || json === '') return undefined;
  const value: unknown = (JSON.parse(json) as Record<string, unknown>).config;
  return typeof value === 'string' ? value : undefined;
}

const root = repoRoot();
const chosen = contextConfig() ?? process.env.RUNNER_OPS_INFRA_CONFIG;
const own = resolve(root, 'infra', 'config.json');
const example = resolve(root, 'infra', 'config.example.json');
const file = chosen !== undefined ? resolve(process.cwd(), chosen) : existsSync(own) ? own : example;

// Without the CDK CLI (npm run synth) the assembly goes to infra/cdk.out, emptied first so that no
// template of a stack the config no longer has is left behind. The CLI manages its own CDK_OUTDIR.
const outdir = process.env.CDK_OUTDIR ?? resolve(root, 'infra', 'cdk.out');
if (process.env.CDK_OUTDIR === undefined) rmSync(outdir, { recursive: true, force: true });

const { app } = buildApp(loadInfraConfig(file), { repoRoot: root, outdir, exampleConfig: file === example });
app.synth();
