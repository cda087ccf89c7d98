/** Slack request signing and the `/runner` form body, as Slack sends them (bench copy; bench/ must not import test/). */
import { createHmac } from 'node:crypto';

export function sign(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export function commandBody(input: { text: string; userId: string; channelId: string; responseUrl: string }): string {
  return new URLSearchParams({
    token: 'legacy-verification-token',
    team_id: 'T0FAKE', team_domain: 'fake', channel_id: input.channelId, channel_name: 'ops',
    user_id: input.userId, user_name: input.userId.toLowerCase(), command: '/runner', text: input.text,
    api_app_id: 'A0APP', response_url: input.responseUrl, trigger_id: '1.2.3',
  }).toString();
}
