import { Writable } from 'node:stream';
import pino from 'pino';
import { SlackFake } from '../../../test/fakes/slack-fake';
import { createWebClient, SLACK_REQUEST_TIMEOUT_MS, SLACK_RETRY_CONFIG, slackClientOptions } from './web-client';

/** A pino logger whose lines land in `lines`. */
function memoryLogger(level = 'debug'): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { out.push(chunk.toString('utf8')); cb(); } });
  const logger = pino({ level }, stream);
  return { logger, lines: () => out.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('slackClientOptions', () => {
  it('bounds the retry budget (no 30-minute stall) and honours Retry-After', () => {
    const o = slackClientOptions({ apiUrl: 'http://127.0.0.1:1/api/' });
    expect(o.rejectRateLimitedCalls).toBe(false);
    expect(o.timeout).toBe(SLACK_REQUEST_TIMEOUT_MS);
    expect(o.slackApiUrl).toBe('http://127.0.0.1:1/api/');
    expect(o.retryConfig).toEqual(SLACK_RETRY_CONFIG);
    const r = SLACK_RETRY_CONFIG;
    expect(r.retries).toBeLessThanOrEqual(6);
    expect(r.maxRetryTime).toBeLessThanOrEqual(60_000);
    // Worst case of the backoff alone (randomize doubles at most), before maxRetryTime cuts it.
    let worst = 0;
    for (let i = 0; i < (r.retries ?? 0); i += 1) worst += Math.min((r.minTimeout ?? 1000) * 2 * (r.factor ?? 2) ** i, r.maxTimeout ?? Infinity);
    expect(worst).toBeLessThan(60_000);
  });
});

describe('createWebClient against the SlackFake', () => {
  let fake: SlackFake;
  beforeEach(async () => { fake = await new SlackFake().start(); });
  afterEach(async () => { await fake.stop(); });

  it('waits out a 429 (Retry-After) with the production policy and succeeds', async () => {
    const client = createWebClient('xoxb-test-token-0000', { apiUrl: fake.apiUrl, logger: pino({ level: 'silent' }) });
    fake.rateLimit('chat.postMessage', 1, 1);
    const t0 = Date.now();
    const res = await client.chat.postMessage({ channel: 'C1', text: 'hello' });
    expect(res.ok).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(1);
  });

  it('gives up after its retry budget instead of stalling', async () => {
    const client = createWebClient('xoxb-test-token-0000', {
      apiUrl: fake.apiUrl, logger: pino({ level: 'silent' }), retryConfig: { retries: 2, minTimeout: 5, maxTimeout: 5, factor: 1 },
    });
    fake.rateLimit('chat.postMessage', 100, 0);
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toThrow(/rate limit/);
    expect(fake.callsOf('chat.postMessage')).toHaveLength(0);
  });

  it('logs through pino, redacted, never the token', async () => {
    const { logger, lines } = memoryLogger('debug');
    const client = createWebClient('xoxb-1111-2222-secretsecret', { apiUrl: fake.apiUrl, logger });
    await client.chat.postMessage({ channel: 'C1', text: 'deploy token glpat-AbCdEfGhIjKlMnOpQrSt' });
    const all = JSON.stringify(lines());
    expect(lines().some((l) => l.component === 'slack-web-api')).toBe(true);
    expect(all).not.toContain('secretsecret');
    expect(all).not.toContain('glpat-AbCd');
  });
});
