/**
 * Hostile input (issue 9, item 3): oversized bodies against the bot's one HTTP server
 * (src/http/server.ts). A body over the limit to `POST /slack/events` is answered 413, and a body
 * to a route that takes none is answered 404, as soon as that is known, without the server
 * waiting for (or keeping) the rest; the connection is then closed within a bounded time, and the
 * bot keeps serving.
 */
import { connect } from 'node:net';
import { MAX_BODY_BYTES } from '../src/http/server';
import { SIGNING_SECRET, startHarness, type Harness } from './support/bot-harness';
import { deletePrefix } from './support/redis';
import { sign } from './support/slack-requests';

const MiB = 1024 * 1024;

describe('oversized bodies', () => {
  let h: Harness;
  let base: string;

  beforeAll(async () => {
    h = await startHarness({ name: 'oversized' });
    base = `http://127.0.0.1:${h.bot.port}`;
  });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
  });

  const healthz = async (): Promise<number> => (await fetch(`${base}/healthz`)).status;

  it.each([
    ['/slack/events', 1 * MiB, 413],
    ['/slack/events', 10 * MiB, 413],
    ['/nowhere', 1 * MiB, 404],
    ['/nowhere', 10 * MiB, 404],
    ['/healthz', 10 * MiB, 404],
  ])('POST %s with %d bytes (signed) is answered %d, and the bot keeps serving', async (path, size, status) => {
    const body = Buffer.alloc(size, 'a');
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': sign(SIGNING_SECRET, timestamp, body.toString()) },
      body,
    });
    expect(res.status).toBe(status);
    await res.arrayBuffer();
    expect(await healthz()).toBe(200);
  });

  /**
   * A raw connection that sends the head and `send` bytes of body, then nothing more: resolves with
   * the status line of the answer (if any came) and when the server closed the connection (if it
   * did within `waitMs`).
   */
  function rawPost(path: string, framing: 'declared' | 'chunked', send: number, waitMs: number): Promise<{ status: string; closedAfterMs: number | undefined }> {
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = connect(h.bot.port, '127.0.0.1');
      let received = '';
      let closedAfterMs: number | undefined;
      socket.on('data', (d: Buffer) => { received += d.toString('latin1'); });
      socket.on('error', () => undefined);
      const finish = (): void => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ status: received.split('\r\n')[0] ?? '', closedAfterMs });
      };
      const timer = setTimeout(finish, waitMs);
      socket.on('close', () => {
        closedAfterMs = Date.now() - started;
        finish();
      });
      socket.on('connect', () => {
        const length = framing === 'declared' ? `content-length: ${10 * MiB}` : 'transfer-encoding: chunked';
        socket.write(`POST ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/x-www-form-urlencoded\r\n${length}\r\n\r\n`);
        const chunk = Buffer.alloc(64 * 1024, 'a');
        for (let sent = 0; sent < send; sent += chunk.length) {
          socket.write(framing === 'chunked' ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk);
        }
      });
    });
  }

  it('answers 413 to a declared 10 MiB body after 64 KiB of it, and closes the connection within a bounded time', async () => {
    const res = await rawPost('/slack/events', 'declared', 64 * 1024, 4_000);
    expect(res.status).toBe('HTTP/1.1 413 Payload Too Large');
    expect(res.closedAfterMs).toBeDefined();
  });

  it(`answers 413 to a chunked body once it passes ${MAX_BODY_BYTES} bytes, though the client never ends it`, async () => {
    const res = await rawPost('/slack/events', 'chunked', MAX_BODY_BYTES + 128 * 1024, 4_000);
    expect(res.status).toBe('HTTP/1.1 413 Payload Too Large');
    expect(res.closedAfterMs).toBeDefined();
  });

  it('answers 404 to a body sent to an unknown route before the body is sent, and closes the connection', async () => {
    const res = await rawPost('/nowhere', 'declared', 0, 4_000);
    expect(res.status).toBe('HTTP/1.1 404 Not Found');
    expect(res.closedAfterMs).toBeDefined();
  });

  it('still takes a signed command afterwards', async () => {
    const res = await h.command('help', 'U0ALICE');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(await healthz()).toBe(200);
  });
});
