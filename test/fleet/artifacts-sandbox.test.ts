/**
 * The other sandbox runs: the manager bootstrap as phases, an existing docker config, a checksum
 * mismatch, both worker user data variants, and verify-ecr.sh's per-level lines.
 */
import { renderFleet } from '../../src/fleet/render';
import { explainVerifyFailure, parseSummaryLines, readManagerResult, readVerifyEcrResult } from '../../src/fleet/summary';
import { DEFAULT_CATALOGUE } from '../../src/fleet/versions';
import { exampleEnv } from './fixtures';
import { createSandbox, type Distro, type Machine, sandboxCatalogue } from './sandbox';

const fleet = renderFleet({ envName: 'prod', env: exampleEnv(), gitlabUrl: 'https://gitlab.example.com', catalogue: sandboxCatalogue() });

describe('manager bootstrap phases', () => {
  it('run one by one, equal the whole script, and keep other docker config keys', () => {
    const sb = createSandbox({ distro: 'ubuntu-24.04', machine: 'aarch64' });
    try {
      sb.writeFile('root/.docker/config.json', '{"auths":{"registry.example.com":{"auth":"dXNlcjpwYXNz"}},"credsStore":"desktop"}');
      const out = fleet.managerPhases.map((phase) => {
        expect(phase.script.startsWith('#!/bin/bash\n')).toBe(true);
        const r = sb.run(phase.script);
        expect(r.code).toBe(0);
        return r.stdout;
      });
      expect(fleet.managerPhases.map((p) => p.name)).toEqual(['host', 'tools', 'keypair', 'runner']);
      expect(readManagerResult(out.join('\n'))).toMatchObject({ changed: true, manager: { restarted: true } });
      const config = JSON.parse(sb.readFile('root/.docker/config.json'));
      expect(config).toEqual({ auths: { 'registry.example.com': { auth: 'dXNlcjpwYXNz' } }, credsStore: 'desktop', credHelpers: { '123456789012.dkr.ecr.eu-central-1.amazonaws.com': 'ecr-login', 'public.ecr.aws': 'ecr-login' } });
      const before = sb.snapshot();
      const again = sb.run(fleet.artifacts['manager-bootstrap.sh']);
      expect(readManagerResult(again.stdout)).toMatchObject({ changed: false, manager: { restarted: false } });
      expect(sb.snapshot()).toEqual(before);
    } finally { sb.cleanup(); }
  });

  it('moves a docker config that is not JSON aside instead of appending to it', () => {
    const sb = createSandbox({ distro: 'amzn-2023', machine: 'x86_64' });
    try {
      sb.writeFile('root/.docker/config.json', '{"auths": {}}\n{"credHelpers": {}}\n');
      const tools = fleet.managerPhases.find((p) => p.name === 'tools');
      expect(sb.run(tools?.script ?? '').code).toBe(0);
      expect(JSON.parse(sb.readFile('root/.docker/config.json')).credHelpers['public.ecr.aws']).toBe('ecr-login');
      expect(Object.keys(sb.snapshot()).some((p) => p.includes('config.json.invalid-'))).toBe(true);
    } finally { sb.cleanup(); }
  });

  it('stops with the log tail and a failure line when a checksum does not match', () => {
    const sb = createSandbox({ distro: 'ubuntu-22.04', machine: 'x86_64' });
    try {
      const real = renderFleet({ envName: 'prod', env: exampleEnv(), gitlabUrl: 'https://gitlab.com', catalogue: DEFAULT_CATALOGUE });
      const r = sb.run(real.artifacts['manager-bootstrap.sh']);
      expect(r.code).not.toBe(0);
      expect(r.stdout).toContain('checksum mismatch for https://gitlab-docker-machine-downloads.s3.amazonaws.com/');
      expect(r.stdout).toMatch(/last lines of .*manager-bootstrap\.log/);
      expect(parseSummaryLines(r.stdout).at(-1)).toEqual({ kind: 'failure', script: 'manager-bootstrap', step: 'docker-machine', exitCode: 1 });
      expect(Object.keys(sb.snapshot())).not.toContain('/usr/local/bin/docker-machine');
    } finally { sb.cleanup(); }
  });
});

