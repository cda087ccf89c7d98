/**
 * A tiny fake of the Slack Web API on loopback: auth.test, chat.postMessage, chat.update and
 * chat.postEphemeral answer ok:true, and response_url POSTs (`/response/<id>`) are accepted. Only
 * counts are kept, so a long run does not grow memory.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export class BenchSlackFake {
  readonly counts = new Map<string, number>();
  private server: Server | undefined;
  private port = 0;
  private nextTs = 1_700_000_000_000_000;

  get apiUrl(): string { return `http://127.0.0.1:${this.port}/api/`; }
  responseUrl(id: string): string { return `http://127.0.0.1:${this.port}/response/${id}`; }

  async start(): Promise<this> {
    const server = createServer((req, res) => { this.handle(req, res); });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private count(key: string): void { this.counts.set(key, (this.counts.get(key) ?? 0) + 1); }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '/';
      const send = (body: Record<string, unknown>): void => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (url.startsWith('/response/')) { this.count('response_url'); send({ ok: true }); return; }
      const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
      this.count(method);
      switch (method) {
        case 'auth.test':
          send({ ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'runner-ops', team_id: 'T0FAKE', user_id: 'U0BOT', bot_id: 'B0BOT' });
          return;
        case 'chat.postMessage':
        case 'chat.postEphemeral':
        case 'chat.update':
          send({ ok: true, ts: this.ts(), message_ts: this.ts() });
          return;
        default:
          send({ ok: false, error: 'unknown_method' });
      }
    });
  }

  private ts(): string {
    this.nextTs += 1;
    const s = String(this.nextTs);
    return `${s.slice(0, 10)}.${s.slice(10)}`;
  }
}
