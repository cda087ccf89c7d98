/**
 * What verify-ecr keeps in job data: step results and in-flight `saved` state, parsed with zod
 * when read back (job data is an external input, DESIGN §4). No credential is ever among them:
 * the manager check keeps only the helper's error line.
 */
import { z } from 'zod';
import { RunnerOpsError } from '../../domain/errors';
import type { OperationContext } from '../framework/types';

const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/);

export const preflightResult = z.object({
  image: z.string(),
  registry: z.string(),
  repository: z.string(),
  /** The tag, or the digest when the image names one. */
  reference: z.string(),
  check: z.enum(['found', 'skipped']),
  digest: z.string().optional(),
  skipReason: z.string().optional(),
});
export type PreflightResult = z.infer<typeof preflightResult>;

export const levelResult = z.object({
  level: z.enum(['manager', 'host', 'container', 'dind']),
  result: z.enum(['ok', 'failed', 'skipped']),
  seconds: z.number().int().min(0).nullable(),
  error: z.string().optional(),
  helperError: z.string().optional(),
  /** Why a level was skipped (no manager, manager unreachable, the worker check did not get there). */
  reason: z.string().optional(),
});
export type LevelResult = z.infer<typeof levelResult>;

export const managerStepResult = levelResult.extend({ managerId: instanceId.nullable() });

const attempt = z.object({
  instanceType: z.string(),
  subnetId: z.string(),
  clientToken: z.string(),
  outcome: z.enum(['launched', 'no-capacity']),
  code: z.string().optional(),
  instanceId: z.string().optional(),
});

/**
 * Saved before every RunInstances (the alternative about to be tried and the expiry tag value,
 * which a resumed call must repeat exactly) and after it (the instance id).
 */
export const launchSaved = z.object({
  expiresAt: z.string(),
  index: z.number().int().min(0),
  instanceId: instanceId.optional(),
  attempts: z.array(attempt),
});
export type LaunchSaved = z.infer<typeof launchSaved>;

export const launchResult = z.object({
  instanceId,
  instanceType: z.string(),
  subnetId: z.string(),
  az: z.string().nullable(),
  spot: z.boolean(),
  /** EC2's LaunchTime (ms since the epoch), for "seconds alive". */
  launchedAt: z.number(),
  expiresAt: z.string(),
  attempts: z.array(attempt),
});
export type LaunchResult = z.infer<typeof launchResult>;

export const readyResult = z.object({ arch: z.string(), distro: z.string(), ecrCredentialHelper: z.string(), seconds: z.number().int().min(0) });

export const verifyResult = z.object({
  ok: z.boolean(),
  levels: z.array(levelResult),
  /** The SSM status of verify-ecr.sh and its reason (it exits 1 when a level failed). */
  status: z.string(),
  reason: z.string(),
});

export const terminateResult = z.object({
  terminated: z.array(z.string()),
  secondsAlive: z.number().int().min(0).nullable(),
});

/** Parses a step's result or saved state; undefined when absent or unreadable. */
export function read<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** A finished step's result, or an internal error naming the step. */
export function resultOf<T>(ctx: Pick<OperationContext, 'results'>, step: string, schema: z.ZodType<T>): T {
  const r = read(schema, ctx.results[step]);
  if (r === undefined) throw new RunnerOpsError('internal', `the ${step} step left no readable result`);
  return r;
}
