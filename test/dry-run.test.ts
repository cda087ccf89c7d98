/**
 * `--dry-run` over real HTTP into Bolt (CONTRACT §4): the plan as an ephemeral answer, the parts
 * too long for Block Kit uploaded as files into the requester's DM with the bot (files.uploadV2),
 * the short ones inline; no approval, nothing queued, nothing changed. If the upload fails, the
 * long parts follow inline (cut after response_url's five uses) and the answer says why.
 */
import { Redis } from 'ioredis';
import { redact } from '../src/domain/redact';
import type { PlanDetail } from '../src/operations/framework/types';
import { SlackFake } from './fakes/slack-fake';
import { deletePrefix, testRedisUrl } from './support/redis';
import { operationIdIn, startHarness, type Harness } from './support/bot-harness';
import { scriptedOperation, type StepRun } from './support/test-operations';

/** ~20 KB of shell with characters mrkdwn would escape and some non-ASCII, none of it secret. */
const BIG_SCRIPT = `#!/bin/bash\nset -euo pipefail\n${Array.from({ length: 300 }, (_, i) =>
  `echo "phase line ${String(i).padStart(4, '0')} <&> \`date\` — naïve ✓" >> /var/log/x 2>&1`).join('\n')}\n`;
const SMALL: PlanDetail = { title: 'Small config', filename: 'small.toml', content: 'concurrent = 4\ncheck_interval = 3 # <&>\n' };
const BIG: PlanDetail = { title: 'Bootstrap phase big', filename: 'manager-bootstrap-big.sh', content: BIG_SCRIPT };

async function keysMentioning(prefix: string, id: string): Promise<string[]> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      found.push(...keys.filter((k) => k.includes(id)));
    } while (cursor !== '0');
    return found;
  } finally {
    redis.disconnect();
  }
}

describe('--dry-run with long plan parts', () => {
  let h: Harness;
  const runs: StepRun[] = [];

  beforeAll(async () => {
    expect(Buffer.byteLength(BIG_SCRIPT)).toBeGreaterThan(20_000);
    expect(redact(BIG_SCRIPT)).toBe(BIG_SCRIPT);
    h = await startHarness({ name: 'dry-run', register: (r) => r.register(scriptedOperation({ runs, details: [SMALL, BIG] })) });
  });
  afterEach(() => { h.slack.off('files.getUploadURLExternal'); });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
  });

  const answersTo = (id: string) => h.slack.responses.filter((r) => r.id === id);

  it('answers the summary ephemerally, uploads the 20 KB part to the DM with the exact bytes, keeps the small one inline, queues nothing', async () => {
    const posts = h.slack.callsOf('chat.postMessage').length;
    const res = await h.command('bootstrap stage --dry-run', 'U0ALICE', { responseId: 'dry-ok' });
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.filter((r) => r.id === 'dry-ok').length >= 2, 10_000, 'plan answers');
    await new Promise((r) => setTimeout(r, 300));

    const answers = answersTo('dry-ok');
    expect(answers).toHaveLength(2);
    expect(answers.every((a) => a.body.response_type === 'ephemeral')).toBe(true);
    const first = SlackFake.textOf(answers[0] ?? { id: '', body: {}, at: 0 });
    expect(first).toContain('Dry run');
    expect(first).toContain('*Test plan* for stage');
    expect(first).toContain('step one');
    expect(first).toContain('manager-bootstrap-big.sh');
    expect(first).toContain('small.toml');
    expect(first).toMatch(/sent as a file to your direct messages/);
    const id = operationIdIn(String(answers[0]?.body.text));
    expect(id).toMatch(/^op-[0-9a-z]{6}$/);

    // The small part inline, escaped, in a code block; the big one not inline.
    const second = SlackFake.textOf(answers[1] ?? { id: '', body: {}, at: 0 });
    expect(second).toContain('check_interval = 3 # &lt;&amp;&gt;');
    expect(second).toContain('```');
    expect(JSON.stringify(answers.map((a) => a.body))).not.toContain('phase line 0000');

    // Uploaded into the requester's DM with the bot: conversations.open, then files.uploadV2.
    const dm = SlackFake.dmChannelOf('U0ALICE');
    expect(h.slack.callsOf('conversations.open').at(-1)?.args).toMatchObject({ users: 'U0ALICE' });
    expect(h.slack.callsOf('files.getUploadURLExternal').at(-1)?.args).toMatchObject({ filename: 'manager-bootstrap-big.sh', length: String(Buffer.byteLength(BIG_SCRIPT)) });
    expect(h.slack.files).toHaveLength(1);
    const file = h.slack.files[0];
    expect(file).toMatchObject({ channelId: dm, title: 'Bootstrap phase big', filename: 'manager-bootstrap-big.sh', threadTs: undefined });
    expect(file?.initialComment).toContain(id);
    expect(file?.bytes?.equals(Buffer.from(BIG_SCRIPT, 'utf8'))).toBe(true);
    expect(h.slack.uploads).toHaveLength(1);

    // Nothing queued or changed: no step ran, no thread root, no record or job in Redis.
    expect(runs).toHaveLength(0);
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(posts);
    expect(h.rootOf(id ?? '')).toBeUndefined();
    expect(await keysMentioning(h.prefix, id ?? '')).toEqual([]);

    // Recorded in history.
    await h.command('history stage', 'U0ALICE', { responseId: 'dry-hist' });
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'dry-hist'), 5_000, 'history');
    const history = SlackFake.textOf(answersTo('dry-hist')[0] ?? { id: '', body: {}, at: 0 });
    expect(history).toContain(id);
    expect(history).toMatch(/dry run/);
  });

  it('falls back to the parts inline, cut after five answers, and says why when the upload fails', async () => {
    h.slack.on('files.getUploadURLExternal', () => ({ ok: false, error: 'missing_scope', needed: 'files:write', provided: 'commands,chat:write' }));
    const filesBefore = h.slack.files.length;
    const posts = h.slack.callsOf('chat.postMessage').length;
    await h.command('bootstrap stage --dry-run', 'U0BOB', { responseId: 'dry-fail' });
    await h.slack.waitFor((f) => f.responses.filter((r) => r.id === 'dry-fail').length >= 5, 10_000, 'fallback answers');
    await new Promise((r) => setTimeout(r, 300));

    const answers = answersTo('dry-fail');
    expect(answers).toHaveLength(5);
    expect(answers.every((a) => a.body.response_type === 'ephemeral')).toBe(true);
    const first = SlackFake.textOf(answers[0] ?? { id: '', body: {}, at: 0 });
    expect(first).toContain('Dry run');
    expect(first).toMatch(/Could not upload 1 part as a file \(missing_scope, needs files:write\)/);
    expect(first).toContain('im:write');
    // The small part, then the big one's first parts, inline; the last answer says what is missing.
    expect(SlackFake.textOf(answers[1] ?? { id: '', body: {}, at: 0 })).toContain('check_interval = 3');
    const third = SlackFake.textOf(answers[2] ?? { id: '', body: {}, at: 0 });
    expect(third).toMatch(/manager-bootstrap-big\.sh`, part 1 of \d+/);
    expect(third).toContain('phase line 0000');
    expect(third).toContain('&lt;&amp;&gt;');
    expect(String(answers[4]?.body.text)).toMatch(/more parts not shown: use `npx runner-ops render`/);
    for (const a of answers) {
      for (const b of (a.body.blocks ?? []) as Array<{ text?: { text: string } }>) expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    }

    expect(h.slack.files).toHaveLength(filesBefore);
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(posts);
    expect(runs).toHaveLength(0);
  });
});
