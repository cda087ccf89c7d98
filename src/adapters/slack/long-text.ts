/**
 * Posting text that may not fit in a message (plans, scripts, config.toml, command output).
 * Up to INLINE_LIMIT characters go inline as a code block; longer content is uploaded as a file
 * (files.uploadV2, needs the `files:write` scope) into the channel or thread. If the upload
 * fails, the end of the content is posted inline with a note, so the reader gets something.
 *
 * The content is redacted (domain/redact) before it leaves: secrets never reach Slack.
 * Not for ephemeral answers: Slack files cannot be ephemeral.
 */
import type { WebClient } from '@slack/web-api';
import { redact, tail } from '../../domain/redact';
import { codeBlock, escapeMrkdwn, fallbackText, section, MAX_SECTION_TEXT, type Block } from './blocks';

/** Content up to this many characters is posted inline. */
export const INLINE_LIMIT = 2900;

export interface LongTextInput {
  channel: string;
  threadTs?: string;
  /** Plain text, escaped here. */
  title: string;
  content: string;
  /** e.g. `config.toml`, `manager-bootstrap.sh`. */
  filename: string;
}

export type LongTextMode = 'inline' | 'file' | 'inline-truncated';

export interface LongTextResult {
  mode: LongTextMode;
  /** Why the upload fell back to inline (the Slack error code), when it did. */
  uploadError?: string;
}

function heading(title: string, filename: string): string {
  return `*${escapeMrkdwn(title)}* (\`${escapeMrkdwn(filename)}\`)`;
}

async function postInline(client: WebClient, input: LongTextInput, text: string, blocks: Block[]): Promise<void> {
  await client.chat.postMessage({
    channel: input.channel,
    ...(input.threadTs === undefined ? {} : { thread_ts: input.threadTs }),
    text: fallbackText(text),
    blocks,
    unfurl_links: false,
    unfurl_media: false,
  });
}

/**
 * Posts `content` inline or as a file. Rejects only when even the inline fallback fails (the
 * caller decides whether that matters).
 */
export async function postLongText(client: WebClient, input: LongTextInput): Promise<LongTextResult> {
  const content = redact(input.content);
  const head = heading(input.title, input.filename);
  const inline = codeBlock(content, Number.MAX_SAFE_INTEGER);
  if (content.length <= INLINE_LIMIT && inline.length <= MAX_SECTION_TEXT) {
    await postInline(client, input, `${input.title} (${input.filename})`, [section(head), section(inline)]);
    return { mode: 'inline' };
  }
  try {
    const file = { filename: input.filename, title: input.title, content };
    if (input.threadTs === undefined) await client.files.uploadV2({ channel_id: input.channel, ...file });
    else await client.files.uploadV2({ channel_id: input.channel, thread_ts: input.threadTs, ...file });
    return { mode: 'file' };
  } catch (err) {
    const code = (err as { data?: { error?: unknown } }).data?.error;
    const uploadError = typeof code === 'string' ? code : err instanceof Error ? err.message.slice(0, 200) : 'unknown';
    const lines = content.split('\n').length;
    const shown = tail(content, 60, 2400);
    const note = `_The file upload failed (${escapeMrkdwn(uploadError)}); showing the end of ${lines} lines._`;
    await postInline(client, input, `${input.title} (${input.filename}), truncated`, [
      section(`${head}\n${note}`),
      section(codeBlock(shown, MAX_SECTION_TEXT)),
    ]);
    return { mode: 'inline-truncated', uploadError: redact(uploadError) };
  }
}
