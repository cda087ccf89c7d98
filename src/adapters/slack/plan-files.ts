/**
 * A dry run's long parts as files. Slack files cannot be ephemeral, so the closest thing is the
 * requester's direct-message channel with the bot (`conversations.open`, scope `im:write`); the
 * files go there with `files.uploadV2` (scope `files:write`): files.getUploadURLExternal per
 * file, a POST of the bytes to the returned URL, one files.completeUploadExternal sharing them in
 * one message. Every uploaded content is redacted first (plans hold no secrets; this is the last
 * line of defence, CONTRACT §6).
 *
 * Called by the command listener after the ack, never on the ack path. If anything fails, the
 * answers fall back to the parts inline (cut after the response_url's five uses) and say why.
 */
import type { WebClient } from '@slack/web-api';
import { redact } from '../../domain/redact';
import { type Answer, type AnswerFiles, detailAnswers } from '../../operations/service';
import { escapeMrkdwn, section } from './blocks';

/** Files shared in one message (Slack shows at most ten attachments per message). */
const FILES_PER_MESSAGE = 10;

export type PlanUploadResult =
  | { ok: true; channel: string; count: number }
  | { ok: false; reason: string };

/** Why a Web API call failed, for a person: the Slack error code (and the scope it needs). */
export function uploadFailureReason(err: unknown): string {
  const data = (err as { data?: { error?: unknown; needed?: unknown } }).data;
  if (typeof data?.error === 'string') {
    return typeof data.needed === 'string' ? `${data.error}, needs ${data.needed}` : data.error;
  }
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  return redact(`${typeof code === 'string' ? `${code}: ` : ''}${message}`).slice(0, 200);
}

/** Uploads `files` into the DM between `userId` and the bot. Never rejects. */
export async function uploadPlanFiles(client: WebClient, userId: string, files: AnswerFiles): Promise<PlanUploadResult> {
  try {
    const opened = await client.conversations.open({ users: userId });
    const channel = opened.channel?.id;
    if (channel === undefined) return { ok: false, reason: 'conversations.open answered no channel' };
    for (let i = 0; i < files.details.length; i += FILES_PER_MESSAGE) {
      const group = files.details.slice(i, i + FILES_PER_MESSAGE);
      await client.files.uploadV2({
        channel_id: channel,
        ...(i === 0 ? { initial_comment: files.comment } : {}),
        file_uploads: group.map((d) => ({ content: redact(d.content), filename: d.filename, title: d.title })),
      });
    }
    return { ok: true, channel, count: files.details.length };
  } catch (err) {
    return { ok: false, reason: uploadFailureReason(err) };
  }
}

const parts = (n: number): string => (n === 1 ? '1 part' : `${n} parts`);

/**
 * The answers to send once the upload of `answer.files` has been tried: on success the answer
 * says where the files are; on failure it says why (escaped) and the long parts follow inline,
 * after the short ones, so that the most whole parts survive the cut after five messages.
 */
export function answersAfterUpload(answers: readonly Answer[], result: PlanUploadResult, botUserId?: string): Answer[] {
  const index = answers.findIndex((a) => a.files !== undefined);
  const withFiles = answers[index];
  if (withFiles?.files === undefined) return [...answers];
  const { files, ...rest } = withFiles;
  const n = files.details.length;
  const where = botUserId === undefined ? 'the bot' : `<@${botUserId}>`;
  const note = result.ok
    ? `:page_facing_up: ${parts(n)} too long for a message ${n === 1 ? 'was' : 'were'} sent as ${n === 1 ? 'a file' : 'files'} to your direct messages with ${where}.`
    : `:warning: Could not upload ${parts(n)} as ${n === 1 ? 'a file' : 'files'} (${escapeMrkdwn(result.reason)}), so ${n === 1 ? 'it follows' : 'they follow'} inline below and may be cut off; \`npx runner-ops render\` writes every artifact. Uploading needs the bot scopes \`files:write\` and \`im:write\`.`;
  const annotated: Answer = { ...rest, blocks: [...(rest.blocks ?? [section(rest.text)]), section(note)] };
  const out = [...answers];
  out[index] = annotated;
  return result.ok ? out : [...out, ...files.details.flatMap(detailAnswers)];
}
