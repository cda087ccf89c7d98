/**
 * What an alert does with the events of one instance: pure decisions, no I/O.
 *
 * - Which events open a thread: a rebalance recommendation or an interruption warning (any role);
 *   for a manager also stopping/stopped/shutting-down/terminated, unless a runner-ops operation
 *   (rotate, destroy) is doing exactly that. A worker's plain state change (Docker Machine scaling
 *   down) opens nothing: it is kept, and shows up in the thread if a notice for the instance
 *   arrives later.
 * - Critical: a manager that is interrupted, stopping or terminating.
 * - Order: by event time, then by lifecycle (rebalance, warning, stopping, shutting-down, stopped,
 *   terminated), then by id; arrival order never matters. A reply cannot be inserted above one
 *   already in the thread, so an event that arrives after a later one was posted is posted with a
 *   "late" marker, and the root's timeline (edited) always shows the true order.
 * - Storms: past `threshold` interruptions in one environment within the window, non-critical
 *   instances go into the environment's summary instead of a thread each.
 */
import type { Ec2State, SpotEventKind } from './events';

export type EventStatus = 'pending' | 'posted' | 'quiet' | 'summarized';

/** One event as kept in Redis for its instance. Times are epoch milliseconds. */
export interface StoredEvent {
  id: string;
  kind: SpotEventKind;
  time: number;
  arrived: number;
  action?: string;
  state?: Ec2State;
  status: EventStatus;
}

export const INTERRUPTION_NOTICE_MS = 2 * 60_000;

/** States of a manager that mean CI stops being picked up. */
export const CRITICAL_MANAGER_STATES: readonly Ec2State[] = ['stopping', 'stopped', 'shutting-down', 'terminated'];

/** State changes worth keeping at all (pending/running are counted as ignored at intake). */
export function isRelevantState(state: Ec2State | undefined): boolean {
  return state !== undefined && state !== 'pending' && state !== 'running';
}

const RANK: Record<string, number> = {
  'rebalance-recommendation': 0,
  'interruption-warning': 1,
  stopping: 2,
  'shutting-down': 3,
  stopped: 4,
  terminated: 5,
};

function rank(e: Pick<StoredEvent, 'kind' | 'state'>): number {
  return (e.kind === 'state-change' ? RANK[e.state ?? ''] : RANK[e.kind]) ?? 9;
}

export function compareEvents(a: StoredEvent, b: StoredEvent): number {
  return a.time - b.time || rank(a) - rank(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function sortEvents(events: readonly StoredEvent[]): StoredEvent[] {
  return [...events].sort(compareEvents);
}

export function isCritical(role: string | undefined, e: StoredEvent): boolean {
  if (role !== 'manager') return false;
  return e.kind === 'interruption-warning' || (e.kind === 'state-change' && e.state !== undefined && CRITICAL_MANAGER_STATES.includes(e.state));
}

/** Whether this event starts a thread for an instance that has none. */
export function opensThread(role: string | undefined, e: StoredEvent, expected: boolean): boolean {
  if (e.kind !== 'state-change') return true;
  return isCritical(role, e) && !expected;
}

/** The most advanced lifecycle step seen (by event time, then lifecycle order). */
export function phaseOf(events: readonly StoredEvent[]): string | undefined {
  const last = sortEvents(events).at(-1);
  if (last === undefined) return undefined;
  if (last.kind === 'state-change') return last.state;
  return last.kind === 'interruption-warning' ? 'warned' : 'rebalance';
}

/** The latest interruption warning, which names the action and fixes the deadline. */
export function latestWarning(events: readonly StoredEvent[]): StoredEvent | undefined {
  return sortEvents(events).filter((e) => e.kind === 'interruption-warning').at(-1);
}

export function deadlineOf(events: readonly StoredEvent[]): Date | undefined {
  const w = latestWarning(events);
  return w === undefined ? undefined : new Date(w.time + INTERRUPTION_NOTICE_MS);
}

export interface PlannedReply { event: StoredEvent; late: boolean }

/**
 * The replies still to post, in event order. `late` marks an event that happened before one
 * already in the thread.
 */
export function planReplies(events: readonly StoredEvent[]): PlannedReply[] {
  const posted = sortEvents(events.filter((e) => e.status === 'posted'));
  let newest = posted.at(-1);
  const out: PlannedReply[] = [];
  for (const e of sortEvents(events.filter((x) => x.status === 'pending' || x.status === 'quiet'))) {
    const late = newest !== undefined && compareEvents(e, newest) < 0;
    out.push({ event: e, late });
    if (newest === undefined || compareEvents(e, newest) > 0) newest = e;
  }
  return out;
}

export interface StormInput {
  critical: boolean;
  /** A storm summary for the environment took an instance within the window. */
  stormActive: boolean;
  /** Interruption warnings that arrived for the environment within the window. */
  recentInterruptions: number;
  threshold: number;
}

/** Whether a new (non-critical) alert goes into the environment's storm summary. */
export function joinsStorm(s: StormInput): boolean {
  if (s.critical) return false;
  return s.stormActive || s.recentInterruptions > s.threshold;
}
