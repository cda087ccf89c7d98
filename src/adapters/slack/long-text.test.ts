import pino from 'pino';
import type { WebClient } from '@slack/web-api';
import { SlackFake } from '../../../test/fakes/slack-fake';
import type { Block } from './blocks';
import { INLINE_LIMIT, postLongText } from './long-text';
import { createWebClient } from './web-client';

const FAST_RETRY = { retries: 1, factor: 1, minTimeout: 5, maxTimeout: 5 };

describe('postLongText over the SlackFake', () => {
  let fake: SlackFake;
  let client: WebClient;

  beforeEach(async () => {
    fake = await new SlackFake().start();
    client = createWebClient('xoxb-test-0000', { apiUrl: fake.apiUrl, logger: pino({ level: 'silent' }), retryConfig: FAST_RETRY });
  });
  afterEach(async () => { await fake.stop(); });

  it('posts short content inline as a redacted code block in the thread', async () => {
    const content = '[[runners]]\n  name = "prod"\n  token = "glrt-AbCdEfGhIjKlMnOpQrSt"\n  url = "https://gitlab.com" # <&>';
    const res = await postLongText(client, { channel: 'C1', threadTs: '1.1', title: 'config.toml for prod', content, filename: 'config.toml' });
    expect(res).toEqual({ mode: 'inline' });
    const post = fake.callsOf('chat.postMessage')[0];
    expect(post?.args).toMatchObject({ channel: 'C1', thread_ts: '1.1' });
    const json = JSON.stringify(post?.args.blocks);
    expect(json).toContain('```');
    expect(json).toContain('token = \\"[redacted]\\"');
    expect(json).not.toContain('glrt-AbCd');
    expect(json).toContain('# &lt;&amp;&gt;');
    expect(fake.callsOf('files.getUploadURLExternal')).toHaveLength(0);
  });

  it('uploads longer content as a file into the thread (files.uploadV2)', async () => {
    const content = Array.from({ length: 400 }, (_, i) => `echo LINE-${String(i).padStart(4, '0')}`).join('\n');
    expect(content.length).toBeGreaterThan(INLINE_LIMIT);
    const res = await postLongText(client, { channel: 'C1', threadTs: '1.1', title: 'Bootstrap script', content: `${content}\nexport GITLAB_TOKEN=glpat-AbCdEfGhIjKlMnOpQrSt`, filename: 'manager-bootstrap.sh' });
    expect(res).toEqual({ mode: 'file' });
    const get = fake.callsOf('files.getUploadURLExternal')[0];
    expect(get?.args).toMatchObject({ filename: 'manager-bootstrap.sh' });
    // The fake records the upload POST itself as method '/upload/N'.
    const upload = fake.calls.find((c) => /(^|\/)upload\//.test(c.method));
    expect(upload).toBeDefined();
    const uploaded = JSON.stringify(upload?.args);
    expect(uploaded).toContain('LINE-0399');
    expect(uploaded).not.toContain('glpat-AbCd');
    const complete = fake.callsOf('files.completeUploadExternal')[0];
    expect(complete?.args).toMatchObject({ channel_id: 'C1', thread_ts: '1.1' });
    expect(JSON.stringify(complete?.args.files)).toContain('Bootstrap script');
    expect(fake.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('falls back to an inline tail with a note when the upload fails', async () => {
    fake.on('files.getUploadURLExternal', () => ({ ok: false, error: 'missing_scope' }));
    const content = Array.from({ length: 400 }, (_, i) => `line ${i}`).join('\n');
    const res = await postLongText(client, { channel: 'C1', title: 'Plan', content, filename: 'plan.txt' });
    expect(res).toEqual({ mode: 'inline-truncated', uploadError: 'missing_scope' });
    const post = fake.callsOf('chat.postMessage')[0];
    expect(post?.args.thread_ts).toBeUndefined();
    const blocks = post?.args.blocks as Block[];
    const json = JSON.stringify(blocks);
    expect(json).toContain('missing_scope');
    expect(json).toContain('400 lines');
    expect(json).toContain('line 399');
    expect(json).not.toContain('line 0\\n');
    for (const b of blocks) if (b.type === 'section') expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
  });
});
