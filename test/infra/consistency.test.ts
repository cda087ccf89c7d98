/**
 * The bot policy grants exactly what the code calls (issue 8): every AWS call in src/ must be
 * granted to the identity that makes it, and the policies grant nothing the code does not call.
 * A new `new XxxCommand(` without a permission fails here, and so in CI.
 */
import { keyPairName } from '../../src/fleet/executors/docker-machine';
import { keyPairPattern } from '../../infra/lib/naming';
import {
  ANTICIPATED_CALLS, scanCliCalls, scanSource, scanSources, sourceFiles, withImplied, type AwsCall, type Identity,
} from './support/aws-calls';
import { REPO_ROOT, synthesize, type Synthesized } from './support/fixtures';
import { allowedActions, grants, inlinePolicyStatements, managedPolicyStatements, type Statement } from './support/iam';

/**
 * What Docker Machine's amazonec2 driver calls with the manager's credentials (GitLab's fork of
 * docker/machine, drivers/amazonec2/amazonec2.go: checkPrereqs, innerCreate, Remove, Start/Stop/
 * Restart/Kill, getInstance; `amazonec2-keypair-name` set, so no ImportKeyPair/DeleteKeyPair; the
 * security group pre-exists with its ports, so no CreateSecurityGroup/AuthorizeSecurityGroupIngress).
 */
const DOCKER_MACHINE_ACTIONS = [
  'ec2:DescribeKeyPairs', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeInstances',
  'ec2:RunInstances', 'ec2:RequestSpotInstances', 'ec2:DescribeSpotInstanceRequests', 'ec2:CancelSpotInstanceRequests',
  'ec2:CreateTags', 'ec2:TerminateInstances', 'ec2:StopInstances', 'ec2:StartInstances', 'ec2:RebootInstances',
  'iam:PassRole', 'iam:CreateServiceLinkedRole',
];
/** docker-credential-ecr-login on the manager and in job containers. */
const ECR_PULL_ACTIONS = ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'];
/** The SSM agent writing full command output to `ssm.outputBucket`. */
const COMMAND_OUTPUT_ACTIONS = ['s3:PutObject', 's3:GetEncryptionConfiguration', 's3:GetBucketLocation'];

let synth: Synthesized;
let botPolicy: Statement[];
let environmentPolicy: Statement[];
let botCalls: AwsCall[];

beforeAll(() => {
  synth = synthesize();
  botPolicy = managedPolicyStatements(synth.bot, 'runner-ops-bot');
  environmentPolicy = managedPolicyStatements(synth.account, 'runner-ops-environment');
  const scan = scanSources(sourceFiles(REPO_ROOT, 'src'));
  if (scan.problems.length > 0) throw new Error(`calls the scanner cannot attribute:\n${scan.problems.join('\n')}`);
  botCalls = withImplied([...scan.calls, ...ANTICIPATED_CALLS]);
});

afterAll(() => synth.cleanup());

/** `action (where)` for every call that a policy of `identity` does not grant. */
function missing(calls: readonly AwsCall[], identity: Identity, statements: readonly Statement[]): string[] {
  return calls.filter((c) => c.identity === identity && !grants(statements, c.action)).map((c) => `${c.action} (${c.where})`);
}

describe('the source scan', () => {
  it('finds the SDK calls the adapters make, with their identities', () => {
    const actions = new Set(botCalls.map((c) => `${c.identity} ${c.action}`));
    for (const expected of [
      'environment ec2:RunInstances', 'environment ec2:DescribeInstances', 'environment ec2:TerminateInstances',
      'environment ec2:DescribeKeyPairs', 'environment ec2:DeleteKeyPair', 'environment ssm:SendCommand',
      'environment ssm:GetCommandInvocation', 'environment ssm:CancelCommand', 'environment ssm:DescribeInstanceInformation',
      'environment ssm:GetParameter', 'environment ssm:PutParameter', 'environment ssm:DeleteParameter',
      'bot sts:AssumeRole',
    ]) {
      expect(actions).toContain(expected);
    }
  });

  it('maps imports, aliases, namespaces and paginators to IAM actions', () => {
    const text = [
      "import { SendCommandCommand, GetParameterCommand as GetParam } from '@aws-sdk/client-ssm';",
      "import * as sqs from '@aws-sdk/client-sqs';",
      "import { paginateDescribeImages } from '@aws-sdk/client-ecr';",
      "import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';",
      'ssm.send(new SendCommandCommand({}));',
      'ssm.send(new GetParam({}));',
      'sqsClient.send(new sqs.ReceiveMessageCommand({}));',
      'for await (const page of paginateDescribeImages({ client }, {})) {}',
      'fromTemporaryCredentials({ params: {} });',
    ].join('\n');
    const { calls, problems } = scanSource('synthetic.ts', text);
    expect(problems).toEqual([]);
    expect(calls.map((c) => `${c.identity} ${c.action} ${c.where}`)).toEqual([
      'environment ssm:SendCommand synthetic.ts:5',
      'environment ssm:GetParameter synthetic.ts:6',
      'bot sqs:ReceiveMessage synthetic.ts:7',
      'environment ecr:DescribeImages synthetic.ts:8',
      'bot sts:AssumeRole synthetic.ts:9',
    ]);
  });

  it('reports calls it cannot attribute instead of skipping them', () => {
    const text = [
      "import { GetObjectCommand } from '@aws-sdk/client-s3';",
      "import { waitUntilInstanceRunning } from '@aws-sdk/client-ec2';",
      "import { LocalCommand } from './local';",
      's3.send(new GetObjectCommand({}));',
      'await waitUntilInstanceRunning({ client }, {});',
      'new LocalCommand();',
    ].join('\n');
    expect(scanSource('odd.ts', text).problems).toEqual([
      'odd.ts:4: GetObjectCommand comes from @aws-sdk/client-s3, which has no IAM mapping in CLIENT_PACKAGES',
      'odd.ts:6: new LocalCommand( is not imported from an @aws-sdk client: say which AWS action it is',
      'odd.ts:5: waitUntilInstanceRunning polls AWS: add the actions it calls to the scanner',
    ]);
  });
});

