/**
 * GitLab API answers, parsed at the boundary (DESIGN §4). Only the fields runner-ops reads are
 * declared; unknown fields are dropped. Fields that older GitLab versions leave out are optional.
 */
import { z } from 'zod';

const optionalDate = z.string().nullish().transform((v) => {
  if (v === null || v === undefined || v === '') return undefined;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? undefined : d;
});

export const RUNNER_TYPES = ['instance_type', 'group_type', 'project_type'] as const;
export type RunnerType = (typeof RUNNER_TYPES)[number];

/** An item of GET /runners, /runners/all, /groups/:id/runners, /projects/:id/runners. */
export const runnerListItemSchema = z.object({
  id: z.number().int().positive(),
  description: z.string().nullish().transform((v) => v ?? ''),
  paused: z.boolean().optional(),
  active: z.boolean().optional(), // deprecated opposite of paused (GitLab < 15)
  online: z.boolean().nullish(),
  status: z.string().optional(),
  runner_type: z.enum(RUNNER_TYPES).optional(),
  created_at: optionalDate.optional(),
});

export const runnerListSchema = z.array(runnerListItemSchema);

/** GET /runners/:id. `token_expires_at` only on GitLab versions that expose it there. */
export const runnerDetailsSchema = runnerListItemSchema.extend({
  contacted_at: optionalDate.optional(),
  token_expires_at: optionalDate.optional(),
  tag_list: z.array(z.string()).nullish(),
  version: z.string().nullish(),
  run_untagged: z.boolean().optional(),
  locked: z.boolean().optional(),
  maintenance_note: z.string().nullish(),
});

export type RunnerListItem = z.infer<typeof runnerListItemSchema>;
export type RunnerDetails = z.infer<typeof runnerDetailsSchema>;

/**
 * POST /user/runners: the new runner's id and its authentication token. The token is a secret:
 * callers wrap it in a Secret at once (runner-registration.ts), and a parse failure must not echo
 * it (zod 4 issues carry no input unless asked to). `glrt-` is the runner authentication token
 * prefix (legacy registration tokens look different and are refused).
 */
export const createdRunnerSchema = z.object({
  id: z.number().int().positive(),
  token: z.string().regex(/^glrt-\S+$/, { message: 'is not a runner authentication token (glrt-)' }),
  token_expires_at: optionalDate.optional(),
});

export type CreatedRunnerBody = z.infer<typeof createdRunnerSchema>;
