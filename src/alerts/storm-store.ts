/**
 * Storm state in Redis (part of the alert store, same prefix): `int:<env>` (interruption warnings
 * by arrival), `storm:<env>` (the summary thread, when it started, when an instance last joined)
 * and `storm:<env>:members`. A storm is on while instances keep joining within the window; its
 * keys live a window plus an hour, so late state changes can still edit the summary.
 */
import type { Redis } from 'ioredis';

export interface StormState {
  envName: string;
  threadTs: string | undefined;
  channel: string;
  startedAt: number;
  lastJoinAt: number;
  version: number;
  digest: string | undefined;
}

export interface MemberSummary { id: string; type: string | undefined; az: string | undefined; phase: string | undefined; hasThread: boolean }

const str = (v: string | null | undefined): string | undefined => (v === undefined || v === null || v === '' ? undefined : v);

export class StormStore {
  constructor(private readonly redis: Redis, private readonly k: (...parts: string[]) => string) {}

  key(envName: string): string { return this.k('storm', envName); }

  /** Interruption warnings of the environment that arrived since `since` (ms). */
  recentInterruptions(envName: string, since: number): Promise<number> {
    return this.redis.zcount(this.k('int', envName), since, '+inf');
  }

  async get(envName: string): Promise<StormState | undefined> {
    const h = await this.redis.hgetall(this.key(envName));
    if (h.startedAt === undefined) return undefined;
    return {
      envName, threadTs: str(h.threadTs), channel: h.channel ?? '', startedAt: Number(h.startedAt), lastJoinAt: Number(h.lastJoinAt ?? h.startedAt),
      version: Number(h.version ?? '0'), digest: str(h.digest),
    };
  }

  /**
   * Adds instances to the environment's storm (starting it if there is none: with every instance
   * interrupted within the window) and schedules the summary (an earlier schedule is kept, so
   * edits are coalesced).
   */
  async join(envName: string, instanceIds: readonly string[], opts: { now: number; windowMs: number; channel: string; dueAt: number }): Promise<void> {
    const inWindow = await this.redis.zrangebyscore(this.k('int', envName), opts.now - opts.windowMs, '+inf');
    const members = [...new Set([...inWindow, ...instanceIds])];
    const ttl = Math.ceil(opts.windowMs / 1000) + 3600;
    const key = this.key(envName);
    const m = this.redis.multi()
      .hsetnx(key, 'startedAt', String(opts.now))
      .hsetnx(key, 'channel', opts.channel)
      .hset(key, 'lastJoinAt', String(opts.now))
      .hincrby(key, 'version', 1)
      .expire(key, ttl)
      .zadd(this.k('due'), 'NX', opts.dueAt, `s:${envName}`);
    if (members.length > 0) m.sadd(this.k('storm', envName, 'members'), ...members);
    m.expire(this.k('storm', envName, 'members'), ttl);
    await m.exec();
  }

  /** Something about a stormed instance changed: the summary gets a (coalesced) edit. */
  async changed(envName: string, dueAt: number): Promise<void> {
    await this.redis.multi().hincrby(this.key(envName), 'version', 1).zadd(this.k('due'), 'NX', dueAt, `s:${envName}`).exec();
  }

  async update(envName: string, fields: Record<string, string>): Promise<void> {
    await this.redis.hset(this.key(envName), fields);
  }

  /** The storm's instances with what the summary counts (type, zone, latest state, own thread). */
  async members(envName: string, max = 5_000): Promise<MemberSummary[]> {
    const ids = (await this.redis.smembers(this.k('storm', envName, 'members'))).sort().slice(0, max);
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hmget(this.k('inst', id), 'type', 'az', 'phase', 'threadTs');
    const rows = (await pipe.exec()) ?? [];
    return ids.map((id, i) => {
      const [type, az, phase, threadTs] = (rows[i]?.[1] as (string | null)[] | undefined) ?? [];
      return { id, type: str(type), az: str(az), phase: str(phase), hasThread: str(threadTs) !== undefined };
    });
  }
}
