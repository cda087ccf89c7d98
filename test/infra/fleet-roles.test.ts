/**
 * The manager and worker roles and instance profiles of each environment: staging (bot account,
 * defaults) and prod (another account: its own repositories, push repositories, output bucket and
 * token parameter). Every statement is asserted exactly.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { BOT_ACCOUNT, BOT_REGION, OTHER_ACCOUNT, OTHER_REGION, PROD_BUCKET, PROD_PUSH_REPOS, PROD_REPOS, synthesize, type Synthesized } from './support/fixtures';
import { inlinePolicyStatements, roleProperties } from './support/iam';

let synth: Synthesized;
beforeAll(() => { synth = synthesize(); });
afterAll(() => synth.cleanup());

const SSM_CORE = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AmazonSSMManagedInstanceCore']] };
const EC2_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }],
};

function managerStatements(env: string, account: string, region: string, opts: { tokenParameter: string; repos: string[]; bucket?: string }) {
  const token = `arn:aws:ssm:${region}:${account}:parameter${opts.tokenParameter}`;
  const keyPairs = `arn:aws:ec2:${region}:${account}:key-pair/runner-ops-${env}-*`;
  const instances = `arn:aws:ec2:${region}:${account}:instance/*`;
  const workerProfile = { ArnEquals: { 'ec2:InstanceProfile': `arn:aws:iam::${account}:instance-profile/runner-ops-${env}-worker` } };
  return [
    { Sid: 'EcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    { Sid: 'EcrPull', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: opts.repos.length === 1 ? opts.repos[0] : opts.repos },
    { Sid: 'ReadOwnRunnerToken', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: token },
    {
      Sid: 'DecryptOwnRunnerToken', Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:${region}:${account}:key/*`,
      Condition: { StringEquals: { 'kms:ViaService': `ssm.${region}.amazonaws.com`, 'kms:EncryptionContext:PARAMETER_ARN': token } },
    },
    { Sid: 'ResolveWorkerAmi', Effect: 'Allow', Action: 'ssm:GetParameter', Resource: `arn:aws:ssm:${region}::parameter/aws/service/*` },
    {
      Sid: 'ImportOwnKeyPair', Effect: 'Allow', Action: 'ec2:ImportKeyPair', Resource: keyPairs,
      Condition: { StringEquals: { 'aws:RequestTag/ManagedBy': 'runner-ops', 'aws:RequestTag/runner-ops:environment': env } },
    },
    { Sid: 'TagKeyPairOnImport', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: keyPairs, Condition: { StringEquals: { 'ec2:CreateAction': 'ImportKeyPair' } } },
    {
      Sid: 'DockerMachineDescribe', Effect: 'Allow', Resource: '*',
      Action: ['ec2:DescribeInstances', 'ec2:DescribeKeyPairs', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSpotInstanceRequests'],
    },
    {
      Sid: 'DockerMachineRunWorkers', Effect: 'Allow', Action: 'ec2:RunInstances', Resource: instances,
      Condition: { ...workerProfile, StringEquals: { 'ec2:MetadataHttpTokens': 'required' } },
    },
    {
      Sid: 'DockerMachineRunResources', Effect: 'Allow', Action: 'ec2:RunInstances',
      Resource: [
        `arn:aws:ec2:${region}::image/*`,
        `arn:aws:ec2:${region}:${account}:subnet/*`,
        `arn:aws:ec2:${region}:${account}:security-group/*`,
        `arn:aws:ec2:${region}:${account}:network-interface/*`,
        `arn:aws:ec2:${region}:${account}:volume/*`,
        `arn:aws:ec2:${region}:${account}:spot-instances-request/*`,
        keyPairs,
      ],
    },
    {
      Sid: 'DockerMachineSpotRequests', Effect: 'Allow', Action: ['ec2:RequestSpotInstances', 'ec2:CancelSpotInstanceRequests'], Resource: '*',
      Condition: { StringEquals: { 'aws:RequestedRegion': region } },
    },
    {
      Sid: 'DockerMachineTagOnLaunch', Effect: 'Allow', Action: 'ec2:CreateTags',
      Resource: [instances, `arn:aws:ec2:${region}:${account}:volume/*`, `arn:aws:ec2:${region}:${account}:network-interface/*`, `arn:aws:ec2:${region}:${account}:spot-instances-request/*`],
      Condition: { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'RequestSpotInstances'] } },
    },
    {
      Sid: 'DockerMachineTagWorkers', Effect: 'Allow', Action: 'ec2:CreateTags', Resource: instances,
      Condition: { ...workerProfile, StringEquals: { 'aws:RequestTag/ManagedBy': 'runner-ops' } },
    },
    {
      Sid: 'DockerMachineManageWorkers', Effect: 'Allow', Resource: instances, Condition: workerProfile,
      Action: ['ec2:TerminateInstances', 'ec2:StopInstances', 'ec2:StartInstances', 'ec2:RebootInstances'],
    },
    {
      Sid: 'PassWorkerRoleOnly', Effect: 'Allow', Action: 'iam:PassRole', Resource: `arn:aws:iam::${account}:role/runner-ops-${env}-worker`,
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
    {
      Sid: 'CreateSpotServiceLinkedRole', Effect: 'Allow', Action: 'iam:CreateServiceLinkedRole',
      Resource: `arn:aws:iam::${account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
      Condition: { StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
    },
    ...(opts.bucket !== undefined ? [outputStatement(opts.bucket)] : []),
    {
      Sid: 'DenyUntaggingManagedResources', Effect: 'Deny', Action: 'ec2:DeleteTags', Resource: '*',
      Condition: { StringEquals: { 'ec2:ResourceTag/ManagedBy': 'runner-ops' } },
    },
  ];
}

function outputStatement(bucket: string) {
  return {
    Sid: 'SsmCommandOutput', Effect: 'Allow', Action: ['s3:PutObject', 's3:GetEncryptionConfiguration', 's3:GetBucketLocation'],
    Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
  };
}

function workerStatements(opts: { repos: string[]; push?: string[]; bucket?: string }) {
  return [
    { Sid: 'EcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    { Sid: 'EcrPull', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: opts.repos.length === 1 ? opts.repos[0] : opts.repos },
    ...(opts.push !== undefined ? [{
      Sid: 'EcrPush', Effect: 'Allow', Resource: opts.push.length === 1 ? opts.push[0] : opts.push,
      Action: ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchCheckLayerAvailability'],
    }] : []),
    ...(opts.bucket !== undefined ? [outputStatement(opts.bucket)] : []),
  ];
}

const cases = () => [
  {
    env: 'staging', template: synth.bot, account: BOT_ACCOUNT,
    manager: managerStatements('staging', BOT_ACCOUNT, BOT_REGION, { tokenParameter: '/runner-ops/staging/runner-token', repos: [`arn:aws:ecr:*:${BOT_ACCOUNT}:repository/*`] }),
    worker: workerStatements({ repos: [`arn:aws:ecr:*:${BOT_ACCOUNT}:repository/*`] }),
  },
  {
    env: 'prod', template: synth.account, account: OTHER_ACCOUNT,
    manager: managerStatements('prod', OTHER_ACCOUNT, OTHER_REGION, { tokenParameter: '/runner-ops/prod/glrt', repos: PROD_REPOS, bucket: PROD_BUCKET }),
    worker: workerStatements({ repos: PROD_REPOS, push: PROD_PUSH_REPOS, bucket: PROD_BUCKET }),
  },
];

describe.each(['staging', 'prod'])('the %s fleet roles', (env) => {
  const c = () => {
    const found = cases().find((x) => x.env === env);
    if (found === undefined) throw new Error(env);
    return found;
  };

  it('manager: exactly these statements, in this order', () => {
    const { template, manager } = c();
    expect(inlinePolicyStatements(template, `runner-ops-${env}-manager`, 'runner-ops-manager')).toEqual(manager);
    for (const statement of manager) {
      template.hasResourceProperties('AWS::IAM::Role', {
        RoleName: `runner-ops-${env}-manager`,
        Policies: [{ PolicyName: 'runner-ops-manager', PolicyDocument: { Statement: Match.arrayWith([Match.objectEquals(statement)]) } }],
      });
    }
  });

  it('worker: exactly these statements (ECR, optional push and command output), nothing else', () => {
    const { template, worker } = c();
    expect(inlinePolicyStatements(template, `runner-ops-${env}-worker`, 'runner-ops-worker')).toEqual(worker);
  });

  it.each(['manager', 'worker'])('%s: trusted by EC2 only, AmazonSSMManagedInstanceCore attached, an instance profile of the same name', (kind) => {
    const { template } = c();
    const name = `runner-ops-${env}-${kind}`;
    const role = roleProperties(template, name);
    expect(role.AssumeRolePolicyDocument).toEqual(EC2_TRUST);
    expect(role.ManagedPolicyArns).toEqual([SSM_CORE]);
    expectProfile(template, name);
  });
});

function expectProfile(template: Template, name: string): void {
  const roles = template.findResources('AWS::IAM::Role', { Properties: { RoleName: name } });
  const [logicalId] = Object.keys(roles);
  template.hasResourceProperties('AWS::IAM::InstanceProfile', { InstanceProfileName: name, Roles: [{ Ref: logicalId }] });
}

describe('isolation between environments', () => {
  it("a manager can pass only its own environment's worker role, and read only its own token", () => {
    const statements = inlinePolicyStatements(synth.account, 'runner-ops-prod-manager', 'runner-ops-manager');
    const pass = statements.find((s) => s.Sid === 'PassWorkerRoleOnly');
    expect(pass?.Resource).toBe(`arn:aws:iam::${OTHER_ACCOUNT}:role/runner-ops-prod-worker`);
    expect(statements.filter((s) => JSON.stringify(s).includes('staging'))).toEqual([]);
    expect(statements.find((s) => s.Sid === 'ReadOwnRunnerToken')?.Resource).toBe(`arn:aws:ssm:${OTHER_REGION}:${OTHER_ACCOUNT}:parameter/runner-ops/prod/glrt`);
  });

  it('outputs the instance profile names and token parameter for runner-ops.yml', () => {
    synth.account.hasOutput('ProdManagerInstanceProfile', { Description: 'runner-ops.yml: environments.prod.manager.instanceProfile' });
    synth.account.hasOutput('ProdWorkerInstanceProfile', { Description: 'runner-ops.yml: environments.prod.workers.instanceProfile' });
    synth.account.hasOutput('ProdTokenParameter', { Value: '/runner-ops/prod/glrt' });
  });
});
