/**
 * Process environment variables (CONTRACT §2), parsed once by the composition root. Nothing else
 * reads process.env. Error messages name the variable and the rule, never the value.
 */
import { z } from 'zod';

const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const envSchema = z.object({
  SLACK_BOT_TOKEN: z.string({ message: 'is required' }).regex(/^xoxb-[A-Za-z0-9-]+$/, { message: 'must be a bot token starting with xoxb-' }),
  SLACK_SIGNING_SECRET: z.string().min(1, { message: 'must not be empty' }).optional(),
  SLACK_APP_TOKEN: z.string().regex(/^xapp-[A-Za-z0-9-]+$/, { message: 'must be an app-level token starting with xapp-' }).optional(),
  SLACK_API_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default('https://slack.com/api/')
    .transform((u) => (u.endsWith('/') ? u : `${u}/`)),
  PORT: z.coerce.number({ message: 'must be a port number' }).int().min(0).max(65535).default(3000),
  REDIS_URL: z.url({ protocol: /^rediss?$/, message: 'must be a redis:// or rediss:// URL' }).default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, { message: 'must be 1-64 characters of letters, digits and _.:-' }).default('runner-ops'),
  GITLAB_URL: z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' }).default('https://gitlab.com')
    .transform((u) => u.replace(/\/+$/, '')),
  GITLAB_TOKEN: z.string().min(1, { message: 'must not be empty' }).optional(),
  RUNNER_OPS_CONFIG: z.string().min(1).default('./runner-ops.yml'),
  LOG_LEVEL: z.enum(levels, { message: `must be one of ${levels.join(', ')}` }).default('info'),
});

/** Rules across variables, checked on the raw input so they are reported with the others. */
export function crossVariableProblems(input: Record<string, string>): string[] {
  if (input.SLACK_APP_TOKEN === undefined && input.SLACK_SIGNING_SECRET === undefined) {
    return ['SLACK_SIGNING_SECRET: is required in HTTP mode (set it, or set SLACK_APP_TOKEN for Socket Mode)'];
  }
  return [];
}

export type Env = z.infer<typeof envSchema>;

/** Empty strings count as unset, as a shell `FOO=` would suggest. */
export function envInput(source: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(envSchema.shape)) {
    const value = source[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}
