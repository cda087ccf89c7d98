/**
 * Buttons whose value is an environment name and which start a changing operation there
 * (`runner_remove_stale` → remove-stale, `runner_rotate_manager` → rotate). Acked first, parsed
 * with zod, then handed to the service's button path, which applies the environment's normal
 * rules (operators, approval, thread root, queue) exactly as for a typed request.
 */
import type { App, BlockAction, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { environmentName } from '../../../config/grammar';
import type { ChangingVerb } from '../../../domain/command';
import { userMessage } from '../../../domain/errors';
import type { OperationService } from '../../../operations/service';
import { failureAnswer } from './command';

export const slackUser = z.object({ id: z.string().regex(/^[UW][A-Z0-9]+$/) });

export async function ephemeral(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text });
}

export function registerEnvironmentButton(app: App, actionId: string, verb: ChangingVerb, deps: { service: OperationService; log: Logger }): void {
  const payload = z.object({
    user: slackUser,
    actions: z.array(z.object({ action_id: z.literal(actionId), value: environmentName })).min(1),
    channel: z.object({ id: z.string().min(1) }).optional(),
    container: z.object({ channel_id: z.string().min(1).optional() }).optional(),
  });
  app.action<BlockAction>(actionId, async ({ ack, body, respond }) => {
    await ack();
    const parsed = payload.safeParse(body);
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    const channelId = parsed.success ? parsed.data.channel?.id ?? parsed.data.container?.channel_id : undefined;
    if (!parsed.success || action === undefined || channelId === undefined) {
      await ephemeral(respond, 'That button does not name an environment; nothing was requested.');
      return;
    }
    try {
      const answers = await deps.service.requestFromButton({ userId: parsed.data.user.id, channelId, verb, env: action.value });
      for (const answer of answers) await ephemeral(respond, answer.text);
    } catch (err) {
      deps.log.warn({ err: userMessage(err), env: action.value, verb }, 'request from a button failed');
      await ephemeral(respond, failureAnswer(err).text);
    }
  });
}
