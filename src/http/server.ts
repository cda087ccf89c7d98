/**
 * The bot's one HTTP server: `POST /slack/events` (HTTP mode; handed to Bolt's receiver after
 * two cheap checks), `GET /healthz` and `GET /metrics` (in Socket Mode too).
 *
 * Bolt verifies the signature and refuses timestamps older than five minutes; it accepts any
 * future timestamp, so a captured request could be replayed later. We refuse timestamps more
 * than a minute ahead here, with the same 401 and nothing else happening.
 */
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export const SLACK_EVENTS_PATH = '/slack/events';
const MAX_FUTURE_SKEW_SECONDS = 60;

export interface HealthResult { ok: boolean; details: Record<string, string> }

export interface HttpServerOptions {
  port: number;
  host?: string;
  slack?: RequestListener;
  health: () => Promise<HealthResult>;
  registry: Registry;
  now?: () => number;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function futureTimestamp(req: IncomingMessage, nowMs: number): boolean {
  const raw = req.headers['x-slack-request-timestamp'];
  const ts = Number(Array.isArray(raw) ? raw[0] : raw);
  return Number.isFinite(ts) && ts > nowMs / 1000 + MAX_FUTURE_SKEW_SECONDS;
}

export function createHttpServer(opts: HttpServerOptions): { server: Server; listen(): Promise<number>; close(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === SLACK_EVENTS_PATH && opts.slack !== undefined) {
      if (req.method !== 'POST') { send(res, 405, ''); return; }
      if (futureTimestamp(req, now())) { req.resume(); res.writeHead(401); res.end(); return; }
      opts.slack(req, res);
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
    send(res, 404, JSON.stringify({ error: 'not found' }));
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
