/**
 * The bot's own account: the bot role and its policy, and the fleet roles of the environments that
 * live in this account (those without `roleArn` in runner-ops.yml).
 *
 * The bot role is what the per-account `runner-ops` roles trust. It can be assumed by EC2 (a host
 * running `docker compose up`; an instance profile of the same name is created), by ECS tasks (the
 * runtime stack) and by any further principal the config names (an operator's role for a local run).
 */
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { BotPolicy, type FleetRefs } from '../bot-policy';
import { type InfraConfig, isForeign, tokenParameterOf } from '../config';
import { FleetRoles } from '../fleet-roles';
import { environmentOutputs, fleetFileOutput } from '../outputs';
import { Arns, BOT_POLICY_NAME, BOT_ROLE_NAME, ENVIRONMENT_ROLE_NAME, EVENTS_QUEUE_NAME, PARAMETER_PATH_PREFIX, pascal } from '../naming';

export interface BotStackProps extends StackProps {
  config: InfraConfig;
}

/** Every (account, region) that has environments: one events stack, one queue each. */
export function eventLocations(cfg: InfraConfig): { account: string | undefined; region: string }[] {
  const seen = new Map<string, { account: string | undefined; region: string }>();
  for (const env of Object.values(cfg.environments)) {
    const account = isForeign(cfg, env) ? env.account : cfg.bot.account;
    seen.set(`${account ?? ''}/${env.region}`, { account, region: env.region });
  }
  return [...seen.values()];
}

export function foreignAccounts(cfg: InfraConfig): string[] {
  const accounts = new Set<string>();
  for (const env of Object.values(cfg.environments)) if (isForeign(cfg, env)) accounts.add(env.account);
  return [...accounts].sort();
}

/** Explicit repository lists, or undefined (= every repository in the account) when any environment uses the default. */
export function ecrRepositoriesOf(envs: readonly { ecrRepositoryArns?: readonly string[] | undefined }[]): string[] | undefined {
  if (envs.some((e) => e.ecrRepositoryArns === undefined)) return undefined;
  return [...new Set(envs.flatMap((e) => e.ecrRepositoryArns ?? []))];
}

export class BotStack extends Stack {
  readonly botRole: iam.Role;
  readonly fleets: Record<string, FleetRoles> = {};
  readonly botPolicy: BotPolicy;

  constructor(scope: Construct, id: string, props: BotStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const account = this.account;
    const arns = new Arns(cfg.partition, account);

    const trust: { principal: iam.IPrincipal }[] = [];
    const assumedBy = new Set(cfg.bot.assumedBy);
    if (cfg.runtime !== undefined) assumedBy.add('ecs-tasks');
    if (assumedBy.has('ec2')) trust.push({ principal: new iam.ServicePrincipal('ec2.amazonaws.com') });
    if (assumedBy.has('ecs-tasks')) {
      trust.push({
        principal: new iam.ServicePrincipal('ecs-tasks.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': account } } }),
      });
    }
    for (const arn of cfg.bot.trustedPrincipalArns) trust.push({ principal: new iam.ArnPrincipal(arn) });
    const [first, ...rest] = trust;
    if (first === undefined) throw new Error('bot.assumedBy and bot.trustedPrincipalArns are both empty: nothing could assume the bot role');

    this.botRole = new iam.Role(this, 'BotRole', {
      roleName: BOT_ROLE_NAME,
      description: 'runner-ops bot: EC2, SSM Run Command, ECR and SQS for the GitLab Runner fleet',
      assumedBy: first.principal,
      maxSessionDuration: Duration.hours(1),
    });
    for (const { principal } of rest) {
      this.botRole.assumeRolePolicy?.addStatements(new iam.PolicyStatement({ actions: ['sts:AssumeRole'], principals: [principal] }));
    }
    if (assumedBy.has('ec2')) {
      const profile = new iam.InstanceProfile(this, 'BotInstanceProfile', { instanceProfileName: BOT_ROLE_NAME, role: this.botRole });
      new CfnOutput(this, 'BotInstanceProfileName', { value: profile.instanceProfileName, description: 'instance profile of a host that runs the bot with docker compose' });
    }

    const local = Object.entries(cfg.environments).filter(([, env]) => !isForeign(cfg, env));
    const refs: FleetRefs[] = [];
    for (const [name, env] of local) {
      const tokenParameter = tokenParameterOf(name, env);
      const fleet = new FleetRoles(this, `Fleet${pascal(name)}`, {
        environment: name,
        partition: cfg.partition,
        account,
        region: env.region,
        tokenParameter,
        ...(env.ecrRepositoryArns !== undefined ? { ecrRepositoryArns: env.ecrRepositoryArns } : {}),
        ecrPushRepositoryArns: env.ecrPushRepositoryArns,
        ...(env.ssmOutputBucket !== undefined ? { ssmOutputBucket: env.ssmOutputBucket } : {}),
        ...(cfg.kmsKeyArns !== undefined ? { kmsKeyArns: cfg.kmsKeyArns } : {}),
      });
      this.fleets[name] = fleet;
      refs.push(fleet.refs);
      environmentOutputs(this, name, fleet, tokenParameter);
    }

    const ecrRepositoryArns = ecrRepositoriesOf(local.map(([, e]) => e));
    this.botPolicy = new BotPolicy(this, 'BotPolicy', {
      managedPolicyName: BOT_POLICY_NAME,
      description: 'runner-ops bot: exactly the AWS calls the bot makes (test/infra/consistency.test.ts)',
      roles: [this.botRole],
      partition: cfg.partition,
      account,
      fleets: refs,
      ...(ecrRepositoryArns !== undefined ? { ecrRepositoryArns } : {}),
      ...(cfg.kmsKeyArns !== undefined ? { kmsKeyArns: cfg.kmsKeyArns } : {}),
      assumeRoleArns: foreignAccounts(cfg).map((a) => new Arns(cfg.partition, a).role(ENVIRONMENT_ROLE_NAME)),
      eventQueueArns: eventLocations(cfg).map((l) => (l.account === undefined ? arns : new Arns(cfg.partition, l.account)).queue(EVENTS_QUEUE_NAME, l.region)),
    });

    new CfnOutput(this, 'BotRoleArn', { value: this.botRole.roleArn, description: 'the role the bot runs as; the per-account runner-ops roles trust it' });
    fleetFileOutput(this, 'ParameterPathPrefix', PARAMETER_PATH_PREFIX, 'environments.<env>.gitlab.tokenParameter must start with this');
  }
}
