/**
 * `/runner rotate` (blue/green) and `/runner destroy` end to end against the AWS and GitLab
 * worlds: happy paths, a failure before the switch (rolled back, old manager untouched), a failure
 * after it (not rolled back, the thread lists what remains), destroy's approval rule.
 */
import 'aws-sdk-client-mock-jest';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { awsError, type FakeInstance } from '../fakes/aws-world';
import type { WorldRunner } from '../fakes/gitlab-world';
import { deletePrefix } from '../support/redis';
import { startManagerHarness, type ManagerHarness } from './manager-harness';

const PARAM = '/runner-ops/stage/runner-token';

describe('rotate and destroy', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('rotate'); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  /** A serving generation-1 manager with its runner, token, key pair and two workers. */
  function servingEnvironment(env = 'stage'): { old: FakeInstance; runner: WorldRunner; workers: FakeInstance[] } {
    const old = m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:role': 'manager', 'runner-ops:operation': 'op-old001', 'runner-ops:generation': '1' }, configured: new Set(['host', 'tools', 'keypair', 'runner']) });
    const runner = m.gitlab.addRunner(`${env} runner [runner-ops:${env} manager:${old.id}]`, 'online');
    old.configuredToken = runner.token;
    m.aws.parameters.set(`/runner-ops/${env}/runner-token`, { values: [runner.token], tags: { ManagedBy: 'runner-ops' } });
    m.aws.keyPairs.set(`runner-ops-${env}-${old.id}`, { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:manager': old.id });
    const workers = [1, 2].map(() => m.aws.addInstance({ type: 'c8g.medium', tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:role': 'worker', 'runner-ops:manager': old.id } }));
    return { old, runner, workers };
  }

  it('rotates: new manager and runner online first, then the old one drained, removed and terminated', async () => {
    const { old, runner } = servingEnvironment();
    const id = await m.request('rotate stage');
    expect(await m.outcome(id)).toMatch(/Succeeded.*Rotated: manager `i-[0-9a-f]+` serves/);

    const [fresh] = m.aws.live('manager');
    expect(fresh?.id).not.toBe(old.id);
    expect(fresh?.tags['runner-ops:generation']).toBe('2');
    expect(old.state).toMatch(/terminated|shutting-down/);
    expect(old.runnerStopped).toBe(true);
    expect(m.aws.live('worker')).toHaveLength(0);
    expect(m.aws.keyPairs.has(`runner-ops-stage-${old.id}`)).toBe(false);
    expect(m.aws.keyPairs.has(`runner-ops-stage-${fresh?.id ?? ''}`)).toBe(true);

    const [created] = m.gitlab.created;
    expect(created?.status).toBe('online');
    expect(m.gitlab.runners.has(runner.id)).toBe(false);
    expect(m.aws.parameterValue(PARAM)).toBe(created?.token);

    // The old runner was deleted only after the new one was seen online.
    const reqs = m.gitlabFake.requests.map((r) => `${r.method} ${r.path}`);
    const deleteAt = reqs.indexOf(`DELETE /runners/${runner.id}`);
    const onlineSeenAt = reqs.lastIndexOf(`GET /runners/${created?.id ?? 0}`);
    expect(deleteAt).toBeGreaterThan(onlineSeenAt);
    // The drain ran on the old manager after the new one was bootstrapped.
    const kinds = m.aws.commands.map((c) => `${c.kind}@${c.instanceId === old.id ? 'old' : 'new'}`);
    expect(kinds).toEqual(['phase-host@new', 'phase-tools@new', 'phase-keypair@new', 'phase-runner@new', 'drain@old', 'remove-workers@old']);
  });

  it('a failure before the switch removes the new manager and runner and puts the old token back', async () => {
    const { old, runner } = servingEnvironment();
    m.aws.fault('command:phase-runner');
    const id = await m.request('rotate stage');
    expect(await m.outcome(id)).toMatch(/Failed.*bootstrap phase runner failed/);
    expect(m.aws.live('manager').map((i) => i.id)).toEqual([old.id]);
    expect(old.runnerStopped).toBeUndefined();
    expect(m.aws.live('worker')).toHaveLength(2);
    expect([...m.gitlab.runners.keys()]).toEqual([runner.id]);
    expect(m.aws.parameterValue(PARAM)).toBe(runner.token);
    expect(m.aws.keyPairs.has(`runner-ops-stage-${old.id}`)).toBe(true);
    const thread = m.thread(id).join('\n');
    expect(thread).toMatch(/put the previous token back/);
    expect(thread).toMatch(/The old manager was not touched and keeps serving/);
    // The old manager was never in a TerminateInstances call.
    for (const c of m.aws.ec2.commandCalls(TerminateInstancesCommand)) expect(c.args[0].input.InstanceIds).not.toContain(old.id);
  });

  it.each<[string, (mh: ManagerHarness) => void]>([
    ['RunInstances refused', (mh) => { mh.aws.fault('ec2:RunInstances', awsError('UnauthorizedOperation', 'You are not authorized', 403)); }],
    ['runner creation refused', (mh) => { mh.gitlab.failNext('POST', /^\/user\/runners$/, 403); }],
    ['PutParameter refused', (mh) => { mh.aws.fault('ssm:PutParameter', awsError('AccessDeniedException', 'not allowed')); }],
    ['phase host fails', (mh) => { mh.aws.fault('command:phase-host'); }],
    ['phase keypair fails', (mh) => { mh.aws.fault('command:phase-keypair'); }],
    ['the new runner never comes online', (mh) => { mh.gitlab.neverComesOnline = true; }],
  ])('before the switch, %s: only the old manager, runner, key pair and token remain', async (_name, inject) => {
    const { old, runner, workers } = servingEnvironment();
    inject(m);
    const id = await m.request('rotate stage');
    expect(await m.outcome(id)).toMatch(/Failed/);
    expect(m.aws.live().map((i) => i.id).sort()).toEqual([old.id, ...workers.map((w) => w.id)].sort());
    expect([...m.gitlab.runners.keys()]).toEqual([runner.id]);
    expect([...m.aws.keyPairs.keys()]).toEqual([`runner-ops-stage-${old.id}`]);
    expect(m.aws.parameterValue(PARAM)).toBe(runner.token);
    expect(old.runnerStopped).toBeUndefined();
  });

  it('a failure after the switch is not rolled back and the thread lists what remains', async () => {
    const { old } = servingEnvironment();
    m.aws.fault('command:drain');
    const id = await m.request('rotate stage');
    expect(await m.outcome(id)).toMatch(/Failed.*drain of i-[0-9a-f]+ failed/);
    const fresh = m.aws.live('manager').find((i) => i.id !== old.id);
    expect(fresh).toBeDefined();
    expect(m.gitlab.created[0]?.status).toBe('online');
    expect(m.aws.parameterValue(PARAM)).toBe(m.gitlab.created[0]?.token);
    expect(old.state).toBe('running');
    const thread = m.thread(id).join('\n');
    expect(thread).toContain(`The new manager \`${fresh?.id ?? ''}\` is serving. Not rolled back.`);
    expect(thread).toContain(`the old manager instance \`${old.id}\``);
    expect(thread).toContain(`the key pair \`runner-ops-stage-${old.id}\``);
  });

  it('rotate without a manager refuses at the request and changes nothing', async () => {
    const responseId = `r-${Math.random()}`;
    await m.h.command('rotate stage', 'U0ALICE', { responseId });
    await m.h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 10_000, 'answer');
    expect(String(m.h.slack.responses.find((r) => r.id === responseId)?.body.text)).toMatch(/has no manager, so there is nothing to rotate/);
    expect(m.aws.instances.size).toBe(0);
  });

  it('destroy needs someone else\'s approval, then removes everything and checks', async () => {
    const { old, runner } = servingEnvironment();
    const verifyWorker = m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'verify-worker', 'runner-ops:operation': 'op-ver001', 'runner-ops:expires-at': '2099-01-01T00:00:00.000Z' } });
    const id = await m.request('destroy stage');
    // stage does not require approval, destroy always does: nothing happened yet.
    await new Promise((r) => setTimeout(r, 300));
    expect(old.state).toBe('running');
    const self = await m.h.click('runner_approve', id, 'U0ALICE');
    expect(self.status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(old.state).toBe('running');
    await m.h.click('runner_approve', id, 'U0CAROL');
    expect(await m.outcome(id)).toMatch(/Succeeded.*Destroyed/);
    expect(m.aws.live()).toHaveLength(0);
    expect(verifyWorker.state).toMatch(/terminated|shutting-down/);
    expect(m.gitlab.runners.has(runner.id)).toBe(false);
    expect(m.aws.keyPairs.size).toBe(0);
    expect(m.aws.parameters.has(PARAM)).toBe(false);
    expect(old.runnerStopped).toBe(true);
  });

  it('destroy lists what it could not remove', async () => {
    servingEnvironment();
    m.aws.fault('ssm:DeleteParameter', awsError('AccessDeniedException', 'not allowed: ssm:DeleteParameter'));
    const id = await m.request('destroy stage');
    await m.h.click('runner_approve', id, 'U0CAROL');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*destroy could not remove everything/);
    expect(outcome).toContain(`parameter \`${PARAM}\``);
    expect(m.aws.live()).toHaveLength(0);
  });
});
