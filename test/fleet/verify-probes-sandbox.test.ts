/**
 * verify-ecr's two probes (src/fleet/verify-probes.ts), statically checked and run in the sandbox:
 * the manager's credential check prints one JSON line and never the credential; the worker
 * readiness probe prints the marker once the user data wrote it.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderFleet } from '../../src/fleet/render';
import { readManagerEcrResult, readWorkerReady, explainVerifyFailure } from '../../src/fleet/summary';
import { renderManagerEcrCheck, renderWorkerReadyCheck } from '../../src/fleet/verify-probes';
import { exampleEnv } from './fixtures';
import { createSandbox, sandboxCatalogue, type Sandbox } from './sandbox';

const REGISTRY = '123456789012.dkr.ecr.eu-central-1.amazonaws.com';
const check = renderManagerEcrCheck('prod', REGISTRY);
const ready = renderWorkerReadyCheck('prod');

/** Replaces one stub with a script of the test's own (the shared stub prints a fake credential). */
function replaceStub(box: Sandbox, name: string, body: string): void {
  const path = join(box.dir, 'stubs', name);
  rmSync(path, { force: true });
  writeFileSync(path, `#!/bin/bash\n${body}\n`);
  chmodSync(path, 0o755);
}

describe('verify probes', () => {
  let box: Sandbox;
  beforeEach(() => { box = createSandbox({ distro: 'ubuntu-24.04', machine: 'aarch64' }); });
  afterEach(() => { box.cleanup(); });

  it.each([['manager-ecr-check', check], ['worker-ready-check', ready]])('%s passes bash -n and shellcheck', (_n, script) => {
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    expect(spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' }).status).toBe(0);
    const sc = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
    expect(sc.stdout).toBe('');
  });

  it('manager: the helper answers and credHelpers names it: ok, and only one JSON line on stdout', () => {
    box.writeFile('root/.docker/config.json', JSON.stringify({ credHelpers: { [REGISTRY]: 'ecr-login' } }));
    const r = box.run(check);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain('HELPER-SECRET');
    expect(readManagerEcrResult(r.stdout)).toMatchObject({ kind: 'manager-ecr', registry: REGISTRY, ok: true, credHelper: 'ecr-login', error: '' });
    expect(box.calls()).toContainEqual(['docker-credential-ecr-login', 'get']);
  });

  it('manager: no credHelpers entry is a failure even though the helper works', () => {
    box.writeFile('root/.docker/config.json', JSON.stringify({ auths: {} }));
    const r = box.run(check);
    expect(r.code).toBe(0);
    const line = readManagerEcrResult(r.stdout);
    expect(line).toMatchObject({ ok: false, credHelper: '', error: expect.stringContaining('no credHelpers entry') });
    expect(explainVerifyFailure({ level: 'manager', result: 'failed', error: line?.error })).toMatch(/missing credHelpers entry/);
  });

  it("manager: the helper's own error is reported, its stdout is not", () => {
    box.writeFile('root/.docker/config.json', JSON.stringify({ credHelpers: { [REGISTRY]: 'ecr-login' } }));
    replaceStub(box, 'docker-credential-ecr-login', `echo '{"Secret":"HELPER-SECRET-SHOULD-NOT-APPEAR"}'
echo 'ecr-login: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/gitlab-runner-manager/i-0abc is not authorized to perform: ecr:GetAuthorizationToken on resource: *' >&2
exit 1`);
    const r = box.run(check);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('HELPER-SECRET');
    const line = readManagerEcrResult(r.stdout);
    expect(line?.ok).toBe(false);
    expect(explainVerifyFailure({ level: 'manager', result: 'failed', error: line?.error })).toMatch(/manager's instance role may not call ecr:GetAuthorizationToken/);
  });

  it('manager: a missing helper is named', () => {
    rmSync(join(box.dir, 'stubs', 'docker-credential-ecr-login'));
    const r = box.run(check);
    expect(readManagerEcrResult(r.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('executable file not found') });
  });

  it('worker: waits until the user data wrote its marker, then prints it', () => {
    const waiting = box.run(ready);
    expect(waiting.code).toBe(0);
    expect(readWorkerReady(waiting.stdout)).toEqual({ waiting: { kind: 'worker-wait', cloudInit: 'unknown' } });
    const fleet = renderFleet({ envName: 'prod', env: exampleEnv(), gitlabUrl: 'https://gitlab.example.com', catalogue: sandboxCatalogue() });
    expect(box.run(fleet.workerUserData.verify).code).toBe(0);
    const done = box.run(ready);
    expect(readWorkerReady(done.stdout)).toMatchObject({ ready: { kind: 'worker', variant: 'verify', arch: 'arm64' } });
  });

  it('worker: a failed user data shows its log tail', () => {
    replaceStub(box, 'cloud-init', 'echo "status: error"');
    box.writeFile('var/log/runner-ops/worker-userdata.log', '==> docker engine\nE: Unable to locate package docker-ce\n');
    const r = box.run(ready);
    expect(readWorkerReady(r.stdout)).toEqual({ waiting: { kind: 'worker-wait', cloudInit: 'error' } });
    expect(r.stdout).toContain('E: Unable to locate package docker-ce');
  });
});
