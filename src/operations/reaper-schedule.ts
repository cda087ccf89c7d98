/**
 * Runs the reaper (reaper.ts) on a schedule. Every replica has the timer; a Redis lock
 * (`<prefix>:reaper:lock`, SET NX PX) lets one replica per interval do the work. An environment
 * with a changing operation in flight is skipped (mid-rotation the old manager looks orphaned and
 * a verify worker is in use). What was removed is said in the environment's channel (or
 * `alerts.channel`); a manager that looks orphaned is reported once a day, not every run.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AwsClientFactory } from '../adapters/aws/clients';
import type { FleetConfig } from '../config/fleet-schema';
import { userMessage } from '../domain/errors';
import { reapEnvironment, reapMessage, type ReapReport } from './reaper';

export interface ReaperDeps {
  fleet: () => FleetConfig;
  aws: AwsClientFactory;
  redis: Redis;
  prefix: string;
  /** Whether a changing operation holds the environment. */
  busy: (envName: string) => Promise<boolean>;
  post: (channel: string, text: string) => Promise<void>;
  log: Logger;
  now?: () => Date;
}

const ORPHAN_REPORT_SECONDS = 24 * 60 * 60;

/** One reaper pass over every environment, if this replica wins the lock. */
export async function runReaperOnce(deps: ReaperDeps, lockMs: number): Promise<ReapReport[] | undefined> {
  const won = await deps.redis.set(`${deps.prefix}:reaper:lock`, randomUUID(), 'PX', Math.max(1_000, lockMs), 'NX');
  if (won !== 'OK') return undefined;
  const fleet = deps.fleet();
  const reports: ReapReport[] = [];
  for (const [envName, env] of Object.entries(fleet.environments)) {
    if (await deps.busy(envName)) continue;
    let report: ReapReport;
    try {
      report = await reapEnvironment(deps.aws.forEnvironment(env, 'runner-ops-reaper').ec2, envName, env, (deps.now ?? (() => new Date()))());
    } catch (err) {
      deps.log.warn({ env: envName, err: userMessage(err) }, 'reaper could not list instances');
      continue;
    }
    // Orphaned managers: once a day each, not on every pass.
    const fresh: ReapReport['orphanedManagers'] = [];
    for (const o of report.orphanedManagers) {
      if (await deps.redis.set(`${deps.prefix}:reaper:reported:${o.id}`, '1', 'EX', ORPHAN_REPORT_SECONDS, 'NX') === 'OK') fresh.push(o);
    }
    report = { ...report, orphanedManagers: fresh };
    reports.push(report);
    const text = reapMessage(report);
    if (text === undefined) continue;
    deps.log.info({ env: envName, terminated: report.terminated.map((t) => t.id), orphaned: fresh.map((o) => o.id) }, 'reaper report');
    const channel = env.channel ?? fleet.alerts.channel;
    if (channel === undefined) continue;
    await deps.post(channel, text).catch((err: unknown) => deps.log.warn({ env: envName, err: userMessage(err) }, 'could not post the reaper report'));
  }
  return reports;
}

export function startReaper(deps: ReaperDeps, intervalMs: number): { stop(): void } {
  const timer = setInterval(() => {
    runReaperOnce(deps, intervalMs - 500).catch((err: unknown) => deps.log.warn({ err: userMessage(err) }, 'reaper pass failed'));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
