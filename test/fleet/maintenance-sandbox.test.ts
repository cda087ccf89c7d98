/**
 * The drain and remove-workers scripts, statically checked and run for real in the sandbox with
 * recording stubs: graceful drain, a drain that runs out of time, machines removed (one failing).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDrainScript, renderRemoveWorkersScript } from '../../src/fleet/manager-maintenance';
import { lastSummary } from '../../src/fleet/summary';
import { createSandbox, type Sandbox } from './sandbox';

const drain = renderDrainScript('prod', 12);
const removeWorkers = renderRemoveWorkersScript('prod');

describe('maintenance scripts', () => {
  let box: Sandbox;
  beforeEach(() => { box = createSandbox({ distro: 'ubuntu-24.04', machine: 'aarch64' }); });
  afterEach(() => { box.cleanup(); });

  it.each([['drain', drain], ['remove-workers', removeWorkers]])('%s passes bash -n and shellcheck', (_n, script) => {
    expect(script.split('\n')[0]).toBe('#!/bin/bash');
    expect(spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' }).status).toBe(0);
    const sc = spawnSync('shellcheck', ['--shell=bash', '-'], { input: script, encoding: 'utf8' });
    expect(sc.stdout).toBe('');
  });

  const activate = () => {
    mkdirSync(join(box.dir, 'state/units'), { recursive: true });
    writeFileSync(join(box.dir, 'state/units/gitlab-runner.active'), '');
    writeFileSync(join(box.dir, 'state/units/gitlab-runner.enabled'), '');
  };

  it('drains with SIGQUIT, then stops and disables the service', () => {
    activate();
    const r = box.run(drain);
    expect(r.code).toBe(0);
    expect(lastSummary(r.stdout, 'drain')).toEqual({ kind: 'drain', graceful: true, waitedSeconds: 0 });
    const calls = box.calls().filter((c) => c[0] === 'systemctl').map((c) => c.slice(1).join(' '));
    expect(calls).toEqual(expect.arrayContaining(['kill --kill-whom=main --signal=SIGQUIT gitlab-runner', 'stop gitlab-runner', 'disable gitlab-runner']));
    expect(calls.indexOf('kill --kill-whom=main --signal=SIGQUIT gitlab-runner')).toBeLessThan(calls.indexOf('stop gitlab-runner'));
  });

  it('gives up waiting after the drain timeout and says the drain was not graceful', () => {
    activate();
    const r = box.run(drain, { STUB_DRAIN_HANGS: '1' });
    expect(r.code).toBe(0);
    expect(lastSummary(r.stdout, 'drain')).toEqual({ kind: 'drain', graceful: false, waitedSeconds: 15 });
    expect(box.calls().filter((c) => c[0] === 'sleep')).toHaveLength(3);
  });

  it('a stopped service is left stopped without waiting', () => {
    const r = box.run(drain);
    expect(r.code).toBe(0);
    expect(box.calls().some((c) => c[0] === 'systemctl' && c[1] === 'kill')).toBe(false);
  });

  it('removes every machine and counts the ones that failed', () => {
    mkdirSync(join(box.dir, 'state/machines'), { recursive: true });
    for (const m of ['runner-abc-1', 'runner-abc-2', 'runner-abc-3']) writeFileSync(join(box.dir, 'state/machines', m), '');
    const r = box.run(removeWorkers, { STUB_MACHINE_RM_FAILS: 'runner-abc-2' });
    expect(r.code).toBe(0);
    expect(lastSummary(r.stdout, 'workers')).toEqual({ kind: 'workers', removed: 2, failed: 1 });
    const rms = box.calls().filter((c) => c[0] === 'docker-machine' && c[1] === 'rm').map((c) => c[3]);
    expect(rms).toEqual(['runner-abc-1', 'runner-abc-2', 'runner-abc-3']);
    const again = box.run(removeWorkers);
    expect(lastSummary(again.stdout, 'workers')).toEqual({ kind: 'workers', removed: 1, failed: 0 });
  });
});
