/**
 * `/runner status <env>`: gathers every source at once, each bounded by one shared deadline
 * (default STATUS_TIMEOUT_MS), so the answer comes within a few seconds even when GitLab or AWS
 * hangs. A failed source is named in the report; it never fails the whole status.
 */
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { isRunnerOpsError, userMessage } from '../../domain/errors';
import type { AwsClients } from '../../adapters/aws/clients';
import { countWorkers, findManager } from '../../adapters/aws/ec2-instances';
import { getSsmInstanceInfo, type SsmInstanceInfo } from '../../adapters/aws/ssm-ping';
import type { GitlabClient } from '../../adapters/gitlab/client';
import { listEnvironmentRunners, type Runner } from '../../adapters/gitlab/runners';
import { withDeadline } from '../../domain/deadline';
import type { OpenOperationSummary, RunnerReport, SourceResult, SpotEventSummary, StatusReport } from './types';

export const STATUS_TIMEOUT_MS = 5_000;
export const TOKEN_EXPIRY_WARNING_DAYS = 7;
const DAY_MS = 24 * 3600 * 1000;

export interface StatusDeps {
  aws: AwsClients;
  /** Undefined when GITLAB_TOKEN is not set: the GitLab part is skipped, not failed. */
  gitlab?: GitlabClient;
  now: () => Date;
  openOperations: () => Promise<OpenOperationSummary[]>;
  recentSpotEvents: () => Promise<SpotEventSummary[]>;
  /** Deadline for the whole report, from the start. */
  timeoutMs?: number;
}