describe('the bot policy grants every call the code makes', () => {
  it('with its own role: the environments in its account, STS and SQS', () => {
    expect(missing(botCalls, 'environment', botPolicy)).toEqual([]);
    expect(missing(botCalls, 'bot', botPolicy)).toEqual([]);
  });

  it('through the runner-ops role of another account: the environment calls', () => {
    expect(missing(botCalls, 'environment', environmentPolicy)).toEqual([]);
  });

  it('fails for a call that has no permission (a synthetic extra command)', () => {
    const extra = scanSource('src/adapters/aws/frobnicate.ts', [
      "import { FrobnicateWidgetsCommand } from '@aws-sdk/client-ec2';",
      'await ec2.send(new FrobnicateWidgetsCommand({}));',
    ].join('\n'));
    const calls = withImplied([...botCalls, ...extra.calls]);
    expect(missing(calls, 'environment', botPolicy)).toEqual(['ec2:FrobnicateWidgets (src/adapters/aws/frobnicate.ts:2)']);
    expect(missing(calls, 'environment', environmentPolicy)).toEqual(['ec2:FrobnicateWidgets (src/adapters/aws/frobnicate.ts:2)']);
  });

  it('grants nothing the code does not call (least privilege, both directions)', () => {
    const needed = (identity?: Identity) => new Set(botCalls.filter((c) => identity === undefined || c.identity === identity).map((c) => c.action));
    expect(allowedActions(botPolicy).filter((a) => !needed().has(a))).toEqual([]);
    expect(allowedActions(environmentPolicy).filter((a) => !needed('environment').has(a))).toEqual([]);
    // No wildcard actions anywhere: each grant is one named action.
    expect([...allowedActions(botPolicy), ...allowedActions(environmentPolicy)].filter((a) => a.includes('*'))).toEqual([]);
  });

  it('does not give the per-account role the bot-only calls', () => {
    expect(grants(environmentPolicy, 'sts:AssumeRole')).toBe(false);
    expect(grants(environmentPolicy, 'sqs:ReceiveMessage')).toBe(false);
  });
});

describe('the manager role grants what runs on the manager', () => {
  let managerPolicy: Statement[];
  let needed: string[];

  beforeAll(() => {
    managerPolicy = inlinePolicyStatements(synth.account, 'runner-ops-prod-manager', 'runner-ops-manager');
    const cli = sourceFiles(REPO_ROOT, 'src/fleet').flatMap((f) => scanCliCalls(f.file, f.text));
    needed = [...new Set([
      ...cli.map((c) => c.action),
      'ec2:CreateTags', // import-key-pair --tag-specifications
      'kms:Decrypt', // get-parameter --with-decryption
      ...DOCKER_MACHINE_ACTIONS,
      ...ECR_PULL_ACTIONS,
      ...COMMAND_OUTPUT_ACTIONS, // prod sets ssm.outputBucket
    ])].sort();
  });

  it('finds the aws CLI calls of the bootstrap scripts', () => {
    const cli = sourceFiles(REPO_ROOT, 'src/fleet').flatMap((f) => scanCliCalls(f.file, f.text)).map((c) => c.action);
    expect(new Set(cli)).toEqual(new Set(['ec2:DescribeKeyPairs', 'ec2:ImportKeyPair', 'ssm:GetParameter']));
  });

  it('grants each of them, and nothing else', () => {
    expect(needed.filter((a) => !grants(managerPolicy, a))).toEqual([]);
    expect(allowedActions(managerPolicy).filter((a) => !needed.includes(a))).toEqual([]);
  });

  it("scopes key pairs by the same name the scripts use", () => {
    const name = keyPairName('prod', 'i-0123456789abcdef0');
    const pattern = new RegExp(`^${keyPairPattern('prod').replace('*', '.*')}$`);
    expect(name).toMatch(pattern);
  });
});
