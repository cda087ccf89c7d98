/**
 * One operation's Slack thread (CONTRACT §4 "Threads"): live edits of the root message and
 * replies in the thread.
 *
 * Delivery contract:
 * - Root edits are coalesced: `setRoot` only changes the state in memory; at most one chat.update
 *   is queued or in flight at a time, and it sends the state as it is when it starts. So many
 *   quick changes cost one or two edits, and an older state is never sent after a newer one.
 *   `blocks` are always sent (chat.update without blocks keeps the old buttons).
 * - Replies are delivered one at a time in submission order (the pacer's per-channel lane), so
 *   a 429 that the WebClient waits out delays later replies instead of reordering them.
 * - Slack trouble never fails the operation: the methods here do not reject. A call that still
 *   fails after the WebClient's bounded retries is logged (method and Slack error code only),
 *   passed to `onApiError`, counted, and reported by `flush()`.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import { formatDuration } from '../../domain/progress';
import { redact, tail } from '../../domain/redact';
import {
  codeBlock, escapeMrkdwn, fallbackText, section, type Block, type MessageBody,
} from './blocks';
import type { ChannelPacer } from './channel-pacer';
import { renderRoot, type RootState } from './root-message';

export type ApiErrorHook = (method: string, error: unknown) => void;

export interface ThreadReporterOptions {
  client: WebClient;
  pacer: ChannelPacer;
  /** Channel id of the thread (as chat.postMessage returned it). */
  channel: string;
  rootTs: string;
  /** The root's current state (what it shows now, or should show). */
  state: RootState;
  logger?: Logger;
  onApiError?: ApiErrorHook;
}

export type FinishOutcome =
  | { ok: true; summary: string }
  | { ok: false; reason: string; outputTail?: string }
  | { cancelled: true; reason: string };

export interface DeliveryReport {
  /** Web API writes that succeeded since the reporter was made. */
  delivered: number;
  /** Writes that failed for good (after the WebClient's retries); their content is lost. */
  failed: number;
}

/** How much of a failing command's output goes into the final reply. */
export const OUTPUT_TAIL_LINES = 40;
export const OUTPUT_TAIL_CHARS = 2500;

/** The Slack error code of a Web API failure, or the error class; never the request. */
function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const data = (err as { data?: { error?: unknown } }).data;
    if (data !== undefined && typeof data.error === 'string') return data.error;
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return err instanceof Error ? err.name : 'unknown';
}

/** A copy of `value` with every string in it redacted (for Block Kit JSON). */
function redactStrings<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactStrings(v)) as T;
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactStrings(v)])) as T;
  }
  return value;
}

/** Plain text from outside (names, reasons, summaries): redacted and escaped for mrkdwn. */
function safe(text: string): string {
  return escapeMrkdwn(redact(text));
}

export class ThreadReporter {
  readonly channel: string;
  readonly rootTs: string;
  private current: RootState;
  private readonly client: WebClient;
  private readonly pacer: ChannelPacer;
  private readonly log: Logger | undefined;
  private readonly onApiError: ApiErrorHook | undefined;
  /** Incremented by every setRoot; compared with what the last edit sent. */
  private version = 0;
  private sentVersion = 0;
  private rootEdit: Promise<void> | undefined;
  private lastReply: Promise<void> = Promise.resolve();
  private delivered = 0;
  private failed = 0;

  constructor(options: ThreadReporterOptions) {
    this.client = options.client;
    this.pacer = options.pacer;
    this.channel = options.channel;
    this.rootTs = options.rootTs;
    this.current = { ...options.state };
    this.log = options.logger?.child({ component: 'thread-reporter', operationId: options.state.operationId });
    this.onApiError = options.onApiError;
  }

  /** The root state as last set (what the root shows once edits are delivered). */
  get state(): Readonly<RootState> { return this.current; }

  /** Changes the root; the edit is coalesced and delivered in the background. */
  setRoot(patch: Partial<RootState>): void {
    this.current = { ...this.current, ...patch };
    this.version += 1;
    this.scheduleRootEdit();
  }

  /**
   * A reply in the thread (`text` is mrkdwn; with `blocks` it is the notification fallback).
   * Every string is passed through redact() on the way out. Resolves once delivered (or given
   * up on); never rejects.
   */
  reply(text: string, opts: { blocks?: Block[] } = {}): Promise<void> {
    const args = {
      channel: this.channel,
      thread_ts: this.rootTs,
      text: fallbackText(redact(text)),
      ...(opts.blocks === undefined ? {} : { blocks: redactStrings(opts.blocks) }),
      unfurl_links: false,
      unfurl_media: false,
    };
    const delivery = this.pacer.run(this.channel, () => this.call('chat.postMessage', () => this.client.chat.postMessage(args)));
    this.lastReply = delivery;
    return delivery;
  }

