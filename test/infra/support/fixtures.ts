/**
 * The infra app built from a test config that exercises every stack: the bot account with one
 * environment (defaults everywhere), a second account with one environment (every option set), and
 * the Fargate runtime in an existing VPC. Templates come from aws-cdk-lib/assertions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BuiltApp } from '../../../infra/lib/app';
import { parseInfraConfig, type InfraConfigInput } from '../../../infra/lib/config';

export const REPO_ROOT = resolve(__dirname, '../../..');
export const BOT_ACCOUNT = '111111111111';
export const OTHER_ACCOUNT = '222222222222';
export const BOT_REGION = 'eu-central-1';
export const OTHER_REGION = 'eu-west-1';
export const BOT_ROLE_ARN = `arn:aws:iam::${BOT_ACCOUNT}:role/runner-ops-bot`;
export const OPERATOR_ROLE_ARN = `arn:aws:iam::${BOT_ACCOUNT}:role/operators`;
export const PROD_REPOS = [`arn:aws:ecr:${OTHER_REGION}:${BOT_ACCOUNT}:repository/ci/*`];
export const PROD_PUSH_REPOS = [`arn:aws:ecr:${OTHER_REGION}:${OTHER_ACCOUNT}:repository/builds/*`];
export const PROD_BUCKET = 'prod-ssm-output';

export const TEST_CONFIG: InfraConfigInput = {
  bot: { account: BOT_ACCOUNT, region: BOT_REGION, assumedBy: ['ec2'], trustedPrincipalArns: [OPERATOR_ROLE_ARN] },
  environments: {
    staging: { region: BOT_REGION },
    prod: {
      account: OTHER_ACCOUNT,
      region: OTHER_REGION,
      tokenParameter: '/runner-ops/prod/glrt',
      ecrRepositoryArns: PROD_REPOS,
      ecrPushRepositoryArns: PROD_PUSH_REPOS,
      ssmOutputBucket: PROD_BUCKET,
    },
  },
  runtime: {
    image: `${BOT_ACCOUNT}.dkr.ecr.${BOT_REGION}.amazonaws.com/runner-ops:1.2.3`,
    fleetFile: 'runner-ops.example.yml',
    desiredCount: 2,
    maxCount: 3,
    vpc: { vpcId: 'vpc-0abc1234', availabilityZones: ['eu-central-1a', 'eu-central-1b'], privateSubnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'] },
    environment: { GITLAB_URL: 'https://gitlab.example.com' },
  },
};

export interface Synthesized {
  built: BuiltApp;
  readonly bot: Template;
  readonly account: Template;
  readonly botEvents: Template;
  readonly otherEvents: Template;
  readonly runtime: Template;
  cleanup(): void;
}

/** Templates are read lazily: a config without some stack can still be synthesized. */
export function synthesize(input: InfraConfigInput = TEST_CONFIG): Synthesized {
  const outdir = mkdtempSync(join(tmpdir(), 'runner-ops-infra-'));
  const built = buildApp(parseInfraConfig(input), { repoRoot: REPO_ROOT, outdir });
  const only = <T>(items: T[], what: string): T => {
    const item = items[0];
    if (item === undefined || items.length > 1) throw new Error(`expected one ${what}, found ${items.length}`);
    return item;
  };
  const cache = new Map<string, Template>();
  const template = (key: string, stack: () => Stack): Template => {
    let t = cache.get(key);
    if (t === undefined) {
      t = Template.fromStack(stack());
      cache.set(key, t);
    }
    return t;
  };
  const events = (account: string) => only(built.events.filter((s) => s.account === account), `events stack for ${account}`);
  return {
    built,
    get bot() { return template('bot', () => built.bot); },
    get account() { return template('account', () => only(built.accounts, 'account stack')); },
    get botEvents() { return template('botEvents', () => events(BOT_ACCOUNT)); },
    get otherEvents() { return template('otherEvents', () => events(OTHER_ACCOUNT)); },
    get runtime() { return template('runtime', () => only(built.runtime !== undefined ? [built.runtime] : [], 'runtime stack')); },
    cleanup: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
