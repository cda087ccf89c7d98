/**
 * The bot's one HTTP server: `POST /slack/events` (HTTP mode; handed to Bolt's receiver after
 * cheap checks), `GET /healthz` and `GET /metrics` (in Socket Mode too).
 *
 * Bolt verifies the signature and refuses timestamps older than five minutes; it accepts any
 * future timestamp, so a captured request could be replayed later. We refuse timestamps more
 * than a minute ahead here, with the same 401 and nothing else happening.
 *
 * Body size (CONTRACT §3; Slack's payloads are a few KB): this server reads the body of
 * `POST /slack/events` itself, at most MAX_BODY_BYTES, and hands Bolt the bytes already read
 * (Bolt's HTTPReceiver then uses `req.rawBody` instead of reading the stream). A larger body is
 * answered 413 as soon as that is known: at once when Content-Length says so, or when the
 * running count passes the limit (chunked bodies). Nothing beyond the limit is kept in memory.
 *
 * A body that parses, the way Bolt parses it, to JSON that is not an object (`payload=null`, a JSON
 * body `42`) is answered 400 here: Bolt 5 dereferences the parsed body outside its error handling,
 * so a signed `payload=null` made it throw from a floating promise and ended the process. An unsigned
 * one still gets 401 (`isSigned`). (Bodies that do not parse at all are left to Bolt: 401 unless
 * signed, then 400.)
 *
 * Every answer sent without reading the whole body (413, 401 for a future timestamp, 404, 405)
 * carries `Connection: close`; the rest of the body is then discarded for a bounded time and
 * amount (so that the client, still sending, reads our answer instead of a connection reset),
 * and the connection is closed. A client cannot make the bot hold or read an unbounded body.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import type { Registry } from 'prom-client';

export const SLACK_EVENTS_PATH = '/slack/events';
const MAX_FUTURE_SKEW_SECONDS = 60;
/** The largest body `POST /slack/events` accepts (as Bolt's own `bodyLimit` in adapters/slack/app.ts). */
export const MAX_BODY_BYTES = 256 * 1024;
/** After an early answer: how much of an unread body is discarded, and for how long, before closing. */
const DISCARD_MAX_BYTES = 16 * 1024 * 1024;
const DISCARD_MAX_MS = 2_000;

export interface HealthResult { ok: boolean; details: Record<string, string> }

export interface HttpServerOptions {
  port: number;
  host?: string;
  slack?: RequestListener;
  health: () => Promise<HealthResult>;
  registry: Registry;
  now?: () => number;
  /** Largest accepted body of `POST /slack/events` (default MAX_BODY_BYTES). */
  maxBodyBytes?: number;
  /**
   * Whether a request carries a valid Slack signature (HTTP mode). Used only for bodies this server
   * answers itself (JSON that is not an object), so that an unsigned one still gets 401 (CONTRACT
   * §3) and only a signed one gets 400.
   */
  isSigned?: (req: IncomingMessage, body: Buffer) => boolean;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function declaredLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (declaredLength(req) ?? 0) > 0;
}

/**
 * Answers a request whose body was not (wholly) read, and closes the connection: the answer is
 * written in full first, then the rest of the body is discarded (bounded) so the client can read
 * the answer, then the response ends and Node closes the socket (`Connection: close`).
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  if (!hasBody(req) || req.complete) { send(res, status, body, type); return; }
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', connection: 'close', 'content-length': Buffer.byteLength(body) });
  res.write(body);
  let discarded = 0;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.removeListener('data', onData);
    res.end();
    // Whatever the client still sends is not read: the socket goes once our answer is out.
    if (!req.complete) res.once('finish', () => req.socket.destroy());
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > DISCARD_MAX_BYTES) finish();
  };
  const timer = setTimeout(finish, DISCARD_MAX_MS);
  timer.unref();
  req.on('data', onData);
  req.once('end', finish);
  req.once('close', finish);
  req.resume();
}

function futureTimestamp(req: IncomingMessage, nowMs: number): boolean {
  const raw = req.headers['x-slack-request-timestamp'];
  const ts = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(ts) && ts > nowMs / 1000 + MAX_FUTURE_SKEW_SECONDS;
}

/**
 * True when Bolt would parse `body` into JSON that is not an object: as Bolt does, a form body's
 * `payload` field (when it is one string) is JSON, a form body without one is its fields, and any
 * other content type is JSON. Unparseable JSON is not this function's business (false).
 */
function parsesToNonObject(body: Buffer, contentType: string | undefined): boolean {
  let json: string;
  if (contentType === 'application/x-www-form-urlencoded') {
    const payload = parseQuery(body.toString()).payload;
    if (typeof payload !== 'string') return false;
    json = payload;
  } else {
    json = body.toString();
  }
  let value: unknown;
  try { value = JSON.parse(json); } catch { return false; }
  return value === null || typeof value !== 'object' || Array.isArray(value);
}

type BodyRead = { ok: true; body: Buffer } | { ok: false; reason: 'too_large' | 'aborted' };

/** Reads at most `limit` bytes of the body; stops reading (stream paused) once it knows it is larger. */
function readBody(req: IncomingMessage, limit: number): Promise<BodyRead> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) return Promise.resolve({ ok: false, reason: 'too_large' });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (result: BodyRead): void => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onAbort);
      req.removeListener('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        chunks.length = 0;
        settle({ ok: false, reason: 'too_large' });
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle({ ok: true, body: Buffer.concat(chunks, size) });
    const onAbort = (): void => settle({ ok: false, reason: 'aborted' });
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onAbort);
    req.once('close', onAbort);
  });
}

export function createHttpServer(opts: HttpServerOptions): { server: Server; listen(): Promise<number>; close(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === SLACK_EVENTS_PATH && opts.slack !== undefined) {
      const slack = opts.slack;
      if (req.method !== 'POST') { refuse(req, res, 405, ''); return; }
      if (futureTimestamp(req, now())) { refuse(req, res, 401, ''); return; }
      void readBody(req, maxBody).then((read) => {
        if (read.ok && parsesToNonObject(read.body, req.headers['content-type'])) {
          if (opts.isSigned !== undefined && !opts.isSigned(req, read.body)) send(res, 401, '');
          else send(res, 400, JSON.stringify({ error: 'the body is not a Slack payload' }));
        } else if (read.ok) {
          // Bolt's HTTPReceiver uses a Buffer in `rawBody` as the body (its BufferedIncomingMessage).
          slack(Object.assign(req, { rawBody: read.body }), res);
        } else if (read.reason === 'too_large') {
          refuse(req, res, 413, JSON.stringify({ error: `request body larger than ${maxBody} bytes` }));
        } else if (!res.headersSent) {
          req.socket.destroy();
        }
      });
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      opts.health().then(
        (h) => send(res, h.ok ? 200 : 503, JSON.stringify({ status: h.ok ? 'ok' : 'unavailable', ...h.details })),
        (err: unknown) => send(res, 503, JSON.stringify({ status: 'unavailable', reason: err instanceof Error ? err.message : 'health check failed' })),
      );
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      opts.registry.metrics().then(
        (text) => send(res, 200, text, opts.registry.contentType),
        () => send(res, 500, 'metrics unavailable\n', 'text/plain'),
      );
      return;
    }
    refuse(req, res, 404, JSON.stringify({ error: 'not found' }));
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return {
    server,
    listen: () => new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host ?? '0.0.0.0', () => resolve((server.address() as AddressInfo).port));
    }),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
