/**
 * The stale-runner clean-up end to end: the `runner_remove_stale` button (value = environment)
 * clicked into Bolt over HTTP, the request under the environment's approval rules, the run against
 * the GitLab world (unexpected requests fail the test) and the AWS world (the current manager).
 * Only runners that are stale by status's rule, not online and not the current manager's are
 * deleted, and only those the plan listed and that are still stale when the run starts.
 */
import type { FakeInstance } from '../fakes/aws-world';
import { SlackFake } from '../fakes/slack-fake';
import { deletePrefix } from '../support/redis';
import { operationIdIn } from '../support/bot-harness';
import { staleRunnersOperation } from '../../src/operations/stale-runners';
import { startManagerHarness, type ManagerHarness } from './manager-harness';

const DAY = 24 * 3600 * 1000;
const daysAgo = (n: number): Date => new Date(Date.now() - n * DAY);
const ACTION = 'runner_remove_stale';

describe('remove-stale (the runner_remove_stale button)', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('stale-runners', { extra: (deps) => [staleRunnersOperation(deps)] }); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  function manager(env: string): FakeInstance {
    return m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': env, 'runner-ops:role': 'manager', 'runner-ops:operation': 'op-old001', 'runner-ops:generation': '2' } });
  }

  /** Clicks the button; returns the operation id named in the ephemeral answer. */
  async function click(env: string, userId = 'U0ALICE'): Promise<{ id: string; answer: string }> {
    const answer = await m.click(ACTION, env, userId);
    const id = operationIdIn(answer);
    if (id === undefined) throw new Error(`no operation id in the answer: ${answer}`);
    return { id, answer };
  }

  const rootCall = (id: string) => m.h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === undefined && JSON.stringify(c.args).includes(id));

  it('on stage (no approval): deletes only the stale runners, never an online one nor the current manager\'s', async () => {
    const mgr = manager('stage');
    const old = 'i-0000000000000dead';
    const stale = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${old}]`, 'stale');
    const never = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${old}]`, 'never_contacted', { createdAt: daysAgo(30) });
    const offline = m.gitlab.addRunner('legacy [runner-ops:stage]', 'offline', { contactedAt: daysAgo(20) });
    const recent = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${old}]`, 'offline', { contactedAt: daysAgo(2) });
    const young = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${old}]`, 'never_contacted', { createdAt: daysAgo(1) });
    const online = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${mgr.id}]`, 'online');
    const ownStale = m.gitlab.addRunner(`stage runner [runner-ops:stage manager:${mgr.id}]`, 'stale');
    const prodStale = m.gitlab.addRunner(`prod runner [runner-ops:prod manager:${old}]`, 'stale');

    const { id, answer } = await click('stage');
    expect(answer).toMatch(/^Queued `remove-stale` on \*stage\* as `op-[0-9a-z]{6}`/);
    expect(rootCall(id)?.args.channel).toBe('C0STAGE');
    const outcome = await m.outcome(id);
    const gone = [stale.id, never.id, offline.id].sort((a, b) => a - b);
    expect(outcome).toContain(`Deleted stale runner(s) ${gone.map((x) => `#${x}`).join(', ')} in GitLab.`);
    expect([...m.gitlab.deleted].sort((a, b) => a - b)).toEqual(gone);
    for (const kept of [recent, young, online, ownStale, prodStale]) expect(m.gitlab.runners.has(kept.id)).toBe(true);
    expect(m.gitlabFake.requests.filter((r) => r.method === 'DELETE').map((r) => r.path).sort()).toEqual(gone.map((x) => `/runners/${x}`).sort());
    expect(m.thread(id).join('\n')).toContain('Step 2/2');
  });

  it('on prod (approval required): posts an approval request listing the runners and deletes nothing until approved; then only the still-stale planned ones', async () => {
    const a = m.gitlab.addRunner('prod runner [runner-ops:prod]', 'stale');
    const b = m.gitlab.addRunner('prod runner [runner-ops:prod]', 'offline', { contactedAt: daysAgo(40) });
    const online = m.gitlab.addRunner('prod runner [runner-ops:prod]', 'online');

    const { id, answer } = await click('prod');
    expect(answer).toMatch(/^Requested `remove-stale` on \*prod\* as `op-[0-9a-z]{6}`\. It waits for approval in <#C0PROD>/);
    const root = rootCall(id);
    expect(root?.args.channel).toBe('C0PROD');
    const blocks = JSON.stringify(root?.args.blocks);
    expect(blocks).toContain('"action_id":"runner_approve"');
    expect(blocks).toContain(`*#${a.id}* stale`);
    expect(blocks).toContain(`*#${b.id}* offline, last contact 40 days ago`);
    expect(blocks).not.toContain(`#${online.id}`);

    await new Promise((r) => setTimeout(r, 300));
    expect(m.gitlab.deleted).toEqual([]);
    expect(m.gitlabFake.requests.filter((r) => r.method === 'DELETE')).toEqual([]);

    // Before the approval: one planned runner comes back, and a new stale one appears.
    b.status = 'online';
    const late = m.gitlab.addRunner('prod runner [runner-ops:prod]', 'stale');

    // The requester cannot approve; the approver can.
    await m.h.click('runner_approve', id, 'U0ALICE');
    await new Promise((r) => setTimeout(r, 200));
    expect(m.gitlab.deleted).toEqual([]);
    await m.h.click('runner_approve', id, 'U0CAROL');
    const outcome = await m.outcome(id);
    expect(outcome).toContain(`Deleted stale runner(s) #${a.id} in GitLab.`);
    expect(outcome).toContain(`Kept (no longer stale): #${b.id}.`);
    expect(m.gitlab.deleted).toEqual([a.id]);
    for (const kept of [b, online, late]) expect(m.gitlab.runners.has(kept.id)).toBe(true);
    expect(m.thread(id).join('\n')).toContain(`Keeping #${b.id}: no longer stale`);
    await m.h.slack.waitFor(() => m.h.slack.callsOf('chat.update').some((c) => c.args.ts === m.h.rootOf(id)?.ts && /U0CAROL/.test(SlackFake.textOf(c))), 5_000, 'root shows the approver');
  });

  it('refuses a non-operator\'s click: no request, no root, nothing deleted', async () => {
    const stale = m.gitlab.addRunner('stage runner [runner-ops:stage]', 'stale');
    const roots = m.h.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length;
    const answer = await m.click(ACTION, 'stage', 'U0EVE');
    expect(answer).toMatch(/not an operator of \*stage\*.*`remove-stale`/);
    expect(operationIdIn(answer)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 200));
    expect(m.h.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined)).toHaveLength(roots);
    expect(m.gitlab.runners.has(stale.id)).toBe(true);
    expect(m.gitlabFake.requests).toEqual([]);
  });

  it('refuses an unknown environment and a value that is not an environment name, without side effects', async () => {
    expect(await m.click(ACTION, 'nope', 'U0ALICE')).toMatch(/no environment `nope`/);
    expect(await m.click(ACTION, 'Prod; rm -rf', 'U0ALICE')).toMatch(/does not name an environment/);
    expect(m.gitlabFake.requests).toEqual([]);
  });

  it('with nothing stale, the plan says so and the run deletes nothing', async () => {
    const online = m.gitlab.addRunner('stage runner [runner-ops:stage]', 'online');
    const { id } = await click('stage');
    expect(await m.outcome(id)).toContain('No stale runner was deleted.');
    expect(m.gitlab.runners.has(online.id)).toBe(true);
    expect(m.gitlab.deleted).toEqual([]);
  });

  it('a runner GitLab refuses to delete fails the operation, naming it; the others are deleted', async () => {
    const a = m.gitlab.addRunner('stage runner [runner-ops:stage]', 'stale');
    const b = m.gitlab.addRunner('stage runner [runner-ops:stage]', 'stale');
    m.gitlab.failNext('DELETE', new RegExp(`^/runners/${a.id}$`), 403);
    const { id } = await click('stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(new RegExp(`Failed.*could not delete stale runner\\(s\\) #${a.id} \\(.*manage_runner.*\\)\\. Deleted #${b.id}\\.`, 's'));
    expect(m.gitlab.runners.has(a.id)).toBe(true);
    expect(m.gitlab.deleted).toEqual([b.id]);
  });

  it('is not a verb anyone can type', async () => {
    const res = await m.h.command('remove-stale stage', 'U0ALICE');
    expect(String((res.json as { text?: string } | undefined)?.text)).toMatch(/I don't know the verb `remove-stale`/);
    expect(m.gitlabFake.requests).toEqual([]);
  });
});
