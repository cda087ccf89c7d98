/**
 * The affected-jobs reply of an alert thread (due member `j:<instanceId>`), once per instance.
 * The lookup is bounded (jobsTimeoutMs); its jobs are registered so that a `runner_retry_job`
 * click can be checked against the alert that showed the job.
 */
import { findAffectedJobs, type JobsOutcome } from './affected-jobs';
import type { AlertContext } from './context';
import { renderJobsReply } from './render-jobs';

export async function workJobs(ctx: AlertContext, instanceId: string): Promise<void> {
  const member = `j:${instanceId}`;
  const s = await ctx.store.loadInstance(instanceId);
  if (s === undefined || s.threadTs === undefined || s.jobs !== undefined) { await ctx.store.remove(member); return; }
  const env = ctx.fleet().environments[s.envName];
  const outcome: JobsOutcome = env === undefined
    ? { state: 'unavailable', reason: `environment ${s.envName} is not in the fleet file` }
    : await findAffectedJobs(ctx.gitlab, s.envName, env, { instanceId, name: s.name, privateIp: s.privateIp, role: s.role }, { timeoutMs: ctx.timings.jobsTimeoutMs });
  try {
    await ctx.slack.post(s.channel, renderJobsReply(outcome, s.role), s.threadTs);
  } catch {
    await ctx.store.schedule(member, ctx.now() + ctx.timings.retryMs, 'SET');
    return;
  }
  if (outcome.state === 'ok') await ctx.store.registerJobs(outcome.jobs, s.envName, instanceId);
  await ctx.store.updateInstance(instanceId, { jobs: JSON.stringify(outcome) });
  await ctx.store.remove(member);
  ctx.log.info({ instanceId, state: outcome.state, jobs: outcome.state === 'ok' ? outcome.jobs.length : 0 }, 'affected jobs reported');
}
