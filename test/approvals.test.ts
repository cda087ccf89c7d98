/**
 * Approvals end to end: signed clicks into Bolt, decisions in Redis, the root message updated.
 */
import { SlackFake } from './fakes/slack-fake';
import { deletePrefix } from './support/redis';
import { operationIdIn, startHarness, type Harness } from './support/bot-harness';
import { scriptedOperation, type StepRun, waitUntil } from './support/test-operations';
import { testFleetYaml } from './support/fleet';

describe('approvals', () => {
  let h: Harness;
  const runs: StepRun[] = [];

  beforeAll(async () => {
    h = await startHarness({ name: 'approvals', register: (r) => r.register(scriptedOperation({ runs })).register(scriptedOperation({ runs, verb: 'destroy' })) });
    h.slack.userGroups.set('S0SRE', ['U0DAVE']);
  });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
  });

  async function request(text: string, userId: string): Promise<string> {
    const responseId = `req-${Math.random()}`;
    await h.command(text, userId, { responseId });
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 5_000, 'request ack');
    const id = operationIdIn(String(h.slack.responses.find((r) => r.id === responseId)?.body.text));
    if (id === undefined) throw new Error('no operation id in the answer');
    return id;
  }

  async function clickAnswer(action: string, id: string, userId: string, opts: { messageTs?: string } = {}): Promise<string> {
    const responseId = `click-${Math.random()}`;
    const res = await h.click(action, id, userId, { responseId, ...opts });
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 5_000, 'click answer');
    const answer = h.slack.responses.find((r) => r.id === responseId);
    expect(answer?.body.response_type).toBe('ephemeral');
    return String(answer?.body.text);
  }

  const updatesOf = (ts: string | undefined) => h.slack.callsOf('chat.update').filter((c) => c.args.ts === ts);
  const ranFor = (id: string) => runs.filter((r) => r.op === id).length;

  it('posts the approval request as the thread root with both buttons carrying the operation id', async () => {
    const id = await request('bootstrap prod', 'U0ALICE');
    const root = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === undefined && JSON.stringify(c.args).includes(id));
    expect(root?.args.channel).toBe('C0PROD');
    const blocks = JSON.stringify(root?.args.blocks);
    expect(blocks).toContain('"action_id":"runner_approve"');
    expect(blocks).toContain('"action_id":"runner_reject"');
    expect(blocks).toContain(`"value":"${id}"`);
    expect(blocks).toContain('Test plan');
  });

  it('refuses self-approval and a non-approver, leaving the request as it was', async () => {
    const id = await request('bootstrap prod', 'U0CAROL');
    expect(await clickAnswer('runner_approve', id, 'U0CAROL')).toMatch(/own request/i);
    expect(await clickAnswer('runner_approve', id, 'U0BOB')).toMatch(/approver/i);
    await new Promise((r) => setTimeout(r, 200));
    expect(ranFor(id)).toBe(0);
    expect(updatesOf(h.rootOf(id)?.ts)).toHaveLength(0);
  });

  it('lets a member of an approver group approve; the root shows who and loses its buttons', async () => {
    const id = await request('bootstrap prod', 'U0ALICE');
    const ts = h.rootOf(id)?.ts;
    await h.click('runner_approve', id, 'U0DAVE');
    await waitUntil(() => ranFor(id) === 3, 10_000, 'steps to run');
    await h.slack.waitFor(() => updatesOf(ts).some((c) => /U0DAVE/.test(SlackFake.textOf(c))), 5_000, 'root update');
    const last = updatesOf(ts).at(-1);
    expect(JSON.stringify(last?.args.blocks)).not.toContain('runner_approve');
    expect(Array.isArray(last?.args.blocks)).toBe(true);
  });

  it('runs nothing after a reject', async () => {
    const id = await request('bootstrap prod', 'U0ALICE');
    await h.click('runner_reject', id, 'U0CAROL');
    const ts = h.rootOf(id)?.ts;
    await h.slack.waitFor(() => updatesOf(ts).some((c) => /reject/i.test(SlackFake.textOf(c))), 5_000, 'rejected root');
    expect(JSON.stringify(updatesOf(ts).at(-1)?.args.blocks)).not.toContain('runner_approve');
    // a late approve is refused
    expect(await clickAnswer('runner_approve', id, 'U0CAROL')).toMatch(/already rejected/);
    await new Promise((r) => setTimeout(r, 300));
    expect(ranFor(id)).toBe(0);
  });

  it('refuses a click that carries another message\'s ts (tampered payload)', async () => {
    const a = await request('bootstrap prod', 'U0ALICE');
    const b = await request('bootstrap prod', 'U0ALICE');
    const text = await clickAnswer('runner_approve', a, 'U0CAROL', { messageTs: h.rootOf(b)?.ts ?? '' });
    expect(text).toMatch(/does not belong/);
    await new Promise((r) => setTimeout(r, 200));
    expect(ranFor(a)).toBe(0);
  });

  it('takes a decision exactly once under 20 concurrent approve clicks', async () => {
    const id = await request('bootstrap prod', 'U0ALICE');
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => h.click('runner_approve', id, i % 2 === 0 ? 'U0CAROL' : 'U0DAVE')));
    expect(results.every((r) => r.status === 200)).toBe(true);
    await waitUntil(() => ranFor(id) === 3, 10_000, 'the one run');
    await new Promise((r) => setTimeout(r, 500));
    expect(runs.filter((r) => r.op === id).map((r) => r.step)).toEqual(['one', 'two', 'three']);
  });

  it('always needs someone else to approve destroy, even with allowSelfApproval', async () => {
    const id = await request('destroy stage', 'U0CAROL');
    expect(await clickAnswer('runner_approve', id, 'U0CAROL')).toMatch(/destroy|own request/i);
    expect(ranFor(id)).toBe(0);
  });
});

describe('approval expiry', () => {
  let h: Harness;
  const runs: StepRun[] = [];
  let now = Date.now();

  beforeAll(async () => {
    h = await startHarness({ name: 'expiry', fleetYaml: testFleetYaml({ expiresAfterMinutes: 1 }), register: (r) => r.register(scriptedOperation({ runs })) });
  });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
  });

  it('refuses a click after the request expired and updates the root', async () => {
    now = Date.now();
    const responseId = 'exp-req';
    await h.command('bootstrap prod', 'U0ALICE', { responseId });
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 5_000, 'request');
    const id = operationIdIn(String(h.slack.responses.find((r) => r.id === responseId)?.body.text)) ?? '';
    const ts = h.rootOf(id)?.ts;
    // Make the request look 2 minutes old, as a clock would.
    const { Redis } = await import('ioredis');
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await redis.hset(`${h.prefix}:op:${id}`, 'createdAt', String(now - 120_000), 'expiresAt', String(now - 60_000));
    redis.disconnect();
    const res = await h.click('runner_approve', id, 'U0CAROL', { responseId: 'exp-click' });
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'exp-click'), 5_000, 'refusal');
    expect(String(h.slack.responses.find((r) => r.id === 'exp-click')?.body.text)).toMatch(/expired/i);
    await h.slack.waitFor((f) => f.callsOf('chat.update').some((c) => c.args.ts === ts && /expired/i.test(SlackFake.textOf(c))), 5_000, 'expired root');
    expect(runs).toHaveLength(0);
  });
});
