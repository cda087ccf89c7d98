/**
 * Interactive buttons. Every payload is acked first, then parsed with zod before anything else:
 * a payload that does not parse (or names something that is not an operation id) is refused
 * without side effects.
 */
import type { App, BlockAction, RespondFn } from '@slack/bolt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { environmentName } from '../../../config/grammar';
import { userMessage } from '../../../domain/errors';
import { isOperationId } from '../../../domain/operation-id';
import type { OperationService } from '../../../operations/service';
import { REMOVE_STALE_ACTION_ID } from '../../../operations/status/render';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../root-message';
import { failureAnswer } from './command';

const APPROVE_ACTION = APPROVE_ACTION_ID;
const REJECT_ACTION = REJECT_ACTION_ID;
/** Buttons whose capabilities arrive with later issues: acknowledged, answered honestly. */
const NOT_YET = [] as const;

const decisionPayload = z.object({
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]+$/) }),
  actions: z.array(z.object({ action_id: z.enum([APPROVE_ACTION, REJECT_ACTION]), value: z.string() })).min(1),
  container: z.object({ message_ts: z.string().optional() }).optional(),
  message: z.object({ ts: z.string() }).optional(),
});

/** `runner_remove_stale` (under a status answer): the value is the environment name. */
const removeStalePayload = z.object({
  user: z.object({ id: z.string().regex(/^[UW][A-Z0-9]+$/) }),
  actions: z.array(z.object({ action_id: z.literal(REMOVE_STALE_ACTION_ID), value: environmentName })).min(1),
  channel: z.object({ id: z.string().min(1) }).optional(),
  container: z.object({ channel_id: z.string().min(1).optional() }).optional(),
});

async function ephemeral(respond: RespondFn, text: string): Promise<void> {
  await respond({ response_type: 'ephemeral', replace_original: false, text });
}

export function registerActions(app: App, deps: { service: OperationService; log: Logger }): void {
  app.action<BlockAction>(new RegExp(`^(${APPROVE_ACTION}|${REJECT_ACTION})$`), async ({ ack, body, respond }) => {
    await ack();
    const parsed = decisionPayload.safeParse(body);
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    if (!parsed.success || action === undefined || !isOperationId(action.value)) {
      await ephemeral(respond, 'That button does not name an operation; nothing was decided.');
      return;
    }
    const messageTs = parsed.data.message?.ts ?? parsed.data.container?.message_ts;
    try {
      const answer = await deps.service.decide({
        userId: parsed.data.user.id,
        operationId: action.value,
        decision: action.action_id === APPROVE_ACTION ? 'approve' : 'reject',
        ...(messageTs === undefined ? {} : { messageTs }),
      });
      if (answer !== undefined) await ephemeral(respond, answer.text);
    } catch (err) {
      deps.log.warn({ err: userMessage(err), operationId: action.value }, 'decision failed');
      await ephemeral(respond, failureAnswer(err).text);
    }
  });

  // Starts the stale-runner clean-up under the environment's normal rules (operators, approval,
  // thread root, queue): the service applies them exactly as for a typed request.
  app.action<BlockAction>(REMOVE_STALE_ACTION_ID, async ({ ack, body, respond }) => {
    await ack();
    const parsed = removeStalePayload.safeParse(body);
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    const channelId = parsed.success ? parsed.data.channel?.id ?? parsed.data.container?.channel_id : undefined;
    if (!parsed.success || action === undefined || channelId === undefined) {
      await ephemeral(respond, 'That button does not name an environment; nothing was requested.');
      return;
    }
    try {
      const answers = await deps.service.requestFromButton({ userId: parsed.data.user.id, channelId, verb: 'remove-stale', env: action.value });
      for (const answer of answers) await ephemeral(respond, answer.text);
    } catch (err) {
      deps.log.warn({ err: userMessage(err), env: action.value }, 'stale-runner clean-up request failed');
      await ephemeral(respond, failureAnswer(err).text);
    }
  });

  for (const id of NOT_YET) {
    app.action<BlockAction>(id, async ({ ack, respond }) => {
      await ack();
      await ephemeral(respond, 'This button is not available in this version of runner-ops.');
    });
  }
}
