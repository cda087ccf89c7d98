/**
 * The bot role and its policy (RunnerOpsBot), statement by statement: every action, resource and
 * condition is asserted exactly, and no statement exists that is not listed here.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { BOT_ACCOUNT, BOT_REGION, OPERATOR_ROLE_ARN, OTHER_ACCOUNT, OTHER_REGION, synthesize, type Synthesized } from './support/fixtures';
import { environmentStatements } from './support/expected';
import { managedPolicyStatements, roleProperties } from './support/iam';

const A = BOT_ACCOUNT;

const BOT_ONLY = [
  { Sid: 'StsAssumeEnvironmentRoles', Effect: 'Allow', Action: 'sts:AssumeRole', Resource: `arn:aws:iam::${OTHER_ACCOUNT}:role/runner-ops` },
  {
    Sid: 'SqsConsumeSpotEvents', Effect: 'Allow',
    Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
    Resource: [`arn:aws:sqs:${BOT_REGION}:${A}:runner-ops-events`, `arn:aws:sqs:${OTHER_REGION}:${OTHER_ACCOUNT}:runner-ops-events`],
  },
];

const EXPECTED = [...environmentStatements(A, ['staging'], [`arn:aws:ecr:*:${A}:repository/*`]), ...BOT_ONLY];

let synth: Synthesized;
beforeAll(() => { synth = synthesize(); });
afterAll(() => synth.cleanup());

describe('the bot policy (runner-ops-bot)', () => {
  it.each(EXPECTED.map((s) => [s.Sid, s] as const))('%s: exactly these actions, resources and conditions', (_sid, statement) => {
    synth.bot.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'runner-ops-bot',
      PolicyDocument: { Statement: Match.arrayWith([Match.objectEquals(statement)]) },
    });
  });

  it('has no other statement', () => {
    expect(managedPolicyStatements(synth.bot, 'runner-ops-bot').map((s) => s.Sid)).toEqual(EXPECTED.map((s) => s.Sid));
  });

  it('is attached to the bot role only, and fits the managed-policy size limit', () => {
    synth.bot.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'runner-ops-bot',
      Roles: [{ Ref: Match.stringLikeRegexp('^BotRole') }],
    });
    const document = JSON.stringify({ Version: '2012-10-17', Statement: managedPolicyStatements(synth.bot, 'runner-ops-bot') });
    expect(document.replace(/\s/g, '').length).toBeLessThan(6144);
  });

  it('has no statements for its own account when every environment lives elsewhere', () => {
    const only = synthesize({
      bot: { account: A, region: BOT_REGION },
      environments: { prod: { account: OTHER_ACCOUNT, region: OTHER_REGION } },
    });
    try {
      expect(managedPolicyStatements(only.bot, 'runner-ops-bot').map((s) => s.Sid)).toEqual(['StsAssumeEnvironmentRoles', 'SqsConsumeSpotEvents']);
    } finally {
      only.cleanup();
    }
  });

  it('names only configured repositories and keys when the config lists them', () => {
    const repos = [`arn:aws:ecr:${BOT_REGION}:${A}:repository/ci/*`];
    const keys = [`arn:aws:kms:${BOT_REGION}:${A}:key/1234abcd-12ab-34cd-56ef-1234567890ab`];
    const own = synthesize({ bot: { account: A, region: BOT_REGION }, kmsKeyArns: keys, environments: { staging: { region: BOT_REGION, ecrRepositoryArns: repos } } });
    try {
      const statements = managedPolicyStatements(own.bot, 'runner-ops-bot');
      expect(statements.find((s) => s.Sid === 'EcrDescribeImages')?.Resource).toEqual(repos[0]);
      expect(statements.find((s) => s.Sid === 'KmsTokenParameters')?.Resource).toEqual(keys[0]);
    } finally {
      own.cleanup();
    }
  });
});

describe('the bot role (runner-ops-bot)', () => {
  it('is assumed by EC2, by ECS tasks of its own account (runtime stack) and by the configured operators, nothing else', () => {
    expect(roleProperties(synth.bot, 'runner-ops-bot').AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } },
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': A } } },
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: OPERATOR_ROLE_ARN } },
      ],
    });
    expect(roleProperties(synth.bot, 'runner-ops-bot').MaxSessionDuration).toBe(3600);
  });

  it('has an instance profile of the same name for a docker compose host', () => {
    synth.bot.hasResourceProperties('AWS::IAM::InstanceProfile', {
      InstanceProfileName: 'runner-ops-bot',
      Roles: [{ Ref: Match.stringLikeRegexp('^BotRole') }],
    });
  });

  it('carries no inline policy and no managed policy but its own', () => {
    const role = roleProperties(synth.bot, 'runner-ops-bot');
    expect(role.Policies).toBeUndefined();
    expect(role.ManagedPolicyArns).toBeUndefined();
  });

  it('exports what runner-ops.yml needs', () => {
    synth.bot.hasOutput('BotRoleArn', { Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BotRole'), 'Arn'] } });
    synth.bot.hasOutput('ParameterPathPrefix', { Value: '/runner-ops/' });
    synth.bot.hasOutput('StagingManagerInstanceProfile', { Description: 'runner-ops.yml: environments.staging.manager.instanceProfile' });
    synth.bot.hasOutput('StagingWorkerInstanceProfile', { Description: 'runner-ops.yml: environments.staging.workers.instanceProfile' });
    synth.bot.hasOutput('StagingTokenParameter', { Value: '/runner-ops/staging/runner-token', Description: 'runner-ops.yml: environments.staging.gitlab.tokenParameter' });
  });
});
