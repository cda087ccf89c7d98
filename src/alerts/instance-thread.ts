/**
 * The thread of one instance (due member `i:<instanceId>`), worked on by one replica at a time
 * (the flusher holds its lock). From the recorded state it decides and does, in this order:
 *
 * 1. No thread yet: nothing that opens one (a worker's plain state change, an expected manager
 *    change, no channel) marks the events quiet; they are kept and appear in the thread if a
 *    notice arrives later. A non-critical alert during a storm joins the environment's summary.
 *    Otherwise the root is posted; it represents every event recorded so far (its timeline).
 * 2. A thread: the events not yet in it are posted as replies in event order (late ones marked),
 *    then the root is edited if its rendering changed (timeline, critical, acknowledgement).
 * 3. An interruption or a critical manager queues the affected-jobs lookup (once).
 *
 * Each event's status is saved as soon as its message is in Slack, so a crash repeats at most the
 * one write in flight. A Slack failure keeps the work due and retries after `retryMs`.
 */
import { createHash } from 'node:crypto';
import type { MessageBody } from '../adapters/slack/blocks';
import type { InstanceState } from './alert-store';
import type { AlertContext } from './context';
import { isCritical, joinsStorm, opensThread, phaseOf, planReplies, type StoredEvent } from './policy';
import { renderReply, renderRoot } from './render';

export function digestOf(body: MessageBody): string {
  return createHash('sha1').update(JSON.stringify(body)).digest('hex');
}

async function inStorm(ctx: AlertContext, s: InstanceState, now: number): Promise<boolean> {
  const { threshold, windowSeconds } = ctx.fleet().alerts.storm;
  const windowMs = windowSeconds * 1000;
  const storm = await ctx.store.storms.get(s.envName);
  const active = storm !== undefined && now - storm.lastJoinAt <= windowMs;
  const recent = await ctx.store.storms.recentInterruptions(s.envName, now - windowMs);
  return joinsStorm({ critical: false, stormActive: active, recentInterruptions: recent, threshold });
}

function mark(events: readonly StoredEvent[], status: StoredEvent['status']): StoredEvent[] {
  return events.map((e) => { e.status = status; return e; });
}

export async function workInstance(ctx: AlertContext, instanceId: string): Promise<void> {
  const member = `i:${instanceId}`;
  const s = await ctx.store.loadInstance(instanceId);
  if (s === undefined) { await ctx.store.remove(member); return; }
  const now = ctx.now();
  const log = ctx.log.child({ instanceId, env: s.envName });
  const unhandled = s.events.filter((e) => e.status === 'pending' || e.status === 'quiet');
  const fields: Record<string, string> = { phase: phaseOf(s.events) ?? '' };

  let expectedBy = s.expectedBy;
  if (expectedBy === undefined && s.role === 'manager' && s.known && ctx.expected !== undefined && unhandled.some((e) => isCritical(s.role, e))) {
    expectedBy = await ctx.expected(s.envName, instanceId);
    if (expectedBy !== undefined) fields.expectedBy = expectedBy;
  }
  const critical = s.critical || (expectedBy === undefined && unhandled.some((e) => isCritical(s.role, e)));
  if (critical && !s.critical) fields.critical = '1';
  const state: InstanceState = { ...s, critical, expectedBy };
  const count = (events: readonly StoredEvent[], outcome: 'posted' | 'summarized' | 'quiet') => { for (const e of events) ctx.count(e.kind, outcome); };
  const retryLater = async () => { await ctx.store.updateInstance(instanceId, fields); await ctx.store.schedule(member, now + ctx.timings.retryMs, 'SET'); };

  // A critical manager always gets its own thread, even one that an earlier notice put into a storm.
  if (s.threadTs === undefined && (!s.stormed || critical)) {
    const opens = unhandled.some((e) => opensThread(s.role, e, expectedBy !== undefined));
    if (!opens || s.channel === '') {
      if (opens) log.warn('no channel for this alert: set the environment\'s channel or alerts.channel');
      const fresh = unhandled.filter((e) => e.status === 'pending');
      count(fresh, 'quiet');
      await ctx.store.updateEvents(instanceId, mark(fresh, 'quiet'));
      await ctx.store.updateInstance(instanceId, fields);
      await ctx.store.finish(member, ctx.store.instanceKey(instanceId), s.version, now);
      return;
    }
    if (!critical && !s.stormed && await inStorm(ctx, s, now)) {
      await ctx.store.storms.join(s.envName, [instanceId], { now, windowMs: ctx.fleet().alerts.storm.windowSeconds * 1000, channel: s.channel, dueAt: now });
      count(unhandled, 'summarized');
      await ctx.store.updateEvents(instanceId, mark(unhandled, 'summarized'));
      await ctx.store.updateInstance(instanceId, { ...fields, stormed: '1' });
      await ctx.store.finish(member, ctx.store.instanceKey(instanceId), s.version, now);
      log.info('Spot alert folded into the storm summary');
      return;
    }
    const body = renderRoot(state);
    let ts: string;
    try {
      ts = await ctx.slack.post(s.channel, body);
    } catch {
      await retryLater();
      return;
    }
    // From here on the root exists: save it before anything else can fail.
    await ctx.store.updateInstance(instanceId, { ...fields, threadTs: ts, digest: digestOf(body) });
    count(unhandled, 'posted');
    await ctx.store.updateEvents(instanceId, mark(unhandled, 'posted'));
    await queueJobs(ctx, state, now);
    await ctx.store.finish(member, ctx.store.instanceKey(instanceId), s.version, now + ctx.timings.settleMs);
    log.info({ critical }, 'Spot alert thread posted');
    return;
  }

  if (s.threadTs === undefined) {
    // Stormed: its summary counts it; nothing of its own is posted.
    count(unhandled, 'summarized');
    await ctx.store.updateEvents(instanceId, mark(unhandled, 'summarized'));
    await ctx.store.updateInstance(instanceId, fields);
    if (unhandled.length > 0) await ctx.store.storms.changed(s.envName, now + ctx.timings.stormEditMs);
    await ctx.store.finish(member, ctx.store.instanceKey(instanceId), s.version, now);
    return;
  }

  for (const r of planReplies(s.events)) {
    try {
      await ctx.slack.post(s.channel, { text: renderReply(r.event, r.late), blocks: [] }, s.threadTs);
    } catch {
      await retryLater();
      return;
    }
    r.event.status = 'posted';
    await ctx.store.updateEvents(instanceId, [r.event]);
    ctx.count(r.event.kind, 'posted');
  }
  const body = renderRoot(state);
  const digest = digestOf(body);
  if (digest !== s.digest) {
    try {
      await ctx.slack.update(s.channel, s.threadTs, body);
    } catch {
      await retryLater();
      return;
    }
    fields.digest = digest;
  }
  await ctx.store.updateInstance(instanceId, fields);
  await queueJobs(ctx, state, now);
  await ctx.store.finish(member, ctx.store.instanceKey(instanceId), s.version, now + ctx.timings.settleMs);
}

/** Queues the affected-jobs lookup once the machine is known to go (interruption, critical manager). */
async function queueJobs(ctx: AlertContext, s: InstanceState, now: number): Promise<void> {
  if (s.jobsQueued || !s.known) return;
  if (!s.critical && !s.events.some((e) => e.kind === 'interruption-warning')) return;
  await ctx.store.updateInstance(s.instanceId, { jobsQueued: '1' });
  await ctx.store.schedule(`j:${s.instanceId}`, now, 'LT');
}
