/**
 * The Block Kit subset runner-ops sends, as plain TypeScript types (structurally compatible with
 * @slack/web-api's `blocks` argument), plus the escaping and size limits Slack enforces.
 *
 * Escaping contract: Slack mrkdwn needs `&`, `<` and `>` escaped (`<…>` is link/mention syntax).
 * Every builder here takes *mrkdwn* (already escaped) unless its name says otherwise; wrap text
 * from people, AWS, GitLab or command output with `escapeMrkdwn` (or `codeBlock`) first.
 *
 * Limits (api.slack.com/reference/block-kit): 50 blocks per message, 3,000 characters per section
 * text, 150 per header, 75 per button label, 2,000 per button value, 10 context elements.
 */

export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3000;
export const MAX_HEADER_TEXT = 150;
export const MAX_BUTTON_TEXT = 75;
export const MAX_BUTTON_VALUE = 2000;
export const MAX_CONTEXT_ELEMENTS = 10;
/** chat.postMessage truncates `text` beyond 40,000 characters; Slack advises staying under 4,000. */
export const MAX_MESSAGE_TEXT = 4000;

export interface MrkdwnText { type: 'mrkdwn'; text: string; verbatim?: boolean }
export interface PlainText { type: 'plain_text'; text: string; emoji?: boolean }
export type TextObject = MrkdwnText | PlainText;

/** A button's "are you sure?" dialog (title ≤ 100, text ≤ 300, button labels ≤ 30 characters). */
export interface ConfirmDialog {
  title: PlainText;
  text: TextObject;
  confirm: PlainText;
  deny: PlainText;
  style?: 'primary' | 'danger';
}

export interface ButtonElement {
  type: 'button';
  action_id: string;
  text: PlainText;
  value?: string;
  style?: 'primary' | 'danger';
  confirm?: ConfirmDialog;
}

export interface SectionBlock { type: 'section'; block_id?: string; text?: TextObject; fields?: TextObject[] }
export interface ContextBlock { type: 'context'; block_id?: string; elements: TextObject[] }
export interface ActionsBlock { type: 'actions'; block_id?: string; elements: ButtonElement[] }
export interface HeaderBlock { type: 'header'; block_id?: string; text: PlainText }
export interface DividerBlock { type: 'divider'; block_id?: string }

export type Block = SectionBlock | ContextBlock | ActionsBlock | HeaderBlock | DividerBlock;

/** A message body as chat.postMessage / chat.update take it. `text` is the notification fallback. */
export interface MessageBody { text: string; blocks: Block[] }

/** Escapes the three characters Slack mrkdwn requires escaped. Not idempotent (`&` → `&amp;`). */
/** Slack requires `&`, `<` and `>` escaped in mrkdwn; one implementation, in the domain. */
import { escapeMrkdwn } from '../../domain/command';

export { escapeMrkdwn };

/**
 * Cuts `text` to at most `max` characters (UTF-16 units, as Slack counts), ending with `…` when
 * cut, without splitting a surrogate pair, an escape entity (`&amp;`) or a `<…>` token.
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 1) return '…'.slice(0, Math.max(0, max));
  let cut = text.slice(0, max - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  const entity = /&[a-z#0-9]{0,6}$/i.exec(cut);
  if (entity !== null) cut = cut.slice(0, entity.index);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>') && cut.length - open < 200) cut = cut.slice(0, open);
  return `${cut}…`;
}

/** Section text limited to Slack's 3,000 characters. */
export function truncateSection(text: string, max = MAX_SECTION_TEXT): string {
  return truncateText(text, max);
}

/**
 * A mrkdwn code block holding raw `content` (escaped here; triple backticks inside are broken up
 * so they cannot close the block). If the result would exceed `max` characters, the END of the
 * content is kept (for output, the end is what matters) behind a `…` line.
 */
