/**
 * `/runner reregister` end to end over HTTP against the GitLab world (unexpected requests fail the
 * test) with the SSM side in the AWS world: the happy path (old runner deleted only after the new
 * one is online), rollback when the new runner never comes online, GitLab errors (401, 403 with
 * the scope named, 404, a 5xx burst retried), paginated runner lists, and the token's path.
 */
import 'aws-sdk-client-mock-jest';
import { PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import type { FakeInstance } from '../fakes/aws-world';
import type { WorldRunner } from '../fakes/gitlab-world';
import { deletePrefix } from '../support/redis';
import { startManagerHarness, type ManagerHarness } from './manager-harness';

const PARAM = '/runner-ops/stage/runner-token';

describe('reregister', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('reregister'); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  function serving(): { mgr: FakeInstance; runner: WorldRunner } {
    const mgr = m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'manager', 'runner-ops:operation': 'op-old001', 'runner-ops:generation': '3' }, configured: new Set(['host', 'tools', 'keypair', 'runner']) });
    const runner = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${mgr.id}]`, 'online');
    mgr.configuredToken = runner.token;
    m.aws.parameters.set(PARAM, { values: ['glrt-older-token-0000', runner.token], tags: {} });
    return { mgr, runner };
  }

  it('creates a new runner, applies its token on the manager, deletes the old runner once the new one is online', async () => {
    const { mgr, runner } = serving();
    const id = await m.request('reregister stage');
    const outcome = await m.outcome(id);
    const [created] = m.gitlab.created;
    expect(outcome).toContain(`Reregistered: new runner #${created?.id ?? 0} is online; deleted old runner(s) #${runner.id}`);
    expect(created?.description).toBe(`stage runner [runner-ops:stage manager:${mgr.id}]`);
    expect(m.aws.parameterValue(PARAM)).toBe(created?.token);
    expect(mgr.configuredToken).toBe(created?.token);
    expect(m.aws.commands.map((c) => c.kind)).toEqual(['phase-runner']);
    expect(m.aws.live('manager')).toHaveLength(1); // no instance launched or terminated
    const reqs = m.gitlabFake.requests.map((r) => `${r.method} ${r.path}`);
    expect(reqs.indexOf(`DELETE /runners/${runner.id}`)).toBeGreaterThan(reqs.lastIndexOf(`GET /runners/${created?.id ?? 0}`));
    // The new token: PutParameter only. Not in SSM command text, Slack, Redis (job data) or logs.
    const put = m.aws.ssm.commandCalls(PutParameterCommand).map((c) => c.args[0].input);
    expect(put).toEqual([expect.objectContaining({ Name: PARAM, Value: created?.token, Overwrite: true, Type: 'SecureString' })]);
    const elsewhere = [
      ...m.aws.ssm.commandCalls(SendCommandCommand).map((c) => JSON.stringify(c.args[0].input)),
      m.everythingSlackSaw(), await m.everythingInRedis(), ...m.logs,
    ].join('\n');
    expect(elsewhere).not.toContain(created?.token ?? 'x');
    expect(elsewhere).not.toContain(runner.token);
    expect(elsewhere).toContain(`#${created?.id ?? 0}`);
  });

  it('when the new runner never comes online: previous token back, config re-rendered, new runner deleted, old untouched', async () => {
    const { mgr, runner } = serving();
    m.gitlab.neverComesOnline = true;
    const id = await m.request('reregister stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*did not come online/);
    expect(m.aws.parameterValue(PARAM)).toBe(runner.token);
    expect(m.aws.parameters.get(PARAM)?.values).toHaveLength(4); // old, old, new, restored
    expect(mgr.configuredToken).toBe(runner.token);
    expect(m.aws.commands.map((c) => c.kind)).toEqual(['phase-runner', 'phase-runner']);
    expect([...m.gitlab.runners.keys()]).toEqual([runner.id]);
    expect(m.gitlab.deleted).toEqual([m.gitlab.created[0]?.id]);
    const thread = m.thread(id).join('\n');
    expect(thread).toMatch(/put the previous token back in `\/runner-ops\/stage\/runner-token` \(version 2, now version 4\)/);
    expect(thread).toMatch(/deleted the new runner #\d+/);
    expect(thread).toMatch(/rendered config.toml on `i-[0-9a-f]+` from the previous token again/);
    expect(thread).toContain('The old runner keeps serving.');
  });

  it.each([
    [401, /the token was rejected \(401\): GITLAB_TOKEN is invalid, expired or revoked/],
    [403, /access denied \(403\): the token needs the `create_runner` scope/],
    [404, /gitlab\.groupId/],
  ])('GitLab %i when creating the runner gives an actionable message and changes nothing', async (status, message) => {
    const { runner } = serving();
    m.gitlab.failNext('POST', /^\/user\/runners$/, status);
    const id = await m.request('reregister stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(message);
    expect(m.aws.parameterValue(PARAM)).toBe(runner.token);
    expect(m.aws.ssm.commandCalls(PutParameterCommand)).toHaveLength(0);
    expect(m.aws.commands).toHaveLength(0);
    expect([...m.gitlab.runners.keys()]).toEqual([runner.id]);
  });

  it('a burst of 5xx answers is retried with backoff and the operation succeeds', async () => {
    serving();
    m.gitlab.failNext('POST', /^\/user\/runners$/, 503);
    m.gitlab.failNext('POST', /^\/user\/runners$/, 500);
    m.gitlab.failNext('GET', /^\/groups\/42\/runners$/, 503);
    const id = await m.request('reregister stage');
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    expect(m.gitlabFake.requests.filter((r) => r.method === 'POST').length).toBe(3);
    expect(m.gitlab.created).toHaveLength(1);
  });

  it('an old runner that cannot be deleted is named in the thread; the new one keeps serving', async () => {
    const { runner } = serving();
    m.gitlab.failNext('DELETE', new RegExp(`^/runners/${runner.id}$`), 403);
    const id = await m.request('reregister stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(new RegExp(`Failed.*could not delete runner #${runner.id} \\(GitLab: could not delete runner ${runner.id}: access denied \\(403\\)`));
    expect(m.gitlab.created[0]?.status).toBe('online');
    expect(m.aws.parameterValue(PARAM)).toBe(m.gitlab.created[0]?.token);
    expect(m.thread(id).join('\n')).toContain('The new runner is online and serving');
  });

  it('reads a paginated runner list completely: every old runner on the manager is deleted', async () => {
    const { mgr } = serving();
    const old = Array.from({ length: 130 }, (_, i) => m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${mgr.id}]`, i % 2 === 0 ? 'online' : 'offline'));
    const other = m.gitlab.addRunner('someone else\'s runner', 'online');
    const id = await m.request('reregister stage');
    expect(await m.outcome(id, 30_000)).toMatch(/Succeeded/);
    for (const r of old) expect(m.gitlab.runners.has(r.id)).toBe(false);
    expect(m.gitlab.runners.has(other.id)).toBe(true);
    const pages = m.gitlabFake.requests.filter((r) => r.path === '/groups/42/runners').map((r) => r.query.get('page') ?? '1');
    expect(pages).toEqual(expect.arrayContaining(['1', '2']));
  });
});
