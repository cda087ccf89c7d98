/**
 * The reaper: removes instances runner-ops (or Docker Machine on its behalf) left behind in one
 * environment. Pure over the EC2 client; the schedule and the Slack post live elsewhere.
 *
 * What it removes (CONTRACT §6):
 * 1. verify workers past their `runner-ops:expires-at` (or, when that tag is missing or malformed,
 *    launched longer ago than `ecr.verifyTtlMinutes`);
 * 2. Docker Machine workers whose `runner-ops:manager` is not an existing manager of the
 *    environment (pending, running, stopping or stopped): nobody will ever remove them otherwise.
 * What it never removes: managers. Extra managers are reported as orphaned for a person (rotate
 * or destroy) to act on. Terminations go through `terminateInstances` without `allowManagers`, which
 * re-reads the tags and refuses managers and instances runner-ops did not create.
 *
 * All of it comes from one DescribeInstances listing, so the workers' managers are judged against
 * the same snapshot. A failed listing throws; later failures are collected in `errors`.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import { EXISTING_STATES, terminateInstances } from '../adapters/aws/ec2-cleanup';
import { compareManagers, listInstances, type Instance, type ManagerInstance } from '../adapters/aws/ec2-instances';
import { TAG } from '../adapters/aws/tags';
import type { EnvironmentConfig } from '../config/fleet-schema';
import { escapeMrkdwn } from '../domain/command';
import { userMessage } from '../domain/errors';

export interface ReapReport {
  envName: string;
  terminated: { id: string; role: 'verify-worker' | 'worker'; why: string }[];
  orphanedManagers: { id: string; why: string }[];
  refused: { id: string; reason: string }[];
  errors: string[];
}

type Candidate = { id: string; role: 'verify-worker' | 'worker'; why: string };

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function parseExpiry(value: string | undefined): Date | undefined {
  if (value === undefined || !ISO_8601.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function judgeVerifyWorker(i: Instance, ttlMinutes: number, now: Date): Candidate | { keep: string } | undefined {
  const expiry = parseExpiry(i.tags.get(TAG.expiresAt));
  if (expiry !== undefined) {
    return expiry.getTime() <= now.getTime() ? { id: i.id, role: 'verify-worker', why: `expired at ${expiry.toISOString()}` } : undefined;
  }
  if (i.launchTime === undefined) return { keep: `verify worker without a valid ${TAG.expiresAt} tag or launch time: left alone` };
  const ageMinutes = (now.getTime() - i.launchTime.getTime()) / 60_000;
  if (ageMinutes <= ttlMinutes) return undefined;
  return { id: i.id, role: 'verify-worker', why: `no valid ${TAG.expiresAt} tag and launched ${Math.floor(ageMinutes)} min ago (ttl ${ttlMinutes} min)` };
}

function asManager(i: Instance): ManagerInstance {
  return { ...i, role: 'manager', generation: i.generation ?? 0 };
}

/**
 * The current manager is the one findManager would name (pending or running, highest generation,
 * then newest); when none runs, the best of the stopped ones stays "current" so a manager stopped
 * for maintenance is not called orphaned. Every other existing manager looks orphaned.
 */
function splitManagers(managers: ManagerInstance[]): { current: ManagerInstance | undefined; orphaned: { id: string; why: string }[] } {
  const sorted = [...managers].sort(compareManagers);
  const current = sorted.find((m) => m.state === 'pending' || m.state === 'running') ?? sorted[0];
  if (current === undefined) return { current, orphaned: [] };
  const orphaned = sorted.filter((m) => m.id !== current.id).map((m) => ({
    id: m.id,
    why: `${m.state}, generation ${m.generation || 'untagged'}; the current manager is ${current.id} (generation ${current.generation || 'untagged'}): rotate or destroy removes managers, the reaper does not`,
  }));
  return { current, orphaned };
}