describe.each<[Distro, Machine]>([['ubuntu-24.04', 'aarch64'], ['ubuntu-22.04', 'x86_64'], ['amzn-2023', 'aarch64'], ['amzn-2023', 'x86_64']])('worker user data on %s %s', (distro, machine) => {
  const arch = machine === 'x86_64' ? 'amd64' : 'arm64';
  it.each(['fleet', 'verify'] as const)('%s variant installs the helper for the worker architecture, idempotently', (variant) => {
    const sb = createSandbox({ distro, machine });
    try {
      const script = fleet.workerUserData[variant];
      expect(Buffer.byteLength(script)).toBeLessThanOrEqual(16 * 1024);
      const r = sb.run(script);
      expect(r.code).toBe(0);
      const calls = sb.calls();
      expect(calls.filter(([c]) => c === 'curl').map((c) => c.at(-1))).toContain(`https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/0.11.0/linux-${arch}/docker-credential-ecr-login`);
      const installsDocker = calls.some(([c, ...a]) => (c === 'curl' && a.includes('https://get.docker.com')) || (c === 'dnf' && a.includes('docker')));
      expect(installsDocker).toBe(variant === 'verify');
      if (variant === 'fleet') expect(calls.some(([c]) => c === 'apt-get' || c === 'dnf')).toBe(false);
      const [line] = parseSummaryLines(r.stdout);
      expect(line).toEqual({ kind: 'worker', environment: 'prod', variant, arch, distro, ecrCredentialHelper: '0.11.0', changed: true });
      expect(sb.readFile('var/lib/runner-ops/worker-ready').trim()).toBe(r.stdout.trim().split('\n').at(-1));
      const before = sb.snapshot();
      sb.clearCalls();
      const again = sb.run(script);
      expect(parseSummaryLines(again.stdout)[0]).toMatchObject({ changed: false });
      expect(sb.calls().filter(([c]) => c === 'curl' || c === 'apt-get' || c === 'dnf')).toEqual([]);
      const after = sb.snapshot();
      delete after['/var/lib/runner-ops/worker-ready'];
      delete before['/var/lib/runner-ops/worker-ready'];
      expect(after).toEqual(before);
    } finally { sb.cleanup(); }
  });
});

describe('verify-ecr.sh', () => {
  const run = (env: Record<string, string>) => {
    const sb = createSandbox({ distro: 'ubuntu-24.04', machine: 'aarch64' });
    try {
      expect(sb.run(fleet.workerUserData.verify).code).toBe(0);
      const r = sb.run(fleet.artifacts['verify-ecr.sh'], env);
      return { ...r, calls: sb.calls() };
    } finally { sb.cleanup(); }
  };

  it('reports every level ok', () => {
    const r = run({});
    expect(r.code).toBe(0);
    const result = readVerifyEcrResult(r.stdout);
    expect(result.ok).toBe(true);
    expect(result.levels.map((l) => [l.level, l.result])).toEqual([['host', 'ok'], ['container', 'ok'], ['dind', 'ok']]);
    const pulls = r.calls.filter(([c, ...a]) => c === 'docker' && a.includes('pull'));
    expect(pulls.some((c) => c.includes('--privileged'))).toBe(false);
    expect(r.calls.some(([c, ...a]) => c === 'docker' && a.includes('--privileged') && a.includes('docker:27-dind'))).toBe(true);
    // Job-like containers get the helper and the docker config read-only, as config.toml mounts them.
    for (const p of pulls.filter((c) => c.includes('run'))) {
      expect(p).toEqual(expect.arrayContaining([
        expect.stringMatching(/\/usr\/local\/bin\/docker-credential-ecr-login:\/usr\/local\/bin\/docker-credential-ecr-login:ro$/),
        expect.stringMatching(/\/root\/\.docker\/config\.json:\/root\/\.docker\/config\.json:ro$/),
      ]));
    }
  });

  it('names the helper error of a failing level and never prints credentials', () => {
    const r = run({ STUB_FAIL_CONTAINER: '1' });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain('HELPER-SECRET');
    const result = readVerifyEcrResult(r.stdout);
    expect(result.ok).toBe(false);
    const [host, container, dind] = result.levels;
    expect(host?.result).toBe('ok');
    expect(container).toMatchObject({ result: 'failed', error: expect.stringContaining('no basic auth credentials'), helperError: expect.stringContaining('169.254.169.254') });
    expect(dind?.result).toBe('failed');
    expect(container && explainVerifyFailure(container)).toMatch(/^no basic auth credentials: instance metadata unreachable from the container \(hop limit\)/);
  });
});
