/** `runner-ops render`: offline, four files, errors by path, exit codes. */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli';
import { EXAMPLE_PATH } from './fixtures';

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { env, stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) }, out, err };
}

describe('runner-ops render', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'runner-ops-cli-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes the four artifacts for the example environment', async () => {
    const t = io({ RUNNER_OPS_CONFIG: EXAMPLE_PATH, GITLAB_URL: 'https://gitlab.example.com' });
    expect(await main(['render', 'prod', '--out', join(dir, 'out')], t.io)).toBe(0);
    for (const name of ['manager-bootstrap.sh', 'worker-userdata.sh', 'config.toml', 'verify-ecr.sh']) {
      expect(statSync(join(dir, 'out', name)).size).toBeGreaterThan(100);
    }
    expect(statSync(join(dir, 'out', 'manager-bootstrap.sh')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(dir, 'out', 'config.toml'), 'utf8')).toContain('url = "https://gitlab.example.com"');
    expect(t.err).toEqual([]);
  });

  it('prefers --config and defaults GITLAB_URL to gitlab.com', async () => {
    const t = io({ RUNNER_OPS_CONFIG: join(dir, 'missing.yml') });
    expect(await main(['render', 'prod', `--out=${dir}`, '--config', EXAMPLE_PATH], t.io)).toBe(0);
    expect(readFileSync(join(dir, 'config.toml'), 'utf8')).toContain('url = "https://gitlab.com"');
  });

  it('lists fleet-file problems by path and exits 1', async () => {
    const broken = join(dir, 'fleet.yml');
    writeFileSync(broken, readFileSync(EXAMPLE_PATH, 'utf8').replace('securityGroup: gitlab-runner-workers', 'securityGroup: "x; $(reboot)"').replace('region: eu-central-1', 'region: "eu-central-1 && id"'));
    const t = io();
    expect(await main(['render', 'prod', '--out', dir, '--config', broken], t.io)).toBe(1);
    const text = t.err.join('');
    expect(text).toMatch(/environments\.prod\.workers\.securityGroup: /);
    expect(text).toMatch(/environments\.prod\.region: /);
  });

  it('refuses a version whose digest is not pinned', async () => {
    const file = join(dir, 'fleet.yml');
    writeFileSync(file, `${readFileSync(EXAMPLE_PATH, 'utf8')}    versions:\n      dockerMachine: 0.16.2-gitlab.99\n`);
    const t = io();
    expect(await main(['render', 'prod', '--out', dir, '--config', file], t.io)).toBe(1);
    expect(t.err.join('')).toMatch(/environments\.prod\.versions\.dockerMachine: no pinned sha256 is known for 0\.16\.2-gitlab\.99/);
  });

  it.each([
    [['render', 'staging', '--out', '/tmp/never'], 1, /no environment "staging"/],
    [['render', 'prod'], 2, /--out <dir> is required/],
    [['render', '--out', '/tmp/never'], 2, /name exactly one environment/],
    [['frobnicate'], 2, /unknown command/],
    [[], 2, /usage/],
  ])('%j exits %i', async (argv, code, message) => {
    const t = io({ RUNNER_OPS_CONFIG: EXAMPLE_PATH });
    expect(await main(argv, t.io)).toBe(code);
    expect(t.err.join('')).toMatch(message);
  });

  it('says which file is missing', async () => {
    const t = io({ RUNNER_OPS_CONFIG: join(dir, 'nope.yml') });
    expect(await main(['render', 'prod', '--out', dir], t.io)).toBe(1);
    expect(t.err.join('')).toMatch(/nope\.yml.*\n.*file not found/);
  });
});
