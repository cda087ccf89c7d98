/**
 * The audit record: one Redis stream (`<prefix>:audit`) with an entry for every request,
 * decision, dry run, cancellation and outcome. `history` reads it back, grouped per operation.
 * Entries never carry secrets: ids, verbs, environments, Slack user ids and short reasons only.
 */
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const AUDIT_KINDS = ['requested', 'dry_run', 'approved', 'rejected', 'expired', 'started', 'succeeded', 'failed', 'cancelled'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export interface AuditEntry {
  kind: AuditKind;
  operationId: string;
  verb: string;
  env: string;
  userId: string;
  at: number;
  reason?: string;
}

const entrySchema = z.object({
  kind: z.enum(AUDIT_KINDS),
  operationId: z.string(),
  verb: z.string(),
  env: z.string(),
  userId: z.string(),
  at: z.coerce.number(),
  reason: z.string().optional(),
});

/** One operation as `history` shows it. */
export interface HistoryItem {
  operationId: string;
  verb: string;
  env: string;
  requesterId?: string;
  approverId?: string;
  outcome: AuditKind;
  requestedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  reason?: string;
}

export class AuditLog {
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly maxEntries = 10_000) {}

  private get key(): string { return `${this.prefix}:audit`; }

  async record(entry: AuditEntry): Promise<void> {
    const fields = Object.entries(entry).filter(([, v]) => v !== undefined).flatMap(([k, v]) => [k, String(v)]);
    await this.redis.xadd(this.key, 'MAXLEN', '~', String(this.maxEntries), '*', ...fields);
  }

  /** The newest entries first. */
  async recent(count: number): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', count);
    const out: AuditEntry[] = [];
    for (const [, flat] of rows) {
      const obj: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) obj[flat[i] as string] = flat[i + 1] as string;
      const parsed = entrySchema.safeParse(obj);
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  /** The last `limit` operations (newest first), optionally of one environment. */
  async history(limit: number, env?: string): Promise<HistoryItem[]> {
    const entries = (await this.recent(2_000)).filter((e) => env === undefined || e.env === env).reverse();
    const byOp = new Map<string, HistoryItem>();
    for (const e of entries) {
      const item = byOp.get(e.operationId) ?? { operationId: e.operationId, verb: e.verb, env: e.env, outcome: e.kind };
      switch (e.kind) {
        case 'requested': case 'dry_run': item.requesterId = e.userId; item.requestedAt = e.at; break;
        case 'approved': case 'rejected': item.approverId = e.userId; break;
        case 'started': item.startedAt = e.at; break;
        default: break;
      }
      item.outcome = e.kind;
      if (['succeeded', 'failed', 'cancelled', 'expired', 'rejected', 'dry_run'].includes(e.kind)) item.finishedAt = e.at;
      if (e.reason !== undefined) item.reason = e.reason;
      byOp.delete(e.operationId);
      byOp.set(e.operationId, item);
    }
    return [...byOp.values()].reverse().slice(0, limit);
  }
}
