import { Writable } from 'node:stream';
import pino from 'pino';
import { WebClientEvent, type WebClient } from '@slack/web-api';
import { SlackFake, type SlackCall } from '../../../test/fakes/slack-fake';
import { ChannelPacer } from './channel-pacer';
import type { Block } from './blocks';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID, type RootState } from './root-message';
import { ThreadReporter } from './thread-reporter';
import { createWebClient } from './web-client';

function memoryLogger(): { logger: pino.Logger; text: () => string } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk.toString('utf8')); cb(); } });
  return { logger: pino({ level: 'info' }, stream), text: () => out.join('') };
}

const FAST_RETRY = { retries: 6, factor: 1, minTimeout: 10, maxTimeout: 50, maxRetryTime: 20_000 };
const ROOT_TS = '1700000000.000001';
const state: RootState = {
  operationId: 'op-k3x9qa', verb: 'rotate', env: 'prod', requesterId: 'U0ALICE', phase: 'awaiting_approval',
  planSummary: '• new manager', expiresAt: new Date(Date.now() + 30 * 60_000),
};

const blocksOf = (c: SlackCall) => c.args.blocks as Block[];
const textOf = (c: SlackCall) => String(c.args.text);
const hasActions = (c: SlackCall) => blocksOf(c).some((b) => b.type === 'actions');

