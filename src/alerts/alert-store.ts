/**
 * The Spot alerts' state in Redis, under `<prefix>:alerts:`. Every replica shares it; nothing
 * about an alert lives only in one process.
 *
 *   seen:<eventId>            dedupe marker of an EventBridge event (SET NX, TTL DEDUPE_TTL)
 *   inst:<instanceId>         hash: the instance's facts (env, role, type, zone…) and its thread
 *   inst:<instanceId>:ev      hash: event id -> the event (JSON, with its delivery status)
 *   due                       sorted set: work to do (`i:<id>` thread, `s:<env>` storm summary,
 *                             `j:<id>` affected jobs), scored by when it is due (ms)
 *   lock:<member>             who works on a member now (SET NX PX, refreshed, released by token)
 *   int:<env>                 sorted set: instances whose interruption warning arrived, by arrival
 *   storm:<env>               hash: the storm summary thread; storm:<env>:members its instances
 *   recent:<env>              sorted set: the environment's latest events, for `status`
 *   job:<project>:<job>       an affected job shown in an alert (env, instance), for its button
 *   retried:<project>:<job>   who retried it (SET NX: one retry per job)
 *
 * Storm keys are kept by StormStore (storm-store.ts), the scripts are in alert-scripts.ts.
 *
 * Recording is one Lua script: the dedupe marker, the event, the facts and the due entry are
 * written together or not at all, so a message is deleted from SQS only once all of it is in
 * Redis, and a redelivered message (same event id) changes nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SpotEventSummary } from '../operations/status/types';
import { ACK, FINISH, RECORD, REFRESH, RELEASE } from './alert-scripts';
import type { SpotEvent } from './events';
import type { StoredEvent } from './policy';
import { StormStore } from './storm-store';

export const DEDUPE_TTL_SECONDS = 4 * 24 * 3600; // SQS's default retention: a redelivery can come that late
export const STATE_TTL_SECONDS = 2 * 24 * 3600;

export interface InstanceFacts {
  envName: string;
  /** The environment is in the fleet file. */
  known: boolean;
  /** Where its alert goes: the environment's channel, else alerts.channel; '' = nowhere. */
  channel: string;
  role?: string | undefined;
  managerId?: string | undefined;
  type?: string | undefined;
  az?: string | undefined;
  name?: string | undefined;
  privateIp?: string | undefined;
  region: string;
  account: string;
}

export interface InstanceState extends InstanceFacts {
  instanceId: string;
  version: number;
  threadTs: string | undefined;
  stormed: boolean;
  critical: boolean;
  ackBy: string | undefined;
  ackAt: number | undefined;
  /** Digest of the root as last sent. */
  digest: string | undefined;
  /** The affected-jobs lookup was queued (it runs once per instance). */
  jobsQueued: boolean;
  /** The affected-jobs reply, once posted (JSON of JobsOutcome). */
  jobs: string | undefined;
  /** The runner-ops operation doing this (rotate/destroy), when a manager change was expected. */
  expectedBy: string | undefined;
  events: StoredEvent[];
}

export type { MemberSummary, StormState } from './storm-store';

const str = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);
const num = (v: string | undefined): number | undefined => (v === undefined || v === '' ? undefined : Number(v));

function parseEvent(json: string): StoredEvent | undefined {
  try {
    const e = JSON.parse(json) as StoredEvent;
    return typeof e.id === 'string' && typeof e.time === 'number' ? e : undefined;
  } catch {
    return undefined;
  }
}

export class AlertStore {
  private readonly p: string;
  /** The environments' storm summaries (same keyspace). */
  readonly storms: StormStore;

  constructor(private readonly redis: Redis, prefix: string) {
    this.p = `${prefix}:alerts`;
    this.storms = new StormStore(redis, (...parts) => this.key(...parts));
  }

  key(...parts: string[]): string { return [this.p, ...parts].join(':'); }

