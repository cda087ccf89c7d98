/**
 * A local fake of the Slack Web API (and of response_url endpoints), over real HTTP on loopback.
 * Point SLACK_API_URL (or WebClient's slackApiUrl) at `fake.apiUrl`. It records every call in
 * order, answers the methods the bot uses with plausible results, and can answer 429 with
 * Retry-After for a method a number of times. An unknown method answers `unknown_method`, and
 * is recorded, so tests can assert on it.
 *
 * File uploads follow @slack/web-api's `files.uploadV2` (WebClient.filesUploadV2): one
 * `files.getUploadURLExternal` per file (filename, length) answering an upload URL on this
 * server; a multipart/form-data POST of the bytes (field `body`) to that URL; then one
 * `files.completeUploadExternal` (channel_id, thread_ts, initial_comment, `files` as JSON
 * `[{ id, title }]`). The raw bytes are in `uploads`, the shared files in `files`.
 * `conversations.open({ users })` answers a DM channel id (`dmChannelOf`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type SlackArgs = Record<string, unknown>;
export interface SlackCall { method: string; args: SlackArgs; at: number; answer?: SlackArgs }
export interface ResponseUrlPost { id: string; body: SlackArgs; at: number }
/** A POST to an upload URL the fake handed out: the file's bytes as received. */
export interface SlackUpload { fileId: string; filename: string | undefined; bytes: Buffer; at: number }
/** A file shared by files.completeUploadExternal, with the bytes uploaded for it (if any). */
export interface SlackFile {
  id: string;
  title: string | undefined;
  filename: string | undefined;
  channelId: string | undefined;
  threadTs: string | undefined;
  initialComment: string | undefined;
  bytes: Buffer | undefined;
}
type Handler = (args: SlackArgs) => SlackArgs;

