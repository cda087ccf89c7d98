/**
 * Interactive buttons. Every payload is acked first, then parsed with zod before anything else:
 * a payload that does not parse (or names something that is not an operation id) is refused
 * without side effects.
 */
import type { App, BlockAction } from '@slack/bolt';
import type { Logger } from 'pino';
import { z } from 'zod';
import { userMessage } from '../../../domain/errors';
import { isOperationId } from '../../../domain/operation-id';
import type { OperationService } from '../../../operations/service';
import { REMOVE_STALE_ACTION_ID } from '../../../operations/status/render';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../root-message';
import { failureAnswer } from './command';
import { ephemeral, registerEnvironmentButton } from './environment-button';

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

  // Starts the stale-runner clean-up under the environment's normal rules.
  registerEnvironmentButton(app, REMOVE_STALE_ACTION_ID, 'remove-stale', deps);

  for (const id of NOT_YET) {
    app.action<BlockAction>(id, async ({ ack, respond }) => {
      await ack();
      await ephemeral(respond, 'This button is not available in this version of runner-ops.');
    });
  }
}