  /**
   * Records an event atomically with its dedupe marker. Returns false for an event id seen before
   * (nothing is written then). `dueAt` schedules the instance's thread work (an earlier schedule
   * is kept).
   */
  async record(event: SpotEvent, facts: InstanceFacts, opts: { now: number; dueAt: number }): Promise<boolean> {
    const stored: StoredEvent = {
      id: event.id, kind: event.kind, time: event.time.getTime(), arrived: opts.now, status: 'pending',
      ...(event.action === undefined ? {} : { action: event.action }),
      ...(event.state === undefined ? {} : { state: event.state }),
    };
    const recent: SpotEventSummary = {
      at: event.time, instanceId: event.instanceId, kind: event.kind, ...(event.state === undefined ? {} : { detail: event.state }),
    };
    const fields: Record<string, string> = {
      instanceId: event.instanceId, env: facts.envName, known: facts.known ? '1' : '0', channel: facts.channel,
      role: facts.role ?? '', manager: facts.managerId ?? '', type: facts.type ?? '', az: facts.az ?? '', name: facts.name ?? '',
      ip: facts.privateIp ?? '', region: facts.region, account: facts.account,
    };
    const interruption = event.kind === 'interruption-warning';
    const result = await this.redis.eval(
      RECORD, 6,
      this.key('seen', event.id), this.key('inst', event.instanceId), this.key('inst', event.instanceId, 'ev'), this.key('due'),
      this.key('recent', facts.envName), this.key('int', facts.envName),
      DEDUPE_TTL_SECONDS, event.id, JSON.stringify(stored), event.time.getTime(), `i:${event.instanceId}`, opts.dueAt,
      STATE_TTL_SECONDS, facts.known ? JSON.stringify({ ...recent, id: event.id }) : '', interruption ? '1' : '0', opts.now, event.instanceId,
      ...Object.entries(fields).flat(),
    );
    return result === 1;
  }

  /** The facts recorded for an instance by an earlier event (no EC2 call needed then). */
  async knownFacts(instanceId: string): Promise<{ facts: InstanceFacts; hasThread: boolean } | undefined> {
    const h = await this.redis.hgetall(this.key('inst', instanceId));
    return h.env === undefined || h.env === '' ? undefined : { facts: this.facts(h), hasThread: str(h.threadTs) !== undefined };
  }

  private facts(h: Record<string, string>): InstanceFacts {
    return {
      envName: h.env ?? '', known: h.known === '1', channel: h.channel ?? '', role: str(h.role), managerId: str(h.manager),
      type: str(h.type), az: str(h.az), name: str(h.name), privateIp: str(h.ip), region: h.region ?? '', account: h.account ?? '',
    };
  }

  async loadInstance(instanceId: string): Promise<InstanceState | undefined> {
    const [h, ev] = await Promise.all([
      this.redis.hgetall(this.key('inst', instanceId)),
      this.redis.hgetall(this.key('inst', instanceId, 'ev')),
    ]);
    if (h.env === undefined) return undefined;
    return {
      ...this.facts(h),
      instanceId,
      version: num(h.version) ?? 0,
      threadTs: str(h.threadTs),
      stormed: h.stormed === '1',
      critical: h.critical === '1',
      ackBy: str(h.ackBy),
      ackAt: num(h.ackAt),
      digest: str(h.digest),
      jobsQueued: h.jobsQueued === '1',
      jobs: str(h.jobs),
      expectedBy: str(h.expectedBy),
      events: Object.values(ev).map(parseEvent).filter((e): e is StoredEvent => e !== undefined),
    };
  }

  async updateInstance(instanceId: string, fields: Record<string, string>): Promise<void> {
    if (Object.keys(fields).length === 0) return;
    await this.redis.hset(this.key('inst', instanceId), fields);
  }

  async updateEvents(instanceId: string, events: readonly StoredEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.redis.hset(this.key('inst', instanceId, 'ev'), Object.fromEntries(events.map((e) => [e.id, JSON.stringify(e)])));
  }

  /** Changes the instance's version (so a running flush keeps its due entry) and makes it due now. */
  async touch(instanceId: string, now: number): Promise<void> {
    await this.redis.multi()
      .hincrby(this.key('inst', instanceId), 'version', 1)
      .zadd(this.key('due'), 'LT', now, `i:${instanceId}`)
      .exec();
  }

  // --- the due set -------------------------------------------------------------------------