function decodeValue(value: string): unknown {
  const first = value.trimStart()[0];
  if (first === '[' || first === '{') {
    try { return JSON.parse(value) as unknown; } catch { return value; }
  }
  return value;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The fields of a multipart/form-data body: text fields as strings, file fields as bytes. */
async function parseMultipart(contentType: string, raw: Buffer): Promise<Map<string, string | Buffer>> {
  const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  const fields = new Map<string, string | Buffer>();
  for (const [key, value] of form.entries()) {
    fields.set(key, typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer()));
  }
  return fields;
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
  /** Bytes POSTed to upload URLs (files.uploadV2 step 2), in order. */
  readonly uploads: SlackUpload[] = [];
  /** Files shared by files.completeUploadExternal, in order. */
  readonly files: SlackFile[] = [];
  /** Calls answered 429 by `rateLimit` (not in `calls`), in order. */
  readonly rateLimited: { method: string; at: number; channel: string | undefined }[] = [];
  /** Members of each user group, for usergroups.users.list. */
  readonly userGroups = new Map<string, string[]>();
  private server: Server | undefined;
  private port = 0;
  private nextTs = 1_700_000_000_000_000;
  private readonly handlers = new Map<string, Handler>();
  private readonly limited = new Map<string, { remaining: number; retryAfter: number }>();
  private readonly waiters: Array<() => void> = [];
  /** Upload URLs handed out by files.getUploadURLExternal: path id -> file id and filename. */
  private readonly uploadSlots = new Map<string, { fileId: string; filename: string | undefined }>();

  get apiUrl(): string { return `http://127.0.0.1:${this.port}/api/`; }
  responseUrl(id: string): string { return `http://127.0.0.1:${this.port}/response/${id}`; }

  /** The DM channel id conversations.open answers for one user (`U0ALICE` -> `D0ALICE`). */
  static dmChannelOf(userId: string): string { return `D${userId.replace(/^[UW]/, '')}`; }

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

  /** Back to the default answer for one method. */
  off(method: string): void { this.handlers.delete(method); }

  /**
   * The next `times` calls of `method` answer HTTP 429 with `Retry-After: retryAfterSeconds`;
   * with `channel`, only calls for that channel (others in the meantime are answered as usual).
   */
  rateLimit(method: string, times: number, retryAfterSeconds = 1, channel?: string): void {
    this.limited.set(channel === undefined ? method : `${method}\u0000${channel}`, { remaining: times, retryAfter: retryAfterSeconds });
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
    const bytes = await readBody(req);
    const raw = bytes.toString('utf8');
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
    if (url.startsWith('/upload/')) {
      await this.handleUpload(url, req.headers['content-type'], bytes, res);
      return;
    }
    const method = url.replace(/^\/api\//, '').split('?')[0] ?? '';
    const args = parseArgs(req.headers['content-type'], raw);
    const inChannel = this.limited.get(`${method}\u0000${String(args.channel ?? args.channel_id ?? '')}`);
    const limit = inChannel !== undefined && inChannel.remaining > 0 ? inChannel : this.limited.get(method);
    if (limit !== undefined && limit.remaining > 0) {
      limit.remaining -= 1;
      this.rateLimited.push({ method, at: Date.now(), channel: typeof args.channel === 'string' ? args.channel : undefined });
      send(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(limit.retryAfter) });
      return;
    }
    this.calls.push({ method, args, at: Date.now() });
    this.notify();
    const handler = this.handlers.get(method);
    const call = this.calls[this.calls.length - 1];
    const answer = handler !== undefined ? handler(args) : this.defaultAnswer(method, args);
    if (call !== undefined) call.answer = answer;
    send(200, answer);
  }

  /**
   * Step 2 of files.uploadV2: the bytes POSTed to an upload URL. Slack answers `200 OK - <length>`
   * in text; an unknown URL answers 404. Recorded in `uploads`, and (as before) in `calls` under
   * the method `/upload/<n>` with the text fields and the file as a UTF-8 string in `body`.
   */
  private async handleUpload(url: string, contentType: string | undefined, raw: Buffer, res: ServerResponse): Promise<void> {
    const slotId = url.slice('/upload/'.length).split('?')[0] ?? '';
    const slot = this.uploadSlots.get(slotId);
    let data = raw;
    const args: SlackArgs = {};
    if (contentType?.includes('multipart/form-data') === true) {
      const fields = await parseMultipart(contentType, raw);
      for (const [k, v] of fields) args[k] = typeof v === 'string' ? v : v.toString('utf8');
      const body = fields.get('body');
      data = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(body);
    } else {
      args.body = raw.toString('utf8');
    }
    this.calls.push({ method: url.split('?')[0] ?? url, args, at: Date.now() });
    if (slot !== undefined) this.uploads.push({ fileId: slot.fileId, filename: slot.filename, bytes: data, at: Date.now() });
    this.notify();
    res.writeHead(slot === undefined ? 404 : 200, { 'content-type': 'text/plain' });
    res.end(slot === undefined ? 'Not Found' : `OK - ${data.length}`);
  }

  /** Step 3 of files.uploadV2: shares the uploaded files (recorded in `files`). */
  private completeUpload(args: SlackArgs): SlackArgs {
    const listed = Array.isArray(args.files) ? args.files as Array<{ id?: unknown; title?: unknown }> : [];
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const shared = listed.map((f) => {
      const id = String(f.id);
      const upload = [...this.uploads].reverse().find((u) => u.fileId === id);
      const slot = [...this.uploadSlots.values()].find((s) => s.fileId === id);
      const file: SlackFile = {
        id, title: str(f.title), filename: slot?.filename, channelId: str(args.channel_id), threadTs: str(args.thread_ts),
        initialComment: str(args.initial_comment), bytes: upload?.bytes,
      };
      this.files.push(file);
      return file;
    });
    return { ok: true, files: shared.map((f) => ({ id: f.id, title: f.title ?? f.filename, name: f.filename, ...(f.channelId === undefined ? {} : { channels: [f.channelId] }) })) };
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
      case 'conversations.open': {
        const users = String(args.users ?? '').split(',').filter((u) => u !== '');
        if (users.length === 0) return { ok: false, error: 'users_list_not_supplied' };
        const id = users.length === 1 ? SlackFake.dmChannelOf(users[0] ?? '') : `G${users.join('').replace(/[^A-Z0-9]/g, '')}`;
        return { ok: true, channel: { id } };
      }
      case 'files.getUploadURLExternal': {
        const slotId = String(this.calls.length);
        const fileId = `F${this.calls.length}`;
        this.uploadSlots.set(slotId, { fileId, filename: typeof args.filename === 'string' ? args.filename : undefined });
        return { ok: true, upload_url: `http://127.0.0.1:${this.port}/upload/${slotId}`, file_id: fileId };
      }
      case 'files.completeUploadExternal':
        return this.completeUpload(args);
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}
