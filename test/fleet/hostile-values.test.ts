/**
 * Property: a hostile string in any fleet-file field that reaches an artifact either fails
 * validation (a fleet-file error with its path) or reaches bash as one literal word (and TOML as
 * the same string). Script values are read back by running the script's own values block in bash.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'smol-toml';
import type { EnvironmentConfig } from '../../src/config/fleet-schema';
import { environmentSchema } from '../../src/config/fleet-schema';
import { renderFleet } from '../../src/fleet/render';
import { exampleEnv } from './fixtures';

type Path = (string | number)[];
/** Field, and where it lands: a bash variable of manager-bootstrap.sh / verify-ecr.sh, or config.toml. */
const FIELDS: [Path, { script: 'manager-bootstrap.sh' | 'verify-ecr.sh'; variable: string } | 'toml'][] = [
  [['region'], { script: 'manager-bootstrap.sh', variable: 'REGION' }],
  [['gitlab', 'tokenParameter'], { script: 'manager-bootstrap.sh', variable: 'TOKEN_PARAMETER' }],
  [['workers', 'ami'], { script: 'manager-bootstrap.sh', variable: 'WORKER_AMI_REF' }],
  [['ecr', 'registries', 1], { script: 'manager-bootstrap.sh', variable: 'ECR_REGISTRIES[1]' }],
  [['versions', 'gitlabRunner'], { script: 'manager-bootstrap.sh', variable: 'GITLAB_RUNNER_VERSION' }],
  [['ecr', 'verifyImage'], { script: 'verify-ecr.sh', variable: 'IMAGE' }],
  [['workers', 'instanceTypes', 0], 'toml'],
  [['workers', 'vpcId'], 'toml'],
  [['workers', 'subnetId'], 'toml'],
  [['workers', 'zone'], 'toml'],
  [['workers', 'securityGroup'], 'toml'],
  [['workers', 'instanceProfile'], 'toml'],
  [['workers', 'spotPrice'], 'toml'],
  [['gitlab', 'description'], 'toml'],
  [['workers', 'autoscaling', 0, 'periods', 0], 'toml'],
  [['workers', 'autoscaling', 0, 'timezone'], 'toml'],
];

const NASTY = ["'", '"', '$(touch /tmp/pwned)', '`id`', ';', ' ', '\n', '\\', '&&', '|', '*', '${IFS}', '%s', '#', '@@RUNNER_OPS_RUNNER_TOKEN@@', '\u00a0', '\r', '-', '=', ',', '/', ':', '(x)', '[a]', 'RUNNER_OPS_CONFIG_TOML'];

function setPath(env: EnvironmentConfig, path: Path, value: string): unknown {
  const copy = structuredClone(env) as unknown as Record<string | number, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
  return copy;
}

function valuesOf(script: string): string {
  return script.slice(0, script.indexOf('\n# A JSON string for'));
}

function bashValue(script: string, variable: string, root: string): string {
  const r = spawnSync('bash', ['-c', `${valuesOf(script)}\nprintf '%s' "\${${variable}}"`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', RUNNER_OPS_ROOT: root } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

const deepStrings = (v: unknown): string[] => typeof v === 'string' ? [v] : Array.isArray(v) ? v.flatMap(deepStrings) : v !== null && typeof v === 'object' ? Object.values(v).flatMap(deepStrings) : [];

describe.each(FIELDS)('fleet field %j', (path, target) => {
  const base = exampleEnv();
  const original = String(path.reduce<unknown>((n, k) => (n as Record<string | number, unknown>)[k], base) ?? '0.05');
  const hostile = fc.oneof(
    fc.string({ maxLength: 30 }),
    fc.tuple(fc.constantFrom(...NASTY), fc.constantFrom('prefix', 'suffix', 'middle', 'alone')).map(([n, where]) =>
      where === 'alone' ? n : where === 'prefix' ? `${n}${original}` : where === 'suffix' ? `${original}${n}` : `${original.slice(0, 3)}${n}${original.slice(3)}`),
  );

  it('fails validation or arrives as one literal word', () => {
    const root = mkdtempSync(join(tmpdir(), 'runner-ops-hostile-'));
    let accepted = 0;
    try {
      fc.assert(fc.property(hostile, (value) => {
        const candidate = setPath(base, path, value);
        const parsed = environmentSchema.safeParse(candidate);
        if (!parsed.success) {
          expect(parsed.error.issues.length).toBeGreaterThan(0);
          return;
        }
        accepted += 1;
        const fleet = renderFleet({ envName: 'prod', env: parsed.data, gitlabUrl: 'https://gitlab.com' });
        if (target === 'toml') {
          const strings = deepStrings(parse(fleet.artifacts['config.toml']));
          expect(strings.some((s) => s.includes(value))).toBe(true);
          const check = spawnSync('bash', ['-n'], { input: fleet.artifacts['manager-bootstrap.sh'], encoding: 'utf8' });
          expect(check.status).toBe(0);
        } else {
          expect(bashValue(fleet.artifacts[target.script], target.variable, root)).toBe(value);
        }
      }), { numRuns: 40 });
      // Lenient fields must really have been exercised with accepted odd values.
      if (['description', 'securityGroup'].includes(String(path.at(-1)))) expect(accepted).toBeGreaterThan(0);
    } finally { rmSync(root, { recursive: true, force: true }); }
  });
});
