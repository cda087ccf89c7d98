/**
 * What the alert buttons do (the Slack listeners in adapters/slack/listeners/alert-actions.ts parse
 * the payload and answer ephemerally with the text returned here).
 *
 * - Acknowledge (`runner_ack_alert`, value: the alert key = instance id): the first click is
 *   recorded (who, when) and the root is re-rendered by the flusher, the one writer of roots; later
 *   clicks are told who acknowledged. Where the environment lists operators, only they may.
 * - Retry job (`runner_retry_job`, value `<projectId>:<jobId>`): only a job an alert showed (it was
 *   registered then), only by an operator of that alert's environment, and once (SET NX), through
 *   `POST /projects/:id/jobs/:job_id/retry` with the bot's token (needs the `api` scope).
 */
import type { Logger } from 'pino';
import type { GitlabClient } from '../adapters/gitlab/client';
import { gitlabCall } from '../adapters/gitlab/runners';
import { escapeMrkdwn } from '../adapters/slack/blocks';
import type { FleetConfig } from '../config/fleet-schema';
import { userMessage } from '../domain/errors';
import { canRequest } from '../domain/policy';
import { retriedJobSchema } from './affected-jobs';
import type { AlertStore } from './alert-store';

export interface ButtonDeps {
  store: AlertStore;
  fleet: () => FleetConfig;
  gitlab: GitlabClient | undefined;
  log: Logger;
  now: () => number;
  /** Makes the flusher look at the due set now. */
  kick: () => void;
}

export async function acknowledgeAlert(deps: ButtonDeps, input: { instanceId: string; userId: string }): Promise<string> {
  const s = await deps.store.loadInstance(input.instanceId);
  if (s === undefined) return 'That alert is gone (alerts are kept for two days); nothing was recorded.';
  const env = deps.fleet().environments[s.envName];
  if (env !== undefined && !canRequest(env, input.userId)) {
    return `Only operators of *${escapeMrkdwn(s.envName)}* can acknowledge its alerts.`;
  }
  const ack = await deps.store.acknowledge(input.instanceId, input.userId, deps.now());
  if (ack === undefined) return 'That alert is gone; nothing was recorded.';
  if (!ack.first) return `This alert was already acknowledged by <@${escapeMrkdwn(ack.by)}>.`;
  deps.kick();
  deps.log.info({ instanceId: input.instanceId, userId: input.userId }, 'Spot alert acknowledged');
  return `Acknowledged the alert for \`${escapeMrkdwn(input.instanceId)}\`; the alert now says so.`;
}

export async function retryAlertJob(deps: ButtonDeps, input: { projectId: number; jobId: number; userId: string }): Promise<string> {
  const { projectId, jobId } = input;
  const alert = await deps.store.jobAlert(projectId, jobId);
  if (alert === undefined) return `Job #${jobId} is not listed in a current alert; retry it in GitLab.`;
  const env = deps.fleet().environments[alert.envName];
  if (env !== undefined && !canRequest(env, input.userId)) return `Only operators of *${escapeMrkdwn(alert.envName)}* can retry its jobs from here.`;
  const gitlab = deps.gitlab;
  if (gitlab === undefined) return 'GITLAB_TOKEN is not set, so runner-ops cannot retry jobs; retry it in GitLab.';
  const earlier = await deps.store.claimRetry(projectId, jobId, input.userId);
  if (earlier !== undefined) return `Job #${jobId} was already retried from this alert by <@${escapeMrkdwn(earlier)}>.`;
  try {
    const job = await gitlabCall(
      () => gitlab.Jobs.retry(projectId, jobId),
      (b) => retriedJobSchema.parse(b),
      { action: `retry job ${jobId} of project ${projectId}`, scopes: ['api'], notFound: `job ${jobId} of project ${projectId} does not exist, or the token cannot see it` },
    );
    deps.log.info({ projectId, jobId, newJobId: job.id, userId: input.userId }, 'job retried from a Spot alert');
    const link = job.web_url !== undefined && job.web_url !== null && /^https?:\/\/[^\s<>|]+$/.test(job.web_url) ? ` <${job.web_url}|#${job.id}>` : ` #${job.id}`;
    return `:repeat: Retried job #${jobId}: the new job is${link}.`;
  } catch (err) {
    await deps.store.releaseRetry(projectId, jobId).catch(() => undefined);
    deps.log.warn({ projectId, jobId, err: userMessage(err) }, 'job retry failed');
    return `:warning: ${escapeMrkdwn(userMessage(err))}`;
  }
}
