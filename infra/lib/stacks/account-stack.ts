/**
 * One per account that environments live in besides the bot's own (`roleArn`, CONTRACT §5/§6):
 * the `runner-ops` role the bot assumes there, trusting only the bot role, with the same
 * statements the bot policy has for its own account (bot-policy.ts), and the fleet roles of the
 * environments in this account. IAM is global: one stack per account, whatever the regions.
 */
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { BotPolicy } from '../bot-policy';
import { type InfraConfig, tokenParameterOf } from '../config';
import { FleetRoles } from '../fleet-roles';
import { environmentOutputs, fleetFileOutput } from '../outputs';
import { Arns, BOT_ROLE_NAME, ENVIRONMENT_POLICY_NAME, ENVIRONMENT_ROLE_NAME, pascal } from '../naming';
import { ecrRepositoriesOf } from './bot-stack';

export interface AccountStackProps extends StackProps {
  config: InfraConfig;
  /** This stack's account. */
  account: string;
  /** The bot's account (its role is the only principal trusted here). */
  botAccount: string;
}

export class AccountStack extends Stack {
  readonly role: iam.Role;
  readonly fleets: Record<string, FleetRoles> = {};

  constructor(scope: Construct, id: string, props: AccountStackProps) {
    super(scope, id, props);
    const cfg = props.config;
    const botRoleArn = new Arns(cfg.partition, props.botAccount).role(BOT_ROLE_NAME);
    const envs = Object.entries(cfg.environments).filter(([, e]) => e.account === props.account);

    this.role = new iam.Role(this, 'EnvironmentRole', {
      roleName: ENVIRONMENT_ROLE_NAME,
      description: `runner-ops: assumed by the bot (${botRoleArn}) for the environments ${envs.map(([n]) => n).join(', ')}`,
      assumedBy: new iam.ArnPrincipal(botRoleArn),
      maxSessionDuration: Duration.hours(1),
    });

    const refs = envs.map(([name, env]) => {
      const tokenParameter = tokenParameterOf(name, env);
      const fleet = new FleetRoles(this, `Fleet${pascal(name)}`, {
        environment: name,
        partition: cfg.partition,
        account: props.account,
        region: env.region,
        tokenParameter,
        ...(env.ecrRepositoryArns !== undefined ? { ecrRepositoryArns: env.ecrRepositoryArns } : {}),
        ecrPushRepositoryArns: env.ecrPushRepositoryArns,
        ...(env.ssmOutputBucket !== undefined ? { ssmOutputBucket: env.ssmOutputBucket } : {}),
        ...(cfg.kmsKeyArns !== undefined ? { kmsKeyArns: cfg.kmsKeyArns } : {}),
      });
      this.fleets[name] = fleet;
      environmentOutputs(this, name, fleet, tokenParameter);
      return fleet.refs;
    });

    const ecrRepositoryArns = ecrRepositoriesOf(envs.map(([, e]) => e));
    new BotPolicy(this, 'EnvironmentPolicy', {
      managedPolicyName: ENVIRONMENT_POLICY_NAME,
      description: 'runner-ops: what the bot does in this account, through this role',
      roles: [this.role],
      partition: cfg.partition,
      account: props.account,
      fleets: refs,
      ...(ecrRepositoryArns !== undefined ? { ecrRepositoryArns } : {}),
      ...(cfg.kmsKeyArns !== undefined ? { kmsKeyArns: cfg.kmsKeyArns } : {}),
    });

    for (const [name] of envs) {
      fleetFileOutput(this, `${pascal(name)}RoleArn`, this.role.roleArn, `environments.${name}.roleArn`);
    }
  }
}