  dueMembers(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.key('due'), '-inf', now, 'LIMIT', 0, limit);
  }

  async nextDueAt(): Promise<number | undefined> {
    const [, score] = await this.redis.zrange(this.key('due'), '0', '0', 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  /** `LT`: keep an earlier schedule; `NX`: keep any existing schedule; `XX`: move only an existing one. */
  async schedule(member: string, at: number, mode: 'LT' | 'NX' | 'XX' | 'SET' = 'LT'): Promise<void> {
    if (mode === 'SET') await this.redis.zadd(this.key('due'), at, member);
    else if (mode === 'LT') await this.redis.zadd(this.key('due'), 'LT', at, member);
    else if (mode === 'NX') await this.redis.zadd(this.key('due'), 'NX', at, member);
    else await this.redis.zadd(this.key('due'), 'XX', at, member);
  }

  async remove(member: string): Promise<void> {
    await this.redis.zrem(this.key('due'), member);
  }

  /** Done with `member` as of `version` of `hashKey`: drop it, or (changed meanwhile) keep it due at `againAt`. */
  async finish(member: string, hashKey: string, version: number, againAt: number): Promise<boolean> {
    return (await this.redis.eval(FINISH, 2, hashKey, this.key('due'), 'version', String(version), member, againAt)) === 1;
  }

  instanceKey(instanceId: string): string { return this.key('inst', instanceId); }

  // --- locks ---------------------------------------------------------------------------------

  async lock(member: string, ms: number): Promise<string | undefined> {
    const token = randomUUID();
    return (await this.redis.set(this.key('lock', member), token, 'PX', ms, 'NX')) === 'OK' ? token : undefined;
  }

  async refresh(member: string, token: string, ms: number): Promise<void> {
    await this.redis.eval(REFRESH, 1, this.key('lock', member), token, ms);
  }

  async unlock(member: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key('lock', member), token);
  }

  // --- status --------------------------------------------------------------------------------

  async recentEvents(envName: string, limit: number): Promise<SpotEventSummary[]> {
    const raw = await this.redis.zrevrange(this.key('recent', envName), 0, Math.max(0, limit - 1));
    const out: SpotEventSummary[] = [];
    for (const r of raw) {
      try {
        const e = JSON.parse(r) as { at: string; instanceId: string; kind: SpotEventSummary['kind']; detail?: string };
        out.push({ at: new Date(e.at), instanceId: e.instanceId, kind: e.kind, ...(e.detail === undefined ? {} : { detail: e.detail }) });
      } catch { /* an entry written by another version: skip it */ }
    }
    return out;
  }

  // --- buttons -------------------------------------------------------------------------------

  /**
   * Records the first acknowledgement of an alert and makes its thread due (the root is re-rendered
   * by the flusher, the one writer of roots). Returns undefined when there is no such alert.
   */
  async acknowledge(instanceId: string, userId: string, now: number): Promise<{ first: boolean; by: string; at: number } | undefined> {
    const r = await this.redis.eval(ACK, 2, this.key('inst', instanceId), this.key('due'), userId, now, `i:${instanceId}`) as [number, string?, string?];
    if (r[0] === 0) return undefined;
    return { first: r[0] === 1, by: r[1] ?? 'someone', at: Number(r[2] ?? now) };
  }

  async registerJobs(jobs: readonly { projectId: number; jobId: number }[], envName: string, instanceId: string): Promise<void> {
    if (jobs.length === 0) return;
    const m = this.redis.multi();
    for (const j of jobs) m.set(this.key('job', String(j.projectId), String(j.jobId)), JSON.stringify({ envName, instanceId }), 'EX', STATE_TTL_SECONDS);
    await m.exec();
  }

  async jobAlert(projectId: number, jobId: number): Promise<{ envName: string; instanceId: string } | undefined> {
    const raw = await this.redis.get(this.key('job', String(projectId), String(jobId)));
    if (raw === null) return undefined;
    try { return JSON.parse(raw) as { envName: string; instanceId: string }; } catch { return undefined; }
  }

  /** Claims the one retry of a job; returns who claimed it before, or undefined when this call did. */
  async claimRetry(projectId: number, jobId: number, userId: string): Promise<string | undefined> {
    const key = this.key('retried', String(projectId), String(jobId));
    if ((await this.redis.set(key, userId, 'EX', STATE_TTL_SECONDS, 'NX')) === 'OK') return undefined;
    return (await this.redis.get(key)) ?? 'someone';
  }

  async releaseRetry(projectId: number, jobId: number): Promise<void> {
    await this.redis.del(this.key('retried', String(projectId), String(jobId)));
  }
}
