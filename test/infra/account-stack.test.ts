/**
 * The per-account stack (an environment with `roleArn`): the `runner-ops` role trusts only the bot
 * role, and carries the bot policy's statements for this account (the same construct), without
 * the bot-only STS and SQS grants.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { BOT_ROLE_ARN, OTHER_ACCOUNT, PROD_REPOS, synthesize, type Synthesized } from './support/fixtures';
import { environmentStatements } from './support/expected';
import { managedPolicyStatements, roleProperties } from './support/iam';

let synth: Synthesized;
beforeAll(() => { synth = synthesize(); });
afterAll(() => synth.cleanup());

const EXPECTED = environmentStatements(OTHER_ACCOUNT, ['prod'], PROD_REPOS);

describe('the runner-ops role of another account', () => {
  it('trusts only the bot role, by ARN, for sts:AssumeRole', () => {
    expect(roleProperties(synth.account, 'runner-ops').AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: BOT_ROLE_ARN } }],
    });
    expect(roleProperties(synth.account, 'runner-ops').MaxSessionDuration).toBe(3600);
  });

  it.each(EXPECTED.map((s) => [s.Sid, s] as const))('%s: exactly these actions, resources and conditions', (_sid, statement) => {
    synth.account.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'runner-ops-environment',
      Roles: [{ Ref: Match.stringLikeRegexp('^EnvironmentRole') }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectEquals(statement)]) },
    });
  });

  it('has no other statement (no STS, no SQS: the bot does those with its own role)', () => {
    expect(managedPolicyStatements(synth.account, 'runner-ops-environment').map((s) => s.Sid)).toEqual(EXPECTED.map((s) => s.Sid));
  });

  it('outputs the roleArn of each of its environments', () => {
    synth.account.hasOutput('ProdRoleArn', {
      Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EnvironmentRole'), 'Arn'] },
      Description: 'runner-ops.yml: environments.prod.roleArn',
    });
  });

  it('is deployed in its own account', () => {
    expect(synth.built.accounts.map((s) => s.account)).toEqual([OTHER_ACCOUNT]);
  });
});
