import pino from 'pino';
import type { WebClient } from '@slack/web-api';
import { SlackFake } from '../../../test/fakes/slack-fake';
import { detailAnswers, detailFitsInline, planAnswers } from '../../operations/service';
import type { Plan } from '../../operations/framework/types';
import { answersAfterUpload, uploadPlanFiles } from './plan-files';
import { createWebClient } from './web-client';

const FAST_RETRY = { retries: 1, factor: 1, minTimeout: 5, maxTimeout: 5 };
const script = (lines: number, tag: string) => Array.from({ length: lines }, (_, i) => `echo "${tag} ${i}" 2>&1 <<EOF`).join('\n');

const PLAN: Plan = {
  summary: 'Launch one manager.',
  steps: ['Launch', 'Configure'],
  details: [
    { title: 'Phase one', filename: 'phase-one.sh', content: script(600, 'one') },
    { title: 'config.toml', filename: 'config.toml', content: 'concurrent = 4\n[[runners]]\n  token = "glrt-AbCdEfGhIjKlMnOpQrSt"\n' },
    { title: 'Phase two', filename: 'phase-two.sh', content: `${script(500, 'two')}\nexport GITLAB_TOKEN=glpat-AbCdEfGhIjKlMnOpQrSt\n` },
  ],
};

describe('dry-run plan answers', () => {
  it('lists every detail in the first answer, inlines the short ones, and hands over the long ones as files', () => {
    const answers = planAnswers('op-abc123', 'bootstrap', 'prod', PLAN);
    expect(answers).toHaveLength(2);
    const first = JSON.stringify(answers[0]?.blocks);
    for (const f of ['phase-one.sh', 'config.toml', 'phase-two.sh']) expect(first).toContain(f);
    expect(answers[0]?.files?.details.map((d) => d.filename)).toEqual(['phase-one.sh', 'phase-two.sh']);
    expect(answers[0]?.files?.comment).toContain('op-abc123');
    const inline = JSON.stringify(answers[1]?.blocks);
    expect(inline).toContain('concurrent = 4');
    expect(inline).not.toContain('glrt-AbCd');
  });

  it('cuts a long detail into code blocks of whole lines that fit a section even when escaping lengthens them, losing nothing', () => {
    const content = `${'<&>'.repeat(2_000)}\n${script(300, 'x')}`;
    expect(detailFitsInline({ title: 't', filename: 'f', content })).toBe(false);
    const parts = detailAnswers({ title: 't', filename: 'f', content });
    expect(parts.length).toBeGreaterThan(3);
    const bodies = parts.map((p) => {
      const text = p.blocks?.[1]?.type === 'section' ? p.blocks[1].text?.text ?? '' : '';
      expect(text.length).toBeLessThanOrEqual(3000);
      expect(text.startsWith('```\n…')).toBe(false); // never cut by codeBlock
      return text.replace(/^```\n/, '').replace(/\n```$/, '');
    });
    const unescape = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    // A line longer than a section is wrapped across blocks; nothing else changes.
    expect(bodies.map(unescape).join('\n').replace(/\n/g, '')).toBe(content.replace(/\n/g, ''));
    expect(bodies.map(unescape).join('\n').split('\n').slice(-300).join('\n')).toBe(script(300, 'x'));
    expect(parts[0]?.text).toBe('t (f)');
  });
});

describe('uploadPlanFiles over the SlackFake', () => {
  let fake: SlackFake;
  let client: WebClient;

  beforeEach(async () => {
    fake = await new SlackFake().start();
    client = createWebClient('xoxb-test-0000', { apiUrl: fake.apiUrl, logger: pino({ level: 'silent' }), retryConfig: FAST_RETRY });
  });
  afterEach(async () => { await fake.stop(); });

  it('shares every long part, redacted, in one message in the DM with the requester', async () => {
    const files = planAnswers('op-abc123', 'bootstrap', 'prod', PLAN)[0]?.files;
    expect(files).toBeDefined();
    if (files === undefined) return;
    const res = await uploadPlanFiles(client, 'U0ALICE', files);
    expect(res).toEqual({ ok: true, channel: 'D0ALICE', count: 2 });
    expect(fake.callsOf('conversations.open')[0]?.args).toMatchObject({ users: 'U0ALICE' });
    expect(fake.callsOf('files.completeUploadExternal')).toHaveLength(1);
    expect(fake.files.map((f) => [f.channelId, f.title, f.filename])).toEqual([
      ['D0ALICE', 'Phase one', 'phase-one.sh'],
      ['D0ALICE', 'Phase two', 'phase-two.sh'],
    ]);
    expect(fake.files[0]?.initialComment).toContain('op-abc123');
    expect(fake.files[0]?.bytes?.toString('utf8')).toBe(PLAN.details?.[0]?.content);
    const two = fake.files[1]?.bytes?.toString('utf8') ?? '';
    expect(two).toContain('echo "two 499"');
    expect(two).toContain('GITLAB_TOKEN=[redacted]');
    expect(two).not.toContain('glpat-');
  });

  it('reports a refused conversations.open (im:write missing) with the scope Slack names', async () => {
    fake.on('conversations.open', () => ({ ok: false, error: 'missing_scope', needed: 'im:write' }));
    const answers = planAnswers('op-abc123', 'bootstrap', 'prod', PLAN);
    const files = answers[0]?.files;
    if (files === undefined) throw new Error('no files');
    const res = await uploadPlanFiles(client, 'U0ALICE', files);
    expect(res).toEqual({ ok: false, reason: 'missing_scope, needs im:write' });
    expect(fake.callsOf('files.getUploadURLExternal')).toHaveLength(0);
    const after = answersAfterUpload(answers, res);
    expect(JSON.stringify(after[0]?.blocks)).toContain('Could not upload 2 parts as files (missing_scope, needs im:write)');
    expect(after[0]?.files).toBeUndefined();
    // the short part first, then the long ones in order
    expect(after.slice(1).map((a) => a.text)).toEqual([
      'config.toml (config.toml)',
      ...detailAnswers(PLAN.details?.[0] ?? { title: '', filename: '', content: '' }).map((a) => a.text),
      ...detailAnswers(PLAN.details?.[2] ?? { title: '', filename: '', content: '' }).map((a) => a.text),
    ]);
  });

  it('escapes a failure reason that is not a Slack error code', async () => {
    const after = answersAfterUpload(planAnswers('op-abc123', 'bootstrap', 'prod', PLAN), { ok: false, reason: 'connect ECONNREFUSED <127.0.0.1> & more' });
    expect(JSON.stringify(after[0]?.blocks)).toContain('ECONNREFUSED &lt;127.0.0.1&gt; &amp; more');
  });
});
