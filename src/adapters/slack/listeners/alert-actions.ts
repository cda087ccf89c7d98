/**
 * The Spot alert buttons (CONTRACT §4). Every payload is acked first, then parsed with zod; a
 * payload that does not parse is refused without side effects. Answers are ephemeral.
 *
 * - `runner_rotate_manager` (value: the environment): starts `rotate` through the service's
 *   button path, under the environment's normal rules (operators, approval, thread, queue).
 * - `runner_ack_alert` (value: the alert key, the instance id): records who acknowledged; the
 *   alert's root is edited to say so.
 * - `runner_retry_job` (value: `<projectId>:<jobId>`): retries the job through the GitLab API with
 *   the bot's token.
 */
import type { App, BlockAction } from '@slack/bolt';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Alerts } from '../../../alerts';
import { ACK_ALERT_ACTION_ID, ROTATE_MANAGER_ACTION_ID } from '../../../alerts/render';
import { RETRY_JOB_ACTION_ID, parseJobValue } from '../../../alerts/render-jobs';
import type { OperationService } from '../../../operations/service';
import { failureAnswer } from './command';
import { ephemeral, registerEnvironmentButton, slackUser as user } from './environment-button';

export { ACK_ALERT_ACTION_ID, RETRY_JOB_ACTION_ID, ROTATE_MANAGER_ACTION_ID };

const ackPayload = z.object({ user, actions: z.array(z.object({ action_id: z.literal(ACK_ALERT_ACTION_ID), value: z.string().regex(/^i-[0-9a-f]{8,17}$/) })).min(1) });
const retryPayload = z.object({ user, actions: z.array(z.object({ action_id: z.literal(RETRY_JOB_ACTION_ID), value: z.string().max(40) })).min(1) });

export interface AlertActionDeps {
  service: OperationService;
  alerts: Pick<Alerts, 'acknowledge' | 'retryJob'>;
  log: Logger;
}

export function registerAlertActions(app: App, deps: AlertActionDeps): void {
  registerEnvironmentButton(app, ROTATE_MANAGER_ACTION_ID, 'rotate', deps);

  app.action<BlockAction>(ACK_ALERT_ACTION_ID, async ({ ack, body, respond }) => {
    await ack();
    const parsed = ackPayload.safeParse(body);
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    if (!parsed.success || action === undefined) {
      await ephemeral(respond, 'That button does not name an alert; nothing was recorded.');
      return;
    }
    try {
      await ephemeral(respond, await deps.alerts.acknowledge({ instanceId: action.value, userId: parsed.data.user.id }));
    } catch (err) {
      deps.log.warn({ err: err instanceof Error ? err.message : String(err), instanceId: action.value }, 'acknowledging an alert failed');
      await ephemeral(respond, failureAnswer(err).text);
    }
  });

  app.action<BlockAction>(RETRY_JOB_ACTION_ID, async ({ ack, body, respond }) => {
    await ack();
    const parsed = retryPayload.safeParse(body);
    const action = parsed.success ? parsed.data.actions[0] : undefined;
    const job = action === undefined ? undefined : parseJobValue(action.value);
    if (!parsed.success || job === undefined) {
      await ephemeral(respond, 'That button does not name a CI job (`<projectId>:<jobId>`); nothing was retried.');
      return;
    }
    try {
      await ephemeral(respond, await deps.alerts.retryJob({ ...job, userId: parsed.data.user.id }));
    } catch (err) {
      deps.log.warn({ err: err instanceof Error ? err.message : String(err), ...job }, 'retrying a job from an alert failed');
      await ephemeral(respond, failureAnswer(err).text);
    }
  });
}
