/**
 * The shapes the manager operations keep in job data (step results and in-flight `saved` state),
 * parsed with zod when read back: job data is an external input like any other (DESIGN §4). None
 * of them holds a secret: runner ids and parameter versions, never tokens.
 */
import { z } from 'zod';
import type { Json } from '../framework/types';

const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/);

export const inspectResult = z.object({
  /** Live managers, current one first. */
  managers: z.array(z.object({ id: instanceId, generation: z.number().int().min(0) })),
  managerId: instanceId.nullable(),
  generation: z.number().int().min(0),
  parameterVersion: z.number().int().positive().nullable(),
  runners: z.array(z.object({ id: z.number().int().positive(), status: z.string(), managerId: z.string().nullable() })),
});
export type InspectResult = z.infer<typeof inspectResult>;

export const launchSaved = z.object({ instanceId: instanceId.optional(), generation: z.number().int().positive() });
export const launchResult = z.object({ instanceId, launched: z.boolean(), generation: z.number().int().min(0) });
export type LaunchResult = z.infer<typeof launchResult>;

export const runnerSaved = z.object({
  runnerId: z.number().int().positive().optional(),
  previousVersion: z.number().int().positive().nullable(),
  newVersion: z.number().int().positive().optional(),
  parameterCreated: z.boolean().optional(),
});
export type RunnerSaved = z.infer<typeof runnerSaved>;
export const runnerResult = z.object({
  runnerId: z.number().int().positive(),
  created: z.boolean(),
  previousVersion: z.number().int().positive().nullable(),
  newVersion: z.number().int().positive().nullable(),
  parameterCreated: z.boolean(),
});
export type RunnerResult = z.infer<typeof runnerResult>;

export const commandSaved = z.object({ commandId: z.string().min(1), instanceId, sentAt: z.number() });
export type CommandSaved = z.infer<typeof commandSaved>;

export const phaseResult = z.object({ changed: z.boolean(), restarted: z.boolean().optional() });

/** Parses a step's result or saved state; undefined when absent or (after a change of shape) unreadable. */
export function read<T>(schema: z.ZodType<T>, value: Json | undefined): T | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Zod output types are plain JSON here; this narrows them back for `save` and step results. */
export function json(value: object): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}