export async function reapEnvironment(ec2: EC2Client, envName: string, env: EnvironmentConfig, now: Date): Promise<ReapReport> {
  const report: ReapReport = { envName, terminated: [], orphanedManagers: [], refused: [], errors: [] };
  const instances = await listInstances(ec2, { environment: envName, states: EXISTING_STATES });
  // The listing already filters on the environment tag; checking again costs nothing.
  const mine = instances.filter((i) => i.environment === envName);

  const managers = mine.filter((i) => i.role === 'manager').map(asManager);
  const managerIds = new Set(managers.map((m) => m.id));
  report.orphanedManagers.push(...splitManagers(managers).orphaned);

  const candidates: Candidate[] = [];
  for (const i of mine) {
    if (i.role === 'verify-worker') {
      const verdict = judgeVerifyWorker(i, env.ecr.verifyTtlMinutes, now);
      if (verdict === undefined) continue;
      if ('keep' in verdict) report.refused.push({ id: i.id, reason: verdict.keep });
      else candidates.push(verdict);
    } else if (i.role === 'worker') {
      const managerId = i.tags.get(TAG.manager);
      if (managerId === undefined || managerId === '') {
        report.refused.push({ id: i.id, reason: `worker without a ${TAG.manager} tag: cannot tell whose it is, left alone` });
      } else if (!managerIds.has(managerId)) {
        candidates.push({ id: i.id, role: 'worker', why: `its manager ${managerId} is not an existing manager of ${envName}` });
      }
    }
  }

  if (candidates.length > 0) {
    try {
      const result = await terminateInstances(ec2, candidates.map((c) => c.id));
      const done = new Set(result.terminated);
      report.terminated.push(...candidates.filter((c) => done.has(c.id)));
      report.refused.push(...result.refused);
    } catch (err) {
      report.errors.push(`terminating ${candidates.map((c) => c.id).join(', ')}: ${userMessage(err)}`);
    }
  }
  return report;
}

const MAX_LINES_PER_LIST = 15;

function list<T>(items: readonly T[], line: (item: T) => string): string[] {
  const shown = items.slice(0, MAX_LINES_PER_LIST).map((item) => `• ${line(item)}`);
  if (items.length > MAX_LINES_PER_LIST) shown.push(`• … and ${items.length - MAX_LINES_PER_LIST} more`);
  return shown;
}

const ROLE_LABEL = { 'verify-worker': 'verify worker', worker: 'worker' } as const;

/**
 * One mrkdwn message (well under Slack's 4,000-character text advice: lists are capped), or
 * undefined when there is nothing to say. Errors count as something to say: a reaper that cannot
 * terminate is worth a person's attention.
 */
export function reapMessage(report: ReapReport): string | undefined {
  const { terminated, orphanedManagers, refused, errors } = report;
  if (terminated.length + orphanedManagers.length + refused.length + errors.length === 0) return undefined;
  const code = (s: string) => `\`${s.replace(/`/g, "'")}\``;
  const lines = [`:broom: *Reaper* on *${escapeMrkdwn(report.envName)}*`];
  if (terminated.length > 0) {
    lines.push(`Terminated ${terminated.length} instance${terminated.length === 1 ? '' : 's'}:`);
    lines.push(...list(terminated, (t) => `${code(t.id)} (${ROLE_LABEL[t.role]}): ${escapeMrkdwn(t.why)}`));
  }
  if (orphanedManagers.length > 0) {
    lines.push(`:warning: ${orphanedManagers.length} manager${orphanedManagers.length === 1 ? ' looks' : 's look'} orphaned (not removed):`);
    lines.push(...list(orphanedManagers, (m) => `${code(m.id)}: ${escapeMrkdwn(m.why)}`));
  }
  if (refused.length > 0) {
    lines.push(`Left alone:`);
    lines.push(...list(refused, (r) => `${code(r.id)}: ${escapeMrkdwn(r.reason)}`));
  }
  if (errors.length > 0) {
    lines.push(`:x: Errors:`);
    lines.push(...list(errors, (e) => escapeMrkdwn(e.slice(0, 300))));
  }
  return lines.join('\n');
}
