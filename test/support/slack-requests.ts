/** Signed Slack requests against the bot's HTTP endpoint, as Slack sends them. */
import { createHmac } from 'node:crypto';

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SendOptions { secret: string; timestamp?: number; signature?: string }
export interface HttpAnswer { status: number; body: string; json?: unknown }

export async function postSigned(url: string, body: string, opts: SendOptions): Promise<HttpAnswer> {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': opts.signature ?? sign(opts.secret, ts, body),
    },
    body,
  });
  const text = await res.text();
  let json: unknown;
  try { json = text === '' ? undefined : JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, body: text, json };
}

export function commandBody(input: { text: string; userId: string; channelId?: string; responseUrl: string }): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0FAKE', team_domain: 'fake', channel_id: input.channelId ?? 'C0CMD', channel_name: 'ops',
    user_id: input.userId, user_name: input.userId.toLowerCase(), command: '/runner', text: input.text,
    api_app_id: 'A0APP', response_url: input.responseUrl, trigger_id: '1.2.3',
  }).toString();
}

export interface ActionInput { actionId: string; value: string; userId: string; channelId: string; messageTs: string; responseUrl: string }

/** A form body carrying `payload` as Slack sends interactive payloads (any value, for tampering). */
export function payloadBody(payload: unknown): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function actionBody(input: ActionInput): string {
  return payloadBody(actionPayload(input));
}

/** The block_actions payload of one button click, as an object (for tests that alter it). */
export function actionPayload(input: ActionInput): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: 'T0FAKE', domain: 'fake' },
    user: { id: input.userId, username: input.userId.toLowerCase(), team_id: 'T0FAKE' },
    api_app_id: 'A0APP',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: input.messageTs, channel_id: input.channelId, is_ephemeral: false },
    trigger_id: '1.2.3',
    channel: { id: input.channelId, name: 'ops' },
    message: { type: 'message', ts: input.messageTs, text: 'approval request' },
    response_url: input.responseUrl,
    actions: [{ action_id: input.actionId, block_id: 'approval', value: input.value, type: 'button', action_ts: String(Date.now() / 1000) }],
  };
}