  stepStarted(index: number, total: number, name: string): Promise<void> {
    this.setRoot({ phase: 'running', step: { index, total, name }, stepsDone: index - 1 });
    return this.reply(`:arrow_forward: *Step ${index}/${total}* ${safe(name)}: started`);
  }

  stepSucceeded(index: number, total: number, name: string, durationMs: number, detail?: string): Promise<void> {
    this.setRoot({ phase: 'running', step: { index, total, name }, stepsDone: index });
    const more = detail === undefined || detail.trim() === '' ? '' : `\n${safe(detail)}`;
    return this.reply(`:white_check_mark: *Step ${index}/${total}* ${safe(name)}: done in ${formatDuration(durationMs)}${more}`);
  }

  stepFailed(index: number, total: number, name: string, durationMs: number, reason: string): Promise<void> {
    this.setRoot({ step: { index, total, name }, stepsDone: index - 1 });
    return this.reply(`:x: *Step ${index}/${total}* ${safe(name)}: failed after ${formatDuration(durationMs)}: ${safe(reason)}`);
  }

  /**
   * The last reply: success with the summary, or failure/cancellation with the reason and, for a
   * failure, the redacted tail of the failing command's output in a code block. Also moves the
   * root to its final phase.
   */
  finish(outcome: FinishOutcome): Promise<void> {
    const body = finalReply(outcome);
    if ('cancelled' in outcome) this.setRoot({ phase: 'cancelled', reason: outcome.reason });
    else if (outcome.ok) this.setRoot({ phase: 'succeeded', ...(this.current.step === undefined ? {} : { stepsDone: this.current.step.total }) });
    else this.setRoot({ phase: 'failed', reason: outcome.reason });
    return this.reply(body.text, { blocks: body.blocks });
  }

  /**
   * Waits until everything queued so far (replies and the latest root state) was delivered or
   * given up on; reports the totals. Never rejects.
   */
  async flush(): Promise<DeliveryReport> {
    for (;;) {
      const reply = this.lastReply;
      const edit = this.rootEdit;
      await reply;
      if (edit !== undefined) await edit;
      if (reply === this.lastReply && this.rootEdit === undefined) break;
    }
    return { delivered: this.delivered, failed: this.failed };
  }

  /** Deliveries that failed for good so far. */
  get failedDeliveries(): number { return this.failed; }

  private scheduleRootEdit(): void {
    if (this.rootEdit !== undefined) return; // the queued or running edit will pick it up
    const edit = async (): Promise<void> => {
      const version = this.version;
      const snapshot = this.current;
      // Rendering happens inside call(), so even a rendering bug is counted, not thrown.
      await this.call('chat.update', () => {
        const body = renderRoot(snapshot);
        return this.client.chat.update({ channel: this.channel, ts: this.rootTs, text: body.text, blocks: body.blocks });
      });
      this.sentVersion = Math.max(this.sentVersion, version);
    };
    this.rootEdit = this.pacer.run(this.channel, edit, 'edit').finally(() => {
      this.rootEdit = undefined;
      // Changed while the edit ran (it sent an older snapshot): send the newest one.
      if (this.sentVersion < this.version) this.scheduleRootEdit();
    });
  }

  /** Runs one Web API call; counts, logs and swallows a final failure. */
  private async call(method: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
      this.delivered += 1;
    } catch (err) {
      this.failed += 1;
      this.log?.warn({ method, channel: this.channel, slackError: errorCode(err) }, 'slack write failed');
      try { this.onApiError?.(method, err); } catch { /* a metrics hook must not break delivery */ }
    }
  }
}

/** The final reply's body (exported for tests and for callers that post it elsewhere). */
export function finalReply(outcome: FinishOutcome): MessageBody {
  if ('cancelled' in outcome) {
    const text = `:octagonal_sign: *Cancelled*: ${safe(outcome.reason)}`;
    return { text, blocks: [section(text)] };
  }
  if (outcome.ok) {
    const text = `:white_check_mark: *Succeeded*: ${safe(outcome.summary)}`;
    return { text, blocks: [section(text)] };
  }
  const text = `:x: *Failed*: ${safe(outcome.reason)}`;
  const blocks: Block[] = [section(text)];
  if (outcome.outputTail !== undefined && outcome.outputTail.trim() !== '') {
    const tailText = tail(redact(outcome.outputTail), OUTPUT_TAIL_LINES, OUTPUT_TAIL_CHARS);
    blocks.push(section(`*Output (last lines)*\n${codeBlock(tailText, 2900)}`));
  }
  return { text, blocks };
}
