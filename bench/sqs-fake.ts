/**
 * A local SQS over real HTTP, speaking the AWS JSON 1.0 protocol the SDK uses for SQS
 * (`POST /`, `X-Amz-Target: AmazonSQS.<Action>`), for the alert tests and `npm run bench`. The
 * real SQSClient talks to it: queue URLs are `http://127.0.0.1:<port>/<account>/<name>`, and the
 * SDK sends each request to the host inside the QueueUrl (useQueueUrlAsEndpoint) and checks
 * each body's MD5, as with AWS.
 *
 * Semantics kept from SQS: long polling (a receive waits up to WaitTimeSeconds for a message,
 * answers at once when one becomes visible, and answers `{}` without `Messages` when none came);
 * a received message is invisible for the visibility timeout, then delivered again with a higher
 * ApproximateReceiveCount; only the latest receipt handle deletes a message (an older one
 * "succeeds" but deletes nothing). Injections: `fail(action, times)` answers HTTP 500;
 * `corruptMd5(times)` sends wrong MD5OfBody; `skipHide(times)` delivers the next receives without
 * hiding their messages, so two consumers get the same message at once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSqsMessage {
  id: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  handle: string | undefined;
  deleted: boolean;
}

interface Waiter { queue: string; wake: () => void }

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export class SqsFake {
  private server: Server | undefined;
  private port = 0;
  private readonly queues = new Map<string, FakeSqsMessage[]>();
  private readonly waiters = new Set<Waiter>();
  private readonly faults = new Map<string, number>();
  private md5Faults = 0;
  private skipHides = 0;
  /** Calls per action, for assertions. */
  readonly calls = new Map<string, number>();

  constructor(public visibilityMs = 30_000) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const w of this.waiters) w.wake();
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The URL of a queue (created on first use). */
  queueUrl(name = 'runner-ops-events', account = '123456789012'): string {
    const path = `/${account}/${name}`;
    if (!this.queues.has(path)) this.queues.set(path, []);
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Puts a message on the queue; it is receivable at once. */
  send(queueUrl: string, body: string): FakeSqsMessage {
    const q = this.queue(queueUrl);
    const m: FakeSqsMessage = { id: randomUUID(), body, sentAt: Date.now(), visibleAt: 0, receiveCount: 0, handle: undefined, deleted: false };
    q.push(m);
    this.notify();
    return m;
  }

  /** Messages not deleted yet (visible or in flight). */
  remaining(queueUrl: string): FakeSqsMessage[] { return this.queue(queueUrl).filter((m) => !m.deleted); }

  fail(action: string, times = 1): void { this.faults.set(action, (this.faults.get(action) ?? 0) + times); }
  corruptMd5(times = 1): void { this.md5Faults += times; }
  skipHide(times = 1): void { this.skipHides += times; }

  private queue(url: string): FakeSqsMessage[] {
    const path = new URL(url).pathname;
    let q = this.queues.get(path);
    if (q === undefined) { q = []; this.queues.set(path, q); }
    return q;
  }

  private notify(): void { for (const w of [...this.waiters]) w.wake(); }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const target = String(req.headers['x-amz-target'] ?? '');
    const action = target.replace(/^AmazonSQS\./, '');
    this.calls.set(action, (this.calls.get(action) ?? 0) + 1);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (res.writableEnded || res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID(), ...headers });
      res.end(JSON.stringify(body));
    };
    let input: Record<string, unknown>;
    try { input = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>; } catch { send(400, { __type: 'com.amazon.coral.service#SerializationException' }); return; }
    const fault = this.faults.get(action) ?? 0;
    if (fault > 0) {
      this.faults.set(action, fault - 1);
      send(500, { __type: 'com.amazonaws.sqs#InternalError', message: 'injected failure' });
      return;
    }
    const url = typeof input.QueueUrl === 'string' ? input.QueueUrl : '';
    if (url === '' || !this.queues.has(new URL(url).pathname)) {
      send(400, { __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' }, { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' });
      return;
    }
    switch (action) {
      case 'SendMessage': {
        const m = this.send(url, String(input.MessageBody ?? ''));
        send(200, { MessageId: m.id, MD5OfMessageBody: md5(m.body) });
        return;
      }
      case 'ReceiveMessage':
        send(200, await this.receive(url, input, req));
        return;
      case 'DeleteMessage':
        this.delete(url, String(input.ReceiptHandle ?? ''));
        send(200, {});
        return;
      case 'DeleteMessageBatch': {
        const entries = Array.isArray(input.Entries) ? input.Entries as { Id: string; ReceiptHandle: string }[] : [];
        for (const e of entries) this.delete(url, e.ReceiptHandle);
        send(200, { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] });
        return;
      }
      default:
        send(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `fake: ${action} is not supported` });
    }
  }

  private delete(url: string, handle: string): void {
    const m = this.queue(url).find((x) => x.handle === handle && !x.deleted);
    if (m !== undefined) m.deleted = true;
  }

  private take(url: string, max: number): FakeSqsMessage[] {
    const now = Date.now();
    const out = this.queue(url).filter((m) => !m.deleted && m.visibleAt <= now).slice(0, max);
    const hide = this.skipHides > 0 ? (this.skipHides -= 1, false) : true;
    for (const m of out) {
      m.receiveCount += 1;
      m.handle = randomUUID();
      if (hide) m.visibleAt = now + this.visibilityMs;
    }
    return out;
  }

  private async receive(url: string, input: Record<string, unknown>, req: IncomingMessage): Promise<Record<string, unknown>> {
    const max = Math.min(10, Math.max(1, Number(input.MaxNumberOfMessages ?? 1)));
    const deadline = Date.now() + Math.min(20, Math.max(0, Number(input.WaitTimeSeconds ?? 0))) * 1000;
    let got = this.take(url, max);
    while (got.length === 0 && Date.now() < deadline && this.server !== undefined && !req.socket.destroyed) {
      const nextVisible = Math.min(...this.queue(url).filter((m) => !m.deleted).map((m) => m.visibleAt));
      const waitMs = Math.max(1, Math.min(deadline, Number.isFinite(nextVisible) ? nextVisible : deadline) - Date.now());
      await new Promise<void>((resolve) => {
        const w: Waiter = { queue: url, wake: () => { clearTimeout(timer); this.waiters.delete(w); req.socket.off('close', w.wake); resolve(); } };
        const timer = setTimeout(w.wake, waitMs);
        this.waiters.add(w);
        req.socket.once('close', w.wake);
      });
      got = this.take(url, max);
    }
    if (got.length === 0) return {};
    const corrupt = this.md5Faults > 0 ? (this.md5Faults -= 1, true) : false;
    return {
      Messages: got.map((m) => ({
        MessageId: m.id, ReceiptHandle: m.handle, Body: m.body, MD5OfBody: corrupt ? md5(`${m.body}x`) : md5(m.body),
        Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
      })),
    };
  }
}
