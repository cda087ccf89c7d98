/**
 * What a queued operation's BullMQ job carries: its id and the step checkpoints. Never secrets:
 * job data is readable by anyone with access to Redis.
 */
import { z } from 'zod';
import type { Json } from '../operations/framework/types';

const json: z.ZodType<Json> = z.lazy(() => z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]));

export const checkpointSchema = z.object({
  status: z.enum(['started', 'done']),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  /** In-flight state the step saved (CommandId, instance id, …). */
  saved: json.optional(),
  result: json.optional(),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;

export const jobDataSchema = z.object({
  operationId: z.string(),
  checkpoints: z.record(z.string(), checkpointSchema).default({}),
});
export type JobData = z.infer<typeof jobDataSchema>;
