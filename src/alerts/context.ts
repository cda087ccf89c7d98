/** What the alert workers (instance threads, storm summaries, affected jobs) share. */
import type { Logger } from 'pino';
import type { GitlabClient } from '../adapters/gitlab/client';
import type { FleetConfig } from '../config/fleet-schema';
import type { AlertStore } from './alert-store';
import type { SpotEventKind } from './events';
import type { IntakeOutcome } from './intake';
import type { SlackWriter } from './slack-writer';

export interface AlertTimings {
  /** How long replies wait for events that may still arrive out of order. */
  settleMs: number;
  /** Least time between two edits of a storm summary (edits in between are coalesced). */
  stormEditMs: number;
  /** How often a replica looks for due work it was not told about (other replicas', a crashed one's). */
  pollMs: number;
  /** How long a replica holds a thread while working on it (refreshed while it works). */
  lockMs: number;
  /** When to try again after Slack refused a write. */
  retryMs: number;
  /** Bound on the affected-jobs lookup of one alert. */
  jobsTimeoutMs: number;
  /** Threads worked on at once by one replica. */
  concurrency: number;
}

export const DEFAULT_ALERT_TIMINGS: Readonly<AlertTimings> = Object.freeze({
  settleMs: 3_000,
  stormEditMs: 3_000,
  pollMs: 1_000,
  lockMs: 120_000,
  retryMs: 15_000,
  jobsTimeoutMs: 10_000,
  concurrency: 8,
});

export type SpotOutcome = IntakeOutcome | 'posted' | 'summarized' | 'quiet';

export interface AlertContext {
  store: AlertStore;
  slack: SlackWriter;
  fleet: () => FleetConfig;
  gitlab: GitlabClient | undefined;
  log: Logger;
  now: () => number;
  timings: AlertTimings;
  /** The open rotate/destroy operation changing this environment's manager, if any. */
  expected?: (envName: string, instanceId: string) => Promise<string | undefined>;
  count: (kind: SpotEventKind | 'unknown', outcome: SpotOutcome) => void;
}
