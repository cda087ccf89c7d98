/**
 * Long-polls one SQS queue (DESIGN §2) and hands each message to a handler.
 *
 * Contract:
 * - ReceiveMessage with WaitTimeSeconds 20 and up to 10 messages; an empty receive has no
 *   `Messages` key. The SDK checks each body's MD5 (a mismatch fails the receive: the messages
 *   come back after their visibility timeout, and go to the queue's dead-letter queue after
 *   `maxReceiveCount` such failures). Requests go to the host inside the queue URL
 *   (`useQueueUrlAsEndpoint`), whatever AWS_ENDPOINT_URL_SQS says.
 * - A message is deleted only when its handler said `delete`, i.e. after the alert is recorded
 *   in Redis (or the message was found malformed or foreign, which retrying cannot fix). A handler
 *   that throws or says `retry` leaves it: SQS delivers it again after the visibility timeout.
 *   Deletion is one DeleteMessageBatch per receive; a failed delete means a redelivery, which the
 *   dedupe absorbs.
 * - Errors back off exponentially (with jitter) up to `maxBackoffMs`, and reset after a receive
 *   that works. Nothing a message contains can stop the loop.
 * - `stop()` aborts the long poll, lets the batch in hand finish (handlers and the delete), and
 *   resolves when the loop has ended.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';

export type MessageVerdict = 'delete' | 'retry';

export interface QueueMessage {
  messageId: string;
  body: string | undefined;
  /** How often SQS has handed this message out (1 = first delivery). */
  receiveCount: number;
  /** When SQS accepted the message (ms), when it says. */
  sentAt: number | undefined;
}

export type ConsumerErrorStage = 'receive' | 'handle' | 'delete';

export interface QueueConsumerOptions {
  sqs: SQSClient;
  queueUrl: string;
  log: Logger;
  handle: (message: QueueMessage) => Promise<MessageVerdict>;
  /** After each non-empty receive, once its messages were handled (and deleted). */
  afterBatch?: () => void;
  onError?: (stage: ConsumerErrorStage, err: unknown) => void;
  waitTimeSeconds?: number;
  maxMessages?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

function errorText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0] ?? ''}`.slice(0, 300);
  return String(err);
}

function toMessage(m: Message): QueueMessage {
  const count = Number(m.Attributes?.ApproximateReceiveCount ?? '1');
  const sent = Number(m.Attributes?.SentTimestamp ?? Number.NaN);
  return { messageId: m.MessageId ?? '?', body: m.Body, receiveCount: Number.isFinite(count) ? count : 1, sentAt: Number.isFinite(sent) ? sent : undefined };
}

export class QueueConsumer {
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly log: Logger;
  private failures = 0;

  constructor(private readonly opts: QueueConsumerOptions) {
    this.log = opts.log.child({ component: 'alerts-consumer', queue: opts.queueUrl });
  }

  get running(): boolean { return this.loop !== undefined && !this.controller.signal.aborted; }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.controller.abort('stopping');
    await this.loop;
  }

  /** Current backoff after `failures` errors in a row: base·2^(n-1), capped, ±50% jitter. */
  backoffMs(failures: number): number {
    const base = this.opts.minBackoffMs ?? 500;
    const cap = this.opts.maxBackoffMs ?? 30_000;
    const ms = Math.min(cap, base * 2 ** Math.min(20, Math.max(0, failures - 1)));
    return Math.round(ms * (0.5 + Math.random() / 2));
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    this.log.info('alerts consumer started');
    while (!signal.aborted) {
      let messages: Message[];
      try {
        messages = await this.receive(signal);
        this.failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        this.failed('receive', err);
        await this.pause(signal);
        continue;
      }
      if (messages.length === 0) continue;
      const errors = await this.handleBatch(messages);
      this.opts.afterBatch?.();
      if (errors === messages.length) {
        // Nothing could be handled (Redis or EC2 away): the messages come back after their
        // visibility timeout; do not spin on newer ones meanwhile.
        this.failures += 1;
        await this.pause(signal);
      }
    }
    this.log.info('alerts consumer stopped');
  }

  private async receive(signal: AbortSignal): Promise<Message[]> {
    const command = new ReceiveMessageCommand({
      QueueUrl: this.opts.queueUrl,
      WaitTimeSeconds: this.opts.waitTimeSeconds ?? 20,
      MaxNumberOfMessages: this.opts.maxMessages ?? 10,
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
    });
    // The signal ends the HTTP long poll; the race also ends a receive that ignores it.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Error('stopping'));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      const res = await Promise.race([this.opts.sqs.send(command, { abortSignal: signal }), aborted]);
      return res.Messages ?? [];
    } finally {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    }
  }

  /** Handles and deletes one receive's messages; returns how many handlers failed. */
  private async handleBatch(messages: Message[]): Promise<number> {
    let errors = 0;
    const verdicts = await Promise.all(messages.map(async (m): Promise<MessageVerdict> => {
      try {
        return await this.opts.handle(toMessage(m));
      } catch (err) {
        errors += 1;
        this.failed('handle', err, { messageId: m.MessageId });
        return 'retry';
      }
    }));
    const done = messages.filter((m, i) => verdicts[i] === 'delete' && m.ReceiptHandle !== undefined);
    if (done.length === 0) return errors;
    try {
      // Not abortable: a batch in hand is finished even while stopping.
      const res = await this.opts.sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: this.opts.queueUrl,
        Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }));
      for (const f of res.Failed ?? []) {
        this.failed('delete', new Error(`${f.Code ?? 'error'}: ${f.Message ?? ''}`), { messageId: done[Number(f.Id)]?.MessageId });
      }
    } catch (err) {
      this.failed('delete', err);
    }
    return errors;
  }

  private failed(stage: ConsumerErrorStage, err: unknown, extra: Record<string, unknown> = {}): void {
    if (stage === 'receive') this.failures += 1;
    this.log.warn({ stage, err: errorText(err), failures: this.failures, ...extra }, 'alerts consumer error');
    try { this.opts.onError?.(stage, err); } catch { /* a metrics hook must not break the loop */ }
  }

  private pause(signal: AbortSignal): Promise<void> {
    const ms = this.backoffMs(this.failures);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() { clearTimeout(timer); signal.removeEventListener('abort', done); resolve(); }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
