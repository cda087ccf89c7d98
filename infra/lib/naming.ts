/**
 * Fixed names of everything the stacks create, and the ARNs built from them.
 *
 * Why fixed names: the fleet file names instance profiles and role ARNs, a per-account role must
 * trust the bot role by ARN before either exists, and the bot policy must name queues and roles in
 * other accounts. Deterministic names make each stack deployable on its own, with no cross-stack
 * exports, and every output is a value to copy into runner-ops.yml.
 *
 * Tag keys and values come from the bot's own source (src/adapters/aws/tags.ts), so a renamed tag
 * changes the policies' conditions with it.
 */
import { INSTANCE_ROLES, MANAGED_BY_KEY, MANAGED_BY_VALUE, TAG } from '../../src/adapters/aws/tags';

export { MANAGED_BY_KEY, MANAGED_BY_VALUE, TAG };

/** Instance roles the bot launches itself (CONTRACT §6); Docker Machine launches `worker`. */
export const BOT_LAUNCHED_ROLES: readonly string[] = INSTANCE_ROLES.filter((r) => r !== 'worker');

export const PARAMETER_PATH_PREFIX = '/runner-ops/';
export const BOT_ROLE_NAME = 'runner-ops-bot';
export const BOT_POLICY_NAME = 'runner-ops-bot';
/** CONTRACT §5 example: `roleArn: arn:aws:iam::210987654321:role/runner-ops`. */
export const ENVIRONMENT_ROLE_NAME = 'runner-ops';
export const ENVIRONMENT_POLICY_NAME = 'runner-ops-environment';
export const EVENTS_QUEUE_NAME = 'runner-ops-events';
export const EVENTS_DLQ_NAME = 'runner-ops-events-dlq';
/** Outside /runner-ops/, so the bot (which may write under /runner-ops/) cannot rewrite its own fleet file. */
export const FLEET_FILE_PARAMETER = '/runner-ops-runtime/fleet-file';
export const SPOT_SERVICE_NAME = 'spot.amazonaws.com';
export const SPOT_SERVICE_LINKED_ROLE_PATH = 'aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot';
export const RUN_SHELL_SCRIPT_DOCUMENT = 'AWS-RunShellScript';

export const managerRoleName = (env: string) => `runner-ops-${env}-manager`;
export const workerRoleName = (env: string) => `runner-ops-${env}-worker`;
/** The key pairs a manager imports (src/fleet/executors/docker-machine.ts keyPairName: `runner-ops-<env>-<instance id>`). */
export const keyPairPattern = (env: string) => `runner-ops-${env}-*`;

/** ARNs in one partition and account. `account` may be a CDK token (environment-agnostic stack). */
export class Arns {
  constructor(readonly partition: string, readonly account: string) {}

  role(name: string): string {
    return `arn:${this.partition}:iam::${this.account}:role/${name}`;
  }

  instanceProfile(name: string): string {
    return `arn:${this.partition}:iam::${this.account}:instance-profile/${name}`;
  }

  /** An EC2 resource ARN; region `*` unless given. */
  ec2(resource: string, region = '*'): string {
    return `arn:${this.partition}:ec2:${region}:${this.account}:${resource}`;
  }

  /** AMIs are owned by other accounts (Canonical, Amazon): no account in the ARN. */
  image(region = '*'): string {
    return `arn:${this.partition}:ec2:${region}::image/*`;
  }

  /** `name` starts with `/`, as parameter names under a path do. */
  parameter(name: string, region = '*'): string {
    return `arn:${this.partition}:ssm:${region}:${this.account}:parameter${name}`;
  }

  /** AWS public parameters (`resolve:ssm:/aws/service/...` AMIs) have no account in their ARN. */
  publicParameters(region = '*'): string {
    return `arn:${this.partition}:ssm:${region}::parameter/aws/service/*`;
  }

  /** AWS-owned SSM documents have no account in their ARN. */
  awsDocument(name: string): string {
    return `arn:${this.partition}:ssm:*::document/${name}`;
  }

  kmsKeys(region = '*'): string {
    return `arn:${this.partition}:kms:${region}:${this.account}:key/*`;
  }

  ecrRepositories(): string {
    return `arn:${this.partition}:ecr:*:${this.account}:repository/*`;
  }

  queue(name: string, region: string): string {
    return `arn:${this.partition}:sqs:${region}:${this.account}:${name}`;
  }

  spotServiceLinkedRole(): string {
    return `arn:${this.partition}:iam::${this.account}:role/${SPOT_SERVICE_LINKED_ROLE_PATH}`;
  }
}

export function queueUrl(account: string, region: string, name: string, urlSuffix = 'amazonaws.com'): string {
  return `https://sqs.${region}.${urlSuffix}/${account}/${name}`;
}

/** `prod-eu` -> `ProdEu`: CloudFormation logical ids and output names are alphanumeric. */
export function pascal(name: string): string {
  return name.split(/[^A-Za-z0-9]+/).filter((p) => p !== '').map((p) => p[0]?.toUpperCase() + p.slice(1)).join('');
}