describe('ThreadReporter over the SlackFake', () => {
  let fake: SlackFake;
  let client: WebClient;
  let pacer: ChannelPacer;
  const silent = pino({ level: 'silent' });

  beforeEach(async () => {
    fake = await new SlackFake().start();
    client = createWebClient('xoxb-test-0000', { apiUrl: fake.apiUrl, logger: silent, retryConfig: FAST_RETRY });
    pacer = new ChannelPacer({ intervalMs: 5 });
  });
  afterEach(async () => { await fake.stop(); });

  const reporter = (extra: Partial<ConstructorParameters<typeof ThreadReporter>[0]> = {}) =>
    new ThreadReporter({ client, pacer, channel: 'C0PROD', rootTs: ROOT_TS, state, logger: silent, ...extra });

  it('edits the root with chat.update, always with blocks; buttons are gone after the decision', async () => {
    const r = reporter();
    r.setRoot({ expiresAt: new Date(Date.now() + 60_000) });
    await r.flush();
    const first = fake.callsOf('chat.update')[0];
    expect(first?.args).toMatchObject({ channel: 'C0PROD', ts: ROOT_TS });
    expect(hasActions(first!)).toBe(true);
    const buttons = blocksOf(first!).flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([[APPROVE_ACTION_ID, 'op-k3x9qa'], [REJECT_ACTION_ID, 'op-k3x9qa']]);

    r.setRoot({ phase: 'queued', approval: { decision: 'approved', byUserId: 'U0CAROL', at: new Date() } });
    await r.flush();
    const last = fake.callsOf('chat.update').at(-1)!;
    expect(Array.isArray(last.args.blocks)).toBe(true);
    expect(blocksOf(last).length).toBeGreaterThan(0);
    expect(hasActions(last)).toBe(false);
    expect(JSON.stringify(last.args.blocks)).toContain('Approved by <@U0CAROL>');
  });

  it('coalesces quick root edits: few chat.update calls, never an older state after a newer one, the latest last', async () => {
    const r = reporter({ state: { ...state, phase: 'running' } });
    for (let i = 1; i <= 30; i += 1) {
      r.setRoot({ step: { index: i, total: 30, name: `step-${i}` } });
      if (i % 10 === 0) await new Promise((res) => setTimeout(res, 15));
    }
    await r.flush();
    const updates = fake.callsOf('chat.update');
    expect(updates.length).toBeLessThanOrEqual(8);
    const seen = updates.map((u) => Number(/step-(\d+)/.exec(JSON.stringify(u.args.blocks))?.[1]));
    for (let i = 1; i < seen.length; i += 1) expect(seen[i]).toBeGreaterThan(seen[i - 1] ?? 0);
    expect(seen.at(-1)).toBe(30);
  });

  it('posts replies in the thread, in submission order', async () => {
    const r = reporter();
    const sent = Array.from({ length: 12 }, (_, i) => `reply number ${i}`);
    for (const t of sent) void r.reply(t);
    const report = await r.flush();
    const posts = fake.callsOf('chat.postMessage');
    expect(posts.map(textOf)).toEqual(sent);
    expect(posts.every((p) => p.args.thread_ts === ROOT_TS && p.args.channel === 'C0PROD')).toBe(true);
    expect(report).toEqual({ delivered: 12, failed: 0 });
  });

  it('reports steps and a failure with the redacted tail of the output', async () => {
    const r = reporter({ state: { ...state, phase: 'queued' } });
    await r.stepStarted(1, 3, 'Launch manager');
    await r.stepSucceeded(1, 3, 'Launch manager', 12_345, 'i-0abc <t4g.micro>');
    await r.stepStarted(2, 3, 'Register runner');
    await r.stepFailed(2, 3, 'Register runner', 245_000, 'gitlab-runner register exited 1');
    const output = [
      ...Array.from({ length: 100 }, (_, i) => `noise line ${i}`),
      'Registering runner with token glrt-t1_AbCdEfGhIjKlMnOpQrStUv',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'ERROR: <403 Forbidden> & gave up',
    ].join('\n');
    await r.finish({ ok: false, reason: 'step Register runner failed', outputTail: output });
    await r.flush();

    const texts = fake.callsOf('chat.postMessage').map(textOf);
    expect(texts).toEqual([
      ':arrow_forward: *Step 1/3* Launch manager: started',
      ':white_check_mark: *Step 1/3* Launch manager: done in 12.3 s\ni-0abc &lt;t4g.micro&gt;',
      ':arrow_forward: *Step 2/3* Register runner: started',
      ':x: *Step 2/3* Register runner: failed after 4 min 05 s: gitlab-runner register exited 1',
      ':x: *Failed*: step Register runner failed',
    ]);
    const final = fake.callsOf('chat.postMessage').at(-1)!;
    const finalJson = JSON.stringify(final.args.blocks);
    expect(finalJson).not.toContain('glrt-t1_AbCd');
    expect(finalJson).not.toContain('wJalrXUtnFEMI');
    expect(finalJson).toContain('[redacted]');
    expect(finalJson).toContain('ERROR: &lt;403 Forbidden&gt; &amp; gave up');
    expect(finalJson).toContain('```');
    expect(finalJson).not.toContain('noise line 0\\n');
    for (const b of blocksOf(final)) if (b.type === 'section') expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);

    const lastRoot = JSON.stringify(fake.callsOf('chat.update').at(-1)?.args.blocks);
    expect(lastRoot).toContain('Failed');
    expect(lastRoot).toContain('step 2/3: Register runner');
    expect(lastRoot).not.toContain(APPROVE_ACTION_ID);
  });

  it('finishes a success and a cancellation with their own final reply', async () => {
    const ok = reporter({ state: { ...state, phase: 'running', step: { index: 3, total: 3, name: 'Verify' } } });
    await ok.finish({ ok: true, summary: 'manager i-0new is online' });
    await ok.flush();
    expect(textOf(fake.callsOf('chat.postMessage').at(-1)!)).toBe(':white_check_mark: *Succeeded*: manager i-0new is online');
    expect(JSON.stringify(fake.callsOf('chat.update').at(-1)?.args.blocks)).toContain('▰▰▰▰▰▰ 3/3');

    const cancelled = reporter();
    await cancelled.finish({ cancelled: true, reason: 'cancelled by <@U0BOB>' });
    await cancelled.flush();
    expect(textOf(fake.callsOf('chat.postMessage').at(-1)!)).toContain(':octagonal_sign: *Cancelled*');
  });

  it('delivers everything, in order, through 429s on chat.postMessage and chat.update', async () => {
    fake.rateLimit('chat.postMessage', 3, 1);
    fake.rateLimit('chat.update', 2, 1);
    let limited = 0;
    client.on(WebClientEvent.RATE_LIMITED, () => { limited += 1; });
    const r = reporter({ state: { ...state, phase: 'queued' } });
    const total = 4;
    for (let i = 1; i <= total; i += 1) {
      void r.stepStarted(i, total, `step ${i}`);
      void r.stepSucceeded(i, total, `step ${i}`, i * 1000);
    }
    void r.finish({ ok: true, summary: 'all good' });
    const report = await r.flush();
    const texts = fake.callsOf('chat.postMessage').map(textOf);
    expect(texts).toHaveLength(2 * total + 1);
    for (let i = 1; i <= total; i += 1) {
      expect(texts[2 * (i - 1)]).toContain(`*Step ${i}/${total}* step ${i}: started`);
      expect(texts[2 * (i - 1) + 1]).toContain(`*Step ${i}/${total}* step ${i}: done`);
    }
    expect(texts.at(-1)).toContain('Succeeded');
    expect(report.failed).toBe(0);
    expect(limited).toBe(5); // the fake really answered 429 five times
    const lastRoot = JSON.stringify(fake.callsOf('chat.update').at(-1)?.args.blocks);
    expect(lastRoot).toContain('Succeeded');
    expect(lastRoot).toContain(`${total}/${total}`);
  }, 15_000);

  it('logs, counts and hooks a Slack error without rejecting, and goes on', async () => {
    const { logger, text } = memoryLogger();
    const hooked: Array<[string, unknown]> = [];
    let fail = true;
    fake.on('chat.postMessage', (args) => (fail ? { ok: false, error: 'channel_not_found' } : { ok: true, ts: '1.2', channel: args.channel }));
    const r = reporter({ logger, onApiError: (method, err) => hooked.push([method, err]) });
    await expect(r.reply('first: secret xoxb-1-2-abcdefabcdef')).resolves.toBeUndefined();
    fail = false;
    await r.reply('second');
    const report = await r.flush();
    expect(report).toEqual({ delivered: 1, failed: 1 });
    expect(r.failedDeliveries).toBe(1);
    expect(hooked).toHaveLength(1);
    expect(hooked[0]?.[0]).toBe('chat.postMessage');
    expect(text()).toContain('channel_not_found');
    expect(text()).toContain('op-k3x9qa');
    expect(text()).not.toContain('abcdefabcdef');
    // Replies are redacted on the way out, and the failed one did not block the next.
    expect(fake.callsOf('chat.postMessage').map(textOf)).toEqual(['first: secret [redacted]', 'second']);
  });
});
