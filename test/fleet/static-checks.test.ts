/**
 * Every generated script passes `bash -n` and `shellcheck` (default severity), and the example
 * environment's artifacts match the golden files under test/golden/prod. To accept a change:
 *   UPDATE_GOLDEN=1 npx jest test/fleet/static-checks.test.ts
 * and review the diff of test/golden/ like code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFleet } from '../../src/fleet/render';
import { ARTIFACT_NAMES } from '../../src/fleet/render';
import { exampleEnv, withWorkers } from './fixtures';

const prod = renderFleet({ envName: 'prod', env: exampleEnv(), gitlabUrl: 'https://gitlab.com' });
const onDemandX86 = renderFleet({ envName: 'ci-x86', env: withWorkers(exampleEnv(), { spot: false, instanceTypes: ['c7i.large'], autoscaling: [] }), gitlabUrl: 'https://gitlab.example.com' });

const scripts: [string, string][] = [prod, onDemandX86].flatMap((f) => [
  ['manager-bootstrap.sh', f.artifacts['manager-bootstrap.sh']],
  ['worker-userdata.sh (fleet)', f.workerUserData.fleet],
  ['worker-userdata.sh (verify)', f.workerUserData.verify],
  ['verify-ecr.sh', f.artifacts['verify-ecr.sh']],
  ...f.managerPhases.map((p): [string, string] => [`phase ${p.name}`, p.script]),
]);

describe('generated scripts', () => {
  it.each(scripts)('%s starts with #!/bin/bash and passes bash -n', (_name, script) => {
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('pass shellcheck', () => {
    const which = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
    if (which.status !== 0) throw new Error('shellcheck is required for the fleet tests: apt-get install -y shellcheck');
    for (const [name, script] of scripts) {
      const r = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
      expect(`${name}: ${r.stdout}`).toBe(`${name}: `);
      expect(r.status).toBe(0);
    }
  });
});

describe('golden files (test/golden/prod)', () => {
  const dir = join(__dirname, '../golden/prod');
  const golden: Record<string, string> = { ...prod.artifacts, 'worker-userdata-verify.sh': prod.workerUserData.verify };
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(golden)) writeFileSync(join(dir, name), content);
  }
  it.each(Object.keys(golden))('%s matches its golden file', (name) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`${path} is missing: run UPDATE_GOLDEN=1 npx jest test/fleet/static-checks.test.ts`);
    expect(golden[name]).toBe(readFileSync(path, 'utf8'));
  });
  it('covers the four artifacts', () => expect(Object.keys(golden)).toEqual(expect.arrayContaining([...ARTIFACT_NAMES])));
});
