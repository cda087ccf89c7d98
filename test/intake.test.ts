/**
 * Intake over real HTTP into Bolt: signatures, the ack path, where answers appear.
 */
import { SlackFake } from './fakes/slack-fake';
import { deletePrefix } from './support/redis';
import { operationIdIn, startHarness, type Harness } from './support/bot-harness';
import { scriptedOperation, type StepRun, waitUntil } from './support/test-operations';

describe('slash command intake', () => {
  let h: Harness;
  const runs: StepRun[] = [];

  beforeAll(async () => {
    h = await startHarness({ name: 'intake', register: (r) => r.register(scriptedOperation({ runs })) });
  });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
  });

  const webApiCalls = () => h.slack.calls.filter((c) => c.method !== 'auth.test').length;

  it('answers help in the ack itself, ephemerally, listing environments', async () => {
    const res = await h.command('help', 'U0ALICE');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(res.json)).toContain('prod');
    expect(JSON.stringify(res.json)).toContain('verify-ecr');
  });

  it.each([
    ['unknown verb', 'frobnicate prod', /frobnicate/],
    ['missing environment', 'status', /needs an environment/],
    ['unknown environment', 'status nowhere', /no environment `nowhere`/],
  ])('answers a usage error (%s) ephemerally in the ack', async (_n, text, pattern) => {
    const before = webApiCalls();
    const res = await h.command(text, 'U0ALICE');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(JSON.stringify(res.json)).toMatch(pattern);
    expect(webApiCalls()).toBe(before);
  });

  it('refuses a forged signature with 401, queueing nothing and calling no Web API', async () => {
    const before = h.slack.calls.length;
    const res = await h.command('bootstrap stage', 'U0ALICE', { signature: 'v0=deadbeef' });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.calls.length).toBe(before);
    expect(runs).toHaveLength(0);
  });

  it('refuses a six-minute-old timestamp with 401', async () => {
    const before = h.slack.calls.length;
    const res = await h.command('bootstrap stage', 'U0ALICE', { timestamp: Math.floor(Date.now() / 1000) - 360 });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 200));
    expect(h.slack.calls.length).toBe(before);
    expect(runs).toHaveLength(0);
  });

  it('refuses a far-future timestamp with 401 (replay protection Bolt does not give)', async () => {
    const res = await h.command('bootstrap stage', 'U0ALICE', { timestamp: Math.floor(Date.now() / 1000) + 3600 });
    expect(res.status).toBe(401);
    expect(runs).toHaveLength(0);
  });

  it('runs a changing verb without approval: thread root in the environment channel, ephemeral ack with the id', async () => {
    const res = await h.command('bootstrap stage', 'U0ALICE', { responseId: 'boot-stage' });
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'boot-stage'), 5_000, 'ephemeral ack');
    const ack = h.slack.responses.find((r) => r.id === 'boot-stage');
    expect(ack?.body.response_type).toBe('ephemeral');
    const id = operationIdIn(String(ack?.body.text));
    expect(id).toMatch(/^op-[0-9a-z]{6}$/);
    const root = h.rootOf(id ?? '');
    expect(root?.channel).toBe('C0STAGE');
    await waitUntil(() => runs.filter((r) => r.op === id).length === 3, 10_000, 'three steps');
    await h.slack.waitFor((f) => f.callsOf('chat.postMessage').some((c) => c.args.thread_ts === root?.ts && /ran 3 steps/.test(SlackFake.textOf(c))), 5_000, 'final reply');
  });

  it('answers --dry-run with the plan, ephemerally, and queues nothing', async () => {
    const before = runs.length;
    const posts = h.slack.callsOf('chat.postMessage').length;
    await h.command('bootstrap prod --dry-run', 'U0ALICE', { responseId: 'dry' });
    await h.slack.waitFor((f) => f.responses.filter((r) => r.id === 'dry').length >= 2, 5_000, 'plan answers');
    const texts = h.slack.responses.filter((r) => r.id === 'dry').map((r) => SlackFake.textOf(r)).join('\n');
    expect(texts).toContain('Dry run');
    expect(texts).toContain('echo test');
    expect(h.slack.responses.filter((r) => r.id === 'dry').every((r) => r.body.response_type === 'ephemeral')).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs.length).toBe(before);
    expect(h.slack.callsOf('chat.postMessage').length).toBe(posts);
    // recorded in history
    await h.command('history prod', 'U0ALICE', { responseId: 'hist' });
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'hist'), 5_000, 'history');
    expect(SlackFake.textOf(h.slack.responses.find((r) => r.id === 'hist') ?? { id: '', body: {}, at: 0 })).toMatch(/dry run/);
  });

  it('refuses a non-operator ephemerally and queues nothing', async () => {
    await h.command('bootstrap stage', 'U0MALLORY', { responseId: 'mallory' });
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'mallory'), 5_000, 'refusal');
    const answer = h.slack.responses.find((r) => r.id === 'mallory');
    expect(answer?.body.response_type).toBe('ephemeral');
    expect(String(answer?.body.text)).toMatch(/not an operator/);
  });
});