export function codeBlock(content: string, max = MAX_SECTION_TEXT): string {
  const fence = '```';
  const raw = content.replace(/```/g, '`\u200b`\u200b`').replace(/\s+$/, '');
  const budget = max - 2 * fence.length - 2; // the two newlines around the body
  const whole = escapeMrkdwn(raw);
  if (whole.length <= budget) return `${fence}\n${whole.length === 0 ? ' ' : whole}\n${fence}`;
  const avail = budget - 2; // the `…` line
  // Escaping only lengthens text, so shrink the raw tail until its escaped form fits.
  let take = Math.min(raw.length, avail);
  let piece = raw.slice(raw.length - take);
  let escaped = escapeMrkdwn(piece);
  while (escaped.length > avail && take > 0) {
    take -= escaped.length - avail;
    piece = raw.slice(raw.length - Math.max(0, take));
    escaped = escapeMrkdwn(piece);
  }
  const first = piece.charCodeAt(0);
  if (first >= 0xdc00 && first <= 0xdfff) piece = piece.slice(1);
  const nl = piece.indexOf('\n');
  if (nl >= 0 && nl < 200 && nl < piece.length - 1) piece = piece.slice(nl + 1);
  return `${fence}\n…\n${escapeMrkdwn(piece)}\n${fence}`;
}

export function mrkdwn(text: string): MrkdwnText { return { type: 'mrkdwn', text }; }
export function plain(text: string, max?: number): PlainText {
  return { type: 'plain_text', text: max === undefined ? text : truncateText(text, max), emoji: true };
}

export function section(text: string, blockId?: string): SectionBlock {
  const block: SectionBlock = { type: 'section', text: mrkdwn(truncateSection(text)) };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function context(texts: string[], blockId?: string): ContextBlock {
  const block: ContextBlock = {
    type: 'context',
    elements: texts.slice(0, MAX_CONTEXT_ELEMENTS).map((t) => mrkdwn(truncateSection(t))),
  };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function header(text: string, blockId?: string): HeaderBlock {
  const block: HeaderBlock = { type: 'header', text: plain(text, MAX_HEADER_TEXT) };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

export function divider(): DividerBlock { return { type: 'divider' }; }

export function button(actionId: string, label: string, value: string, style?: 'primary' | 'danger'): ButtonElement {
  const b: ButtonElement = { type: 'button', action_id: actionId, text: plain(label, MAX_BUTTON_TEXT), value: value.slice(0, MAX_BUTTON_VALUE) };
  if (style !== undefined) b.style = style;
  return b;
}

/** A confirm dialog; `text` is mrkdwn (escaped by the caller). Every part is cut to Slack's limits. */
export function confirmDialog(title: string, text: string, confirm: string, deny = 'Cancel', style?: 'primary' | 'danger'): ConfirmDialog {
  const d: ConfirmDialog = { title: plain(title, 100), text: mrkdwn(truncateText(text, 300)), confirm: plain(confirm, 30), deny: plain(deny, 30) };
  if (style !== undefined) d.style = style;
  return d;
}

export function actions(elements: ButtonElement[], blockId?: string): ActionsBlock {
  const block: ActionsBlock = { type: 'actions', elements };
  if (blockId !== undefined) block.block_id = blockId;
  return block;
}

/**
 * At most 50 blocks: beyond that, the first 49 are kept and a context block says how many were
 * left out. Callers that must keep a trailing actions block should put it within the first 49.
 */
export function capBlocks(blocks: Block[], max = MAX_BLOCKS): Block[] {
  if (blocks.length <= max) return blocks;
  const kept = blocks.slice(0, max - 1);
  kept.push(context([`_… ${blocks.length - kept.length} more blocks not shown_`]));
  return kept;
}

/** A Slack date token: renders in the reader's time zone, falls back to ISO-8601 UTC. */
export function slackDate(at: Date, format = '{date_short_pretty} {time}'): string {
  const seconds = Math.floor(at.getTime() / 1000);
  return `<!date^${seconds}^${format}|${at.toISOString()}>`;
}

/** The notification text, limited and escaped. */
export function fallbackText(text: string): string {
  return truncateText(text, MAX_MESSAGE_TEXT);
}
