/**
 * The infra app's input: which accounts and regions the environments live in, and the few choices
 * the templates cannot guess (ECR repositories, KMS keys, the optional Fargate runtime). Parsed
 * once with zod; a file that does not validate stops synth with every problem listed by path, the
 * way the bot treats runner-ops.yml.
 *
 * The names of everything the stacks create are fixed (naming.ts), so the stacks need no
 * cross-stack references and the outputs map straight into runner-ops.yml.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { PARAMETER_PATH_PREFIX } from './naming';

const re = (pattern: RegExp, what: string) => z.string().regex(pattern, { message: `must be ${what}` });

const accountId = re(/^\d{12}$/, 'a 12-digit AWS account id');
const region = re(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as eu-central-1');
/** The same grammar as the fleet file's environment names (src/config/grammar.ts). */
const environmentName = re(/^[a-z][a-z0-9-]{0,31}$/, 'lowercase letters, digits and dashes, starting with a letter, at most 32 characters');
const arn = re(/^arn:[a-z-]+:[a-z0-9-]+:[a-z0-9-*]*:(\d{12}|\*|):\S+$/, 'an ARN (wildcards allowed in region and resource)');
const s3BucketName = re(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
const tokenParameter = re(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'an SSM parameter path starting with /')
  .refine((v) => v.startsWith(PARAMETER_PATH_PREFIX), { message: `must start with ${PARAMETER_PATH_PREFIX} (the bot may only touch parameters under that path)` });

const environmentSchema = z.object({
  /** The account the environment lives in. Absent or the bot's account: the bot acts with its own role (no `roleArn`). */
  account: accountId.optional(),
  region,
  /** Default `/runner-ops/<environment>/runner-token`. */
  tokenParameter: tokenParameter.optional(),
  /** Repositories the manager and workers pull from and `verify-ecr` describes. Default: every repository in the environment's account. */
  ecrRepositoryArns: z.array(arn).min(1).optional(),
  /** Repositories the workers may push to (jobs that build images). Default: none. */
  ecrPushRepositoryArns: z.array(arn).default([]),
  /** The fleet file's `ssm.outputBucket`: the manager and workers may write command output there. */
  ssmOutputBucket: s3BucketName.optional(),
}).strict();

const runtimeSchema = z.object({
  /** The bot image (built from the repository's Dockerfile and pushed to a registry the execution role can pull from). */
  image: z.string().min(1),
  /** runner-ops.yml, relative to the repository root; stored as an SSM String parameter the task reads at start. */
  fleetFile: z.string().min(1),
  desiredCount: z.number().int().min(1).max(20).default(2),
  maxCount: z.number().int().min(1).max(50).default(4),
  cpu: z.number().int().default(512),
  memoryMiB: z.number().int().default(1024),
  cpuArchitecture: z.enum(['X86_64', 'ARM64']).default('X86_64'),
  redisNodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, { message: 'must be an ElastiCache node type such as cache.t4g.small' }).default('cache.t4g.small'),
  /** Existing Secrets Manager secret (complete ARN) with the keys SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, GITLAB_TOKEN. Default: the stack creates an empty one to fill in. */
  secretArn: arn.optional(),
  /** Non-secret environment variables of the bot (CONTRACT §2), e.g. GITLAB_URL, LOG_LEVEL, REDIS_PREFIX. */
  environment: z.record(re(/^[A-Z][A-Z0-9_]*$/, 'an environment variable name'), z.string()).default({}),
  /** Use an existing VPC (its private subnets need a route to the internet for Slack, GitLab and AWS APIs). */
  vpc: z.object({
    vpcId: re(/^vpc-[0-9a-f]{4,17}$/, 'a VPC id'),
    availabilityZones: z.array(z.string().min(1)).min(2),
    privateSubnetIds: z.array(re(/^subnet-[0-9a-f]{4,17}$/, 'a subnet id')).min(2),
  }).strict().optional(),
  /** For a new VPC: its Availability Zones, named so that synth needs no AWS lookup. */
  availabilityZones: z.array(z.string().min(1)).min(2).optional(),
}).strict()
  .refine((r) => r.vpc !== undefined || r.availabilityZones !== undefined, { message: 'set either vpc (an existing VPC) or availabilityZones (for a new VPC)', path: ['availabilityZones'] })
  .refine((r) => r.maxCount >= r.desiredCount, { message: 'must be at least desiredCount', path: ['maxCount'] });

export const infraConfigSchema = z.object({
  /** `aws`, `aws-cn` or `aws-us-gov`. */
  partition: re(/^aws(-[a-z]+)*$/, 'an AWS partition such as aws').default('aws'),
  bot: z.object({
    /** The account the bot's own role lives in. Absent: an environment-agnostic bot stack (not allowed with other accounts). */
    account: accountId.optional(),
    /** Where the bot runs (and the optional runtime stack goes). */
    region,
    /** Services that may assume the bot role: `ec2` (a host running docker compose) and/or `ecs-tasks` (the runtime stack adds it). */
    assumedBy: z.array(z.enum(['ec2', 'ecs-tasks'])).default(['ec2']),
    /** Further principals (role ARNs) that may assume the bot role, e.g. an operator's SSO role for a local run. */
    trustedPrincipalArns: z.array(arn).default([]),
  }).strict(),
  /** Customer managed KMS keys of the token parameters. Default: any key, but only through SSM and only for parameters under /runner-ops/. */
  kmsKeyArns: z.array(arn).min(1).optional(),
  environments: z.record(environmentName, environmentSchema).refine((e) => Object.keys(e).length > 0, { message: 'must name at least one environment' }),
  runtime: runtimeSchema.optional(),
}).strict().superRefine((cfg, ctx) => {
  const foreign = Object.entries(cfg.environments).filter(([, e]) => e.account !== undefined && e.account !== cfg.bot.account);
  if (cfg.bot.account === undefined && foreign.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['bot', 'account'], message: `is required when environments live in other accounts (${foreign.map(([n]) => n).join(', ')}): their role trusts the bot role by ARN` });
  }
});

export type InfraConfigInput = z.input<typeof infraConfigSchema>;
export type InfraConfig = z.output<typeof infraConfigSchema>;
export type EnvironmentInfra = z.output<typeof environmentSchema>;
export type RuntimeConfig = z.output<typeof runtimeSchema>;

export class InfraConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source} is not a valid infra config:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'InfraConfigError';
  }
}

function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    // A bad record key (an environment name): report the key's own rule, not "Invalid key in record".
    if (issue.code === 'invalid_key') return formatIssues(issue.issues, path);
    return [`${path.length > 0 ? path.map(String).join('.') : '(top level)'}: ${issue.message}`];
  });
}

export function parseInfraConfig(input: unknown, source = 'infra config'): InfraConfig {
  const result = infraConfigSchema.safeParse(input);
  if (!result.success) throw new InfraConfigError(source, formatIssues(result.error.issues));
  return result.data;
}

export function loadInfraConfig(file: string): InfraConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InfraConfigError(file, [err instanceof Error ? err.message : String(err)]);
  }
  return parseInfraConfig(raw, file);
}

/** The token parameter of an environment: configured, or `/runner-ops/<environment>/runner-token`. */
export function tokenParameterOf(name: string, env: EnvironmentInfra): string {
  return env.tokenParameter ?? `${PARAMETER_PATH_PREFIX}${name}/runner-token`;
}

/** The account an environment lives in; undefined means the bot's own (possibly unresolved) account. */
export function isForeign(cfg: InfraConfig, env: EnvironmentInfra): env is EnvironmentInfra & { account: string } {
  return env.account !== undefined && env.account !== cfg.bot.account;
}
