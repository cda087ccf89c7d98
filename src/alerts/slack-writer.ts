/**
 * Alert writes to Slack: new messages and replies in the channel's `post` lane of the shared
 * ChannelPacer (about one per second per channel, shared with operation threads), root edits in
 * its `edit` lane. The WebClient's bounded retry policy applies (web-client.ts). A failure is
 * counted and rethrown: the caller keeps the work due and tries again later, so nothing recorded
 * is lost to a Slack outage.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { MessageBody } from '../adapters/slack/blocks';
import type { ChannelPacer } from '../adapters/slack/channel-pacer';
import { redact } from '../domain/redact';

export class SlackWriter {
  constructor(
    private readonly client: WebClient,
    private readonly pacer: ChannelPacer,
    private readonly log: Logger,
    private readonly onApiError?: (method: string, err: unknown) => void,
  ) {}

  /** A new message (no `threadTs`) or a reply; returns its ts. */
  async post(channel: string, body: MessageBody, threadTs?: string): Promise<string> {
    const res = await this.call('chat.postMessage', channel, () => this.pacer.run(channel, () => this.client.chat.postMessage({
      channel, text: redact(body.text), unfurl_links: false, unfurl_media: false,
      ...(body.blocks.length === 0 ? {} : { blocks: body.blocks }),
      ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
    })));
    if (typeof res.ts !== 'string') throw new Error('chat.postMessage returned no ts');
    return res.ts;
  }

  /** Replaces a message; `blocks` are always sent, so buttons that are gone disappear. */
  async update(channel: string, ts: string, body: MessageBody): Promise<void> {
    await this.call('chat.update', channel, () => this.pacer.run(channel, () => this.client.chat.update({ channel, ts, text: redact(body.text), blocks: body.blocks }), 'edit'));
  }

  private async call<T>(method: string, channel: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const code = typeof err === 'object' && err !== null ? (err as { data?: { error?: unknown } }).data?.error : undefined;
      this.log.warn({ method, channel, slackError: typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown' }, 'alert: slack write failed');
      try { this.onApiError?.(method, err); } catch { /* metrics must not break delivery */ }
      throw err;
    }
  }
}
