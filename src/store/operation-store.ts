/**
 * Operation records in Redis (one hash per operation under REDIS_PREFIX, plus an index of open
 * operations). State changes go through `transition`, a compare-and-set in one Lua script, so a
 * decision is taken exactly once however many clicks or replicas race for it.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { CHANGING_VERBS } from '../domain/command';
import { RunnerOpsError } from '../domain/errors';
import { OPERATION_STATES, type OperationRecord, type OperationState, TERMINAL_STATES } from '../domain/operation';

const num = z.coerce.number().int();
const recordSchema = z.object({
  id: z.string(),
  verb: z.enum(CHANGING_VERBS),
  env: z.string(),
  args: z.string().transform((s) => z.record(z.string(), z.string()).parse(JSON.parse(s))),
  requesterId: z.string(),
  channel: z.string(),
  rootTs: z.string().optional(),
  state: z.enum(OPERATION_STATES),
  fingerprint: z.string(),
  approvalRequired: z.enum(['0', '1']).transform((v) => v === '1'),
  createdAt: num,
  expiresAt: num.optional(),
  deciderId: z.string().optional(),
  decidedAt: num.optional(),
  startedAt: num.optional(),
  finishedAt: num.optional(),
  reason: z.string().optional(),
  cancelRequestedBy: z.string().optional(),
});

type Fields = Partial<Omit<OperationRecord, 'id' | 'verb' | 'env' | 'args' | 'state' | 'approvalRequired'>>;

function toHash(fields: Fields | OperationRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    if (k === 'args') out[k] = JSON.stringify(v);
    else if (typeof v === 'boolean') out[k] = v ? '1' : '0';
    else out[k] = String(v);
  }
  return out;
}

/**
 * KEYS[1] = op hash, KEYS[2] = open index; ARGV[1] = JSON list of allowed from-states,
 * ARGV[2] = to-state, ARGV[3] = 1 if terminal, ARGV[4..] = field/value pairs.
 * Returns {1, previous} on success, {0, current} otherwise. Terminal records expire after 90 days.
 */
const TRANSITION = `
local current = redis.call('HGET', KEYS[1], 'state')
if not current then return {0, ''} end
local allowed = cjson.decode(ARGV[1])
for _, s in ipairs(allowed) do
  if s == current then
    redis.call('HSET', KEYS[1], 'state', ARGV[2])
    for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
    if ARGV[3] == '1' then
      redis.call('ZREM', KEYS[2], redis.call('HGET', KEYS[1], 'id'))
      redis.call('EXPIRE', KEYS[1], 7776000)
    end
    return {1, current}
  end
end
return {0, current}
`;

export interface TransitionResult { ok: boolean; previous: OperationState | undefined }

export class OperationStore {
  constructor(private readonly redis: Redis, private readonly prefix: string) {}

  private key(id: string): string { return `${this.prefix}:op:${id}`; }
  private get openKey(): string { return `${this.prefix}:ops:open`; }

  /** Creates the record; refuses to overwrite an existing id. */
  async create(record: OperationRecord): Promise<void> {
    const key = this.key(record.id);
    const created = await this.redis.hsetnx(key, 'id', record.id);
    if (created !== 1) throw new RunnerOpsError('conflict', `operation ${record.id} already exists`);
    await this.redis.multi()
      .hset(key, toHash(record))
      .zadd(this.openKey, String(record.createdAt), record.id)
      .exec();
  }

  async get(id: string): Promise<OperationRecord | undefined> {
    const hash = await this.redis.hgetall(this.key(id));
    if (Object.keys(hash).length === 0) return undefined;
    const parsed = recordSchema.safeParse(hash);
    if (!parsed.success) throw new RunnerOpsError('internal', `operation ${id} is stored in an unreadable form`);
    return parsed.data;
  }

  async require(id: string): Promise<OperationRecord> {
    const record = await this.get(id);
    if (record === undefined) throw new RunnerOpsError('not_found', `there is no operation ${id}`);
    return record;
  }

  /** Sets fields without changing the state (e.g. the thread's root ts). */
  async update(id: string, fields: Fields): Promise<void> {
    const hash = toHash(fields);
    if (Object.keys(hash).length > 0) await this.redis.hset(this.key(id), hash);
  }

  /** Atomically moves the operation from one of `from` to `to`, setting `fields` with it. */
  async transition(id: string, from: readonly OperationState[], to: OperationState, fields: Fields = {}): Promise<TransitionResult> {
    const pairs = Object.entries(toHash(fields)).flat();
    const [ok, previous] = (await this.redis.eval(
      TRANSITION, 2, this.key(id), this.openKey,
      JSON.stringify(from), to, TERMINAL_STATES.has(to) ? '1' : '0', ...pairs,
    )) as [number, string];
    const prev = OPERATION_STATES.find((s) => s === previous);
    return { ok: ok === 1, previous: prev };
  }

  /** Open operations (awaiting approval, queued or running), oldest first. */
  async listOpen(env?: string): Promise<OperationRecord[]> {
    const ids = await this.redis.zrange(this.openKey, '0', '499');
    const records = await Promise.all(ids.map((id) => this.get(id)));
    return records.filter((r): r is OperationRecord => r !== undefined && (env === undefined || r.env === env));
  }
}
