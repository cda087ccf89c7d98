/**
 * Strict grammars for every fleet-file value that can reach a shell script, an AWS call or a
 * tag. A value that does not match is a fleet-file error with its path, never a script: the
 * renderers in src/fleet/ may therefore assume these shapes, and still quote every value through
 * the one quoting helper (src/fleet/shell.ts).
 */
import { z } from 'zod';

const re = (pattern: RegExp, what: string) => z.string().regex(pattern, { message: `must be ${what}` });

/** An environment name: used in tags, key names, SSM paths and the slash command. */
export const environmentName = re(/^[a-z][a-z0-9-]{0,31}$/, 'lowercase letters, digits and dashes, starting with a letter, at most 32 characters');
export const region = re(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'an AWS region such as eu-central-1');
export const roleArn = re(/^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/, 'an IAM role ARN (arn:aws:iam::123456789012:role/name)');
export const instanceType = re(/^[a-z][a-z0-9-]*\d[a-z0-9-]*\.[a-z0-9]+$/, 'an EC2 instance type such as t4g.micro');
export const subnetId = re(/^subnet-[0-9a-f]{4,17}$/, 'a subnet id (subnet-…)');
export const securityGroupId = re(/^sg-[0-9a-f]{4,17}$/, 'a security group id (sg-…)');
export const vpcId = re(/^vpc-[0-9a-f]{4,17}$/, 'a VPC id (vpc-…)');
export const securityGroupName = re(/^[A-Za-z0-9 ._:/()#,@[\]+=&;{}!$*-]{1,255}$/, 'a security group name (letters, digits, spaces and ._-:/()#,@[]+=&;{}!$*)')
  .refine((v) => v.trim() === v && !/[;&$!*{}]/.test(v), { message: 'must be a plain security group name (letters, digits, space, ._-:/()#,@[]+=)' });
export const instanceProfileName = re(/^[\w+=,.@-]{1,128}$/, 'an IAM instance profile name');
/** A literal AMI id or an SSM public-parameter reference resolved at launch. */
export const amiRef = z.union([
  re(/^ami-[0-9a-f]{8,17}$/, 'an AMI id'),
  re(/^resolve:ssm:\/[A-Za-z0-9_.\-/]{1,1011}$/, 'resolve:ssm:/parameter/path'),
], { message: 'must be an AMI id (ami-…) or resolve:ssm:/parameter/path' });
export const zoneLetter = re(/^[a-z]$/, 'one Availability Zone letter such as a');
export const ssmParameterName = re(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'an SSM parameter path starting with / (letters, digits, _.-/)');
export const s3BucketName = re(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name');
export const slackChannelId = re(/^[CGD][A-Z0-9]{2,20}$/, 'a Slack channel id such as C0PRODOPS');
export const slackUserId = re(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id such as U0ALICE');
export const slackGroupId = re(/^S[A-Z0-9]{2,20}$/, 'a Slack user group id such as S0SRE');
/** A registry host, optionally with a port: `123456789012.dkr.ecr.eu-central-1.amazonaws.com`, `public.ecr.aws`. */
export const registryHost = re(/^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:\d{1,5})?$/, 'a registry host name such as 123456789012.dkr.ecr.eu-central-1.amazonaws.com');
/**
 * An image reference per the OCI distribution reference grammar (docker/distribution
 * reference.go), restricted to references that name their registry host (so that the registry can
 * be checked against ecr.registries).
 */
export const IMAGE_REFERENCE = /^(?<registry>(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))+(?::[0-9]+)?)\/(?<repository>[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$/;
export const imageReference = re(IMAGE_REFERENCE, 'an image reference with its registry host, such as 123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest')
  .refine((v) => v.length <= 255 * 2, { message: 'is too long for an image reference' });
/** Runner tags in GitLab: no commas or spaces (GitLab splits the list on commas). */
export const runnerTag = re(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,254}$/, 'a runner tag (letters, digits, _.:/-)');
/** Free text that ends up in GitLab (description): printable, single line, no shell meta reaches a shell. */
export const description = z.string().min(1).max(200).refine((v) => ![...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), { message: 'must be one line of printable text' });
/** A gitlab-runner / docker-machine / helper version. */
export const version = re(/^\d+\.\d+\.\d+(-gitlab\.\d+)?$/, 'a version such as 18.5.0 or 0.16.2-gitlab.40');
/** A cron expression for [[runners.machine.autoscaling]] periods (gitlab-runner's 7-field form). */
export const autoscalingPeriod = re(/^[0-9*,/ a-zA-Z-]{1,120}$/, 'a cron period such as "* * 9-17 * * mon-fri *"');
export const timezone = re(/^[A-Za-z]+(?:[/_+-][A-Za-z0-9]+)*$/, 'an IANA time zone such as Europe/Berlin');
export const spotPrice = re(/^(\d+(\.\d+)?)?$/, 'a price such as 0.05, or empty');
