/**
 * The fleet file (runner-ops.yml), CONTRACT §5. Parsed once with zod; every problem is reported
 * with its path. Objects are strict, so a misspelt key is an error rather than a silently ignored
 * setting.
 */
import { z } from 'zod';
import * as g from './grammar';

const httpUrl = z.url({ protocol: /^https?$/, message: 'must be an http(s) URL' });

const approvalSchema = z.strictObject({
  required: z.boolean().default(false),
  approvers: z.array(g.slackUserId).default([]),
  approverGroups: z.array(g.slackGroupId).default([]),
  allowSelfApproval: z.boolean().default(false),
  expiresAfterMinutes: z.number().int().min(1).max(7 * 24 * 60).default(30),
});

const managerSchema = z.strictObject({
  instanceType: g.instanceType,
  ami: g.amiRef,
  subnetId: g.subnetId,
  securityGroupIds: z.array(g.securityGroupId).min(1),
  instanceProfile: g.instanceProfileName,
  drainTimeoutMinutes: z.number().int().min(1).max(24 * 60).default(30),
});

const autoscalingSchema = z.strictObject({
  periods: z.array(g.autoscalingPeriod).min(1),
  idleCount: z.number().int().min(0).max(1000),
  idleTimeSeconds: z.number().int().min(0).max(7 * 24 * 3600),
  timezone: g.timezone.optional(),
});

const workersSchema = z.strictObject({
  executor: z.literal('docker+machine'),
  instanceTypes: z.array(g.instanceType).min(1),
  ami: g.amiRef,
  spot: z.boolean().default(true),
  spotPrice: g.spotPrice.optional(),
  vpcId: g.vpcId,
  subnetId: g.subnetId,
  zone: g.zoneLetter,
  securityGroup: g.securityGroupName,
  instanceProfile: g.instanceProfileName,
  rootSizeGb: z.number().int().min(8).max(16384).default(30),
  idleCount: z.number().int().min(0).max(1000).default(0),
  idleTimeSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(1800),
  maxBuilds: z.number().int().min(0).max(100000).default(20),
  concurrent: z.number().int().min(1).max(1000).default(10),
  autoscaling: z.array(autoscalingSchema).default([]),
});

const gitlabSchema = z.strictObject({
  runnerType: z.enum(['instance_type', 'group_type', 'project_type']),
  groupId: z.number().int().positive().optional(),
  projectId: z.number().int().positive().optional(),
  tags: z.array(g.runnerTag).default([]),
  runUntagged: z.boolean().default(false),
  description: g.description,
  tokenParameter: g.ssmParameterName,
  staleAfterDays: z.number().int().min(1).max(3650).default(14),
}).superRefine((v, ctx) => {
  if (v.runnerType === 'group_type' && v.groupId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['groupId'], message: 'is required when runnerType is group_type' });
  }
  if (v.runnerType === 'project_type' && v.projectId === undefined) {
    ctx.addIssue({ code: 'custom', path: ['projectId'], message: 'is required when runnerType is project_type' });
  }
  if (!v.runUntagged && v.tags.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['tags'], message: 'must name at least one tag when runUntagged is false' });
  }
});

const ecrSchema = z.strictObject({
  registries: z.array(g.registryHost).min(1),
  verifyImage: g.imageReference,
  verifyTtlMinutes: z.number().int().min(5).max(24 * 60).default(30),
}).superRefine((v, ctx) => {
  const host = g.IMAGE_REFERENCE.exec(v.verifyImage)?.groups?.registry;
  if (host !== undefined && !v.registries.includes(host)) {
    ctx.addIssue({ code: 'custom', path: ['verifyImage'], message: `names registry ${host}, which is not listed in ecr.registries` });
  }
});

/**
 * Version overrides. The file accepts any well-formed version, so a fleet file written for
 * another build still loads; rendering an artifact (render, bootstrap) refuses a downloaded
 * binary whose published sha256 this build does not pin (src/fleet/versions.ts), naming the path.
 */

const versionsSchema = z.strictObject({
  // From 17.7 the package depends on gitlab-runner-helper-images of the same version, which the
  // bootstrap pins alongside it.
  gitlabRunner: g.version.refine((v) => /^\d+\.\d+\.\d+$/.test(v) && (([maj = 0, min = 0]) => maj > 17 || (maj === 17 && min >= 7))(v.split('.').map(Number)), { message: 'must be a gitlab-runner release 17.7.0 or later, such as 18.5.0' }).optional(),
  dockerMachine: g.version.optional(),
  ecrCredentialHelper: g.version.optional(),
});

function stringLeaves(value: unknown, path: (string | number)[] = []): [(string | number)[], string][] {
  if (typeof value === 'string') return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, [...path, k]));
  return [];
}

export const environmentSchema = z.strictObject({
  region: g.region,
  roleArn: g.roleArn.optional(),
  channel: g.slackChannelId.optional(),
  operators: z.array(g.slackUserId).optional(),
  approval: approvalSchema.prefault({}),
  manager: managerSchema,
  workers: workersSchema,
  gitlab: gitlabSchema,
  ecr: ecrSchema,
  ssm: z.strictObject({ outputBucket: g.s3BucketName.optional() }).prefault({}),
  versions: versionsSchema.prefault({}),
}).superRefine((v, ctx) => {
  // `@@` marks the placeholders the manager fills in config.toml (src/fleet/placeholders.ts).
  for (const [path, text] of stringLeaves(v)) {
    if (text.includes('@@')) ctx.addIssue({ code: 'custom', path, message: 'must not contain @@' });
  }
  if (v.approval.required && v.approval.approvers.length === 0 && v.approval.approverGroups.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['approval', 'approvers'], message: 'approval is required but no approvers or approverGroups are listed' });
  }
});

export const fleetSchema = z.strictObject({
  alerts: z.strictObject({
    queues: z.array(httpUrl).default([]),
    channel: g.slackChannelId.optional(),
    storm: z.strictObject({
      threshold: z.number().int().min(1).max(10000).default(5),
      windowSeconds: z.number().int().min(1).max(86400).default(120),
    }).prefault({}),
  }).prefault({}),
  environments: z.record(z.string(), environmentSchema).superRefine((envs, ctx) => {
    for (const name of Object.keys(envs)) {
      if (!g.environmentName.safeParse(name).success) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'environment names must be lowercase letters, digits and dashes, starting with a letter, at most 32 characters' });
      }
    }
    if (Object.keys(envs).length === 0) ctx.addIssue({ code: 'custom', path: [], message: 'at least one environment is required' });
  }),
});

export type FleetConfig = z.infer<typeof fleetSchema>;
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
