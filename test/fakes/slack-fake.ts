/**
 * A local fake of the Slack Web API (and of response_url endpoints), over real HTTP on loopback.
 * Point SLACK_API_URL (or WebClient's slackApiUrl) at `fake.apiUrl`. It records every call in
 * order, answers the methods the bot uses with plausible results, and can answer 429 with
 * Retry-After for a method a number of times. An unknown method answers `unknown_method`, and
 * is recorded, so tests can assert on it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SlackArgs = Record<string, unknown>;
export interface SlackCall { method: string; args: SlackArgs; at: number; answer?: SlackArgs }
export interface ResponseUrlPost { id: string; body: SlackArgs; at: number }
type Handler = (args: SlackArgs) => SlackArgs;

function decodeValue(value: string): unknown {
  const first = value.trimStart()[0];
  if (first === '[' || first === '{') {
    try { return JSON.parse(value) as unknown; } catch { return value; }
  }
  return value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseArgs(contentType: string | undefined, raw: string): SlackArgs {
  if (contentType?.includes('application/json') === true) {
    try { return JSON.parse(raw) as SlackArgs; } catch { return {}; }
  }
  const args: SlackArgs = {};
  for (const [k, v] of new URLSearchParams(raw)) args[k] = decodeValue(v);
  return args;
}

export class SlackFake {
  readonly calls: SlackCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  /** Members of each user group, for usergroups.users.list. */
  readonly userGroups = new Map<string, string[]>();
  private server: Server | undefined;
  private port = 0;
  private nextTs = 1_700_000_000_000_000;
  private readonly handlers = new Map<string, Handler>();
  private readonly limited = new Map<string, { remaining: number; retryAfter: number }>();
  private readonly waiters: Array<() => void> = [];

  get apiUrl(): string { return `http://127.0.0.1:${this.port}/api/`; }
  responseUrl(id: string): string { return `http://127.0.0.1:${this.port}/response/${id}`; }

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Replace the answer for one method. */
  on(method: string, handler: Handler): void { this.handlers.set(method, handler); }

  /** The next `times` calls of `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, times: number, retryAfterSeconds = 1): void {
    this.limited.set(method, { remaining: times, retryAfter: retryAfterSeconds });
  }

  callsOf(method: string): SlackCall[] { return this.calls.filter((c) => c.method === method); }

  /** The ts the fake answered for a recorded chat.postMessage. */
  tsOfCall(call: SlackCall): string | undefined {
    const ts = call.answer?.ts;
    return typeof ts === 'string' ? ts : undefined;
  }

  /** Every text (message text and block texts) of a call, joined: for assertions. */
  static textOf(call: SlackCall | ResponseUrlPost): string {
    const args = 'args' in call ? call.args : call.body;
    return JSON.stringify([args.text, args.blocks]);
  }

  /** Resolves once `predicate` holds over the recorded calls; rejects after `timeoutMs`. */
  async waitFor(predicate: (fake: this) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`SlackFake: timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  private notify(): void { for (const w of this.waiters.splice(0)) w(); }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = req.url ?? '/';
    const send = (status: number, body: SlackArgs, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.startsWith('/response/')) {
      this.responses.push({ id: url.slice('/response/'.length), body: parseArgs(req.headers['content-type'], raw), at: Date.now() });
      this.notify();
      send(200, { ok: true });
      return;
    }
    const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
    const limit = this.limited.get(method);
    if (limit !== undefined && limit.remaining > 0) {
      limit.remaining -= 1;
      send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
      return;
    }
    const args = parseArgs(req.headers['content-type'], raw);
    this.calls.push({ method, args, at: Date.now() });
    this.notify();
    const handler = this.handlers.get(method);
    const call = this.calls[this.calls.length - 1];
    const answer = handler !== undefined ? handler(args) : this.defaultAnswer(method, args);
    if (call !== undefined) call.answer = answer;
    send(200, answer);
  }

  private ts(): string {
    this.nextTs += 1;
    const s = String(this.nextTs);
    return `${s.slice(0, 10)}.${s.slice(10)}`;
  }

  private defaultAnswer(method: string, args: SlackArgs): SlackArgs {
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://fake.slack.test/', team: 'Fake', user: 'runner-ops', team_id: 'T0FAKE', user_id: 'U0BOT', bot_id: 'B0BOT' };
      case 'chat.postMessage':
        return { ok: true, channel: args.channel, ts: this.ts(), message: { text: args.text } };
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.ts() };
      case 'usergroups.users.list':
        return { ok: true, users: this.userGroups.get(String(args.usergroup)) ?? [] };
      case 'files.getUploadURLExternal':
        return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${this.calls.length}`, file_id: `F${this.calls.length}` };
      case 'files.completeUploadExternal':
        return { ok: true, files: [{ id: 'F1' }] };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