async function settle<T>(label: string, deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<SourceResult<T>> {
  try {
    return { state: 'ok', value: await withDeadline(label, deadline, fn) };
  } catch (err) {
    if (isRunnerOpsError(err)) return { state: 'failed', code: err.code, message: err.message, cause: err };
    return { state: 'failed', code: 'internal', message: `${label}: ${userMessage(err)}`, cause: err };
  }
}

export function isStale(runner: Runner, now: Date, staleAfterDays: number): boolean {
  if (runner.status === 'stale') return true;
  if (runner.status === 'online') return false;
  const since = runner.contactedAt ?? runner.createdAt;
  return since !== undefined && now.getTime() - since.getTime() > staleAfterDays * DAY_MS;
}

/**
 * Whether the stale-runner clean-up (`remove-stale`, the `runner_remove_stale` button) may delete
 * this runner: stale by `isStale`, never one GitLab reports online, never the current manager's
 * own runner (that one is repaired with `reregister`, not deleted).
 */
export function isRemovableStale(runner: Runner, now: Date, staleAfterDays: number, currentManagerId: string | undefined): boolean {
  if (runner.status === 'online' || !isStale(runner, now, staleAfterDays)) return false;
  return currentManagerId === undefined || runner.managerId !== currentManagerId;
}

function assessRunner(runner: Runner, now: Date, staleAfterDays: number, managerId: string | undefined): RunnerReport {
  const expiresInDays = runner.tokenExpiresAt === undefined ? undefined : Math.floor((runner.tokenExpiresAt.getTime() - now.getTime()) / DAY_MS);
  const expiresInMs = runner.tokenExpiresAt === undefined ? undefined : runner.tokenExpiresAt.getTime() - now.getTime();
  return {
    runner,
    stale: isStale(runner, now, staleAfterDays),
    removable: isRemovableStale(runner, now, staleAfterDays, managerId),
    tokenExpiresInDays: expiresInDays,
    tokenExpiringSoon: expiresInMs !== undefined && expiresInMs <= TOKEN_EXPIRY_WARNING_DAYS * DAY_MS,
    onOtherManager: managerId !== undefined && runner.managerId !== undefined && runner.managerId !== managerId,
  };
}

function warningsFor(envName: string, r: Omit<StatusReport, 'warnings'>): string[] {
  const w: string[] = [];
  const manager = r.manager.state === 'ok' ? r.manager.value : undefined;
  if (r.manager.state === 'ok' && manager === undefined) {
    w.push(`No manager instance is running: \`/runner bootstrap ${envName}\` launches one.`);
  }
  if (manager !== undefined && r.ssm.state === 'ok' && r.ssm.value.pingStatus !== 'Online') {
    w.push(r.ssm.value.pingStatus === 'unknown'
      ? `Manager ${manager.id} is not registered with SSM: check its instance profile (AmazonSSMManagedInstanceCore) and the SSM agent.`
      : `Manager ${manager.id}'s SSM agent is ${r.ssm.value.pingStatus}: runner-ops cannot reach it.`);
  }
  if (r.runners.state === 'ok') {
    const live = r.runners.value.filter((x) => !x.stale);
    if (r.runners.value.length === 0) {
      w.push(`No runner for ${envName} in GitLab: \`/runner reregister ${envName}\` creates one.`);
    } else if (!live.some((x) => x.runner.status === 'online')) {
      w.push(`No runner of ${envName} is online in GitLab.`);
    }
    for (const x of r.runners.value) {
      if (x.tokenExpiringSoon && !x.stale) {
        const when = x.tokenExpiresInDays !== undefined && x.tokenExpiresInDays < 0
          ? 'has expired'
          : `expires in ${x.tokenExpiresInDays ?? 0} day(s)`;
        w.push(`Runner #${x.runner.id}'s token ${when} (${x.runner.tokenExpiresAt?.toISOString() ?? '?'}): \`/runner reregister ${envName}\` replaces it.`);
      }
    }
    const stale = r.runners.value.filter((x) => x.stale);
    if (stale.length > 0) w.push(`${stale.length} stale runner(s) in GitLab: ${stale.map((x) => `#${x.runner.id}`).join(', ')}.`);
    const other = r.runners.value.filter((x) => x.onOtherManager && !x.stale);
    if (manager !== undefined && other.length > 0) {
      w.push(`Runner(s) ${other.map((x) => `#${x.runner.id}`).join(', ')} name another manager than the current one (${manager.id}).`);
    }
  }
  return w;
}

export async function gatherStatus(deps: StatusDeps, envName: string, env: EnvironmentConfig): Promise<StatusReport> {
  const generatedAt = deps.now();
  const deadline = Date.now() + (deps.timeoutMs ?? STATUS_TIMEOUT_MS);
  const { ec2, ssm } = deps.aws;

  const managerP = settle('EC2 (manager)', deadline, (signal) => findManager(ec2, envName, { abortSignal: signal }));
  const ssmP = managerP.then(async (m): Promise<SourceResult<SsmInstanceInfo>> => {
    if (m.state !== 'ok') return { state: 'skipped', reason: 'the manager lookup failed' };
    const manager = m.value;
    if (manager === undefined) return { state: 'skipped', reason: 'no manager' };
    return settle('SSM', deadline, (signal) => getSsmInstanceInfo(ssm, manager.id, { abortSignal: signal }));
  });
  const gitlab = deps.gitlab;
  const runnersP: Promise<SourceResult<Runner[]>> = gitlab === undefined
    ? Promise.resolve({ state: 'skipped', reason: 'GITLAB_TOKEN is not set' })
    : settle('GitLab', deadline, () => listEnvironmentRunners(gitlab, envName, env.gitlab, { timeoutMs: Math.max(1, deadline - Date.now()) }));
  const workersP = settle('EC2 (workers)', deadline, (signal) => countWorkers(ec2, envName, { abortSignal: signal }));
  const operationsP = settle('Operations', deadline, () => deps.openOperations());
  const spotP = settle('Spot events', deadline, () => deps.recentSpotEvents());

  const [manager, ssmInfo, runners, workers, operations, spotEvents] = await Promise.all([managerP, ssmP, runnersP, workersP, operationsP, spotP]);
  const managerId = manager.state === 'ok' ? manager.value?.id : undefined;
  const runnerReports: SourceResult<RunnerReport[]> = runners.state === 'ok'
    ? { state: 'ok', value: runners.value.map((r) => assessRunner(r, generatedAt, env.gitlab.staleAfterDays, managerId)) }
    : runners;

  const partial = { environment: envName, region: env.region, generatedAt, manager, ssm: ssmInfo, runners: runnerReports, workers, operations, spotEvents };
  return { ...partial, warnings: warningsFor(envName, partial) };
}
