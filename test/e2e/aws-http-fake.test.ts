/**
 * The AWS HTTP fake speaks the wire protocols the real SDK clients speak: EC2 Query/XML, SSM and
 * ECR JSON 1.1, each client pointed at it through AWS_ENDPOINT_URL_<SERVICE> as the bot's are.
 * If the fake drifted from the SDK, every end-to-end test would fail for the wrong reason; this
 * says where.
 */
import {
  DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeSecurityGroupsCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeInstanceInformationCommand, GetCommandInvocationCommand, GetParameterCommand, PutParameterCommand, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { AwsHttpFake } from './aws-http-fake';

describe('AWS HTTP fake', () => {
  let fake: AwsHttpFake;
  let ec2: EC2Client;
  let ssm: SSMClient;
  let ecr: ECRClient;
  const saved = { ...process.env };

  beforeAll(async () => {
    fake = await new AwsHttpFake().start();
    for (const s of ['EC2', 'SSM', 'ECR']) process.env[`AWS_ENDPOINT_URL_${s}`] = fake.url;
    const config = { region: 'eu-central-1', credentials: { accessKeyId: 'AKIDE2E', secretAccessKey: 'e2e-secret' }, retryMode: 'adaptive' as const };
    ec2 = new EC2Client(config);
    ssm = new SSMClient(config);
    ecr = new ECRClient(config);
  });
  afterAll(async () => {
    for (const s of ['EC2', 'SSM', 'ECR']) if (saved[`AWS_ENDPOINT_URL_${s}`] === undefined) delete process.env[`AWS_ENDPOINT_URL_${s}`];
    ec2.destroy(); ssm.destroy(); ecr.destroy();
    await fake.stop();
  });

  it('EC2: launches, describes with filters, terminates; errors are EC2 errors', async () => {
    const input = {
      ClientToken: 'op-abc123.launch.t4g.micro.subnet-0aaa', MinCount: 1, MaxCount: 1, ImageId: 'ami-1', InstanceType: 't4g.micro' as const,
      SubnetId: 'subnet-0aaa', SecurityGroupIds: ['sg-0aaa'], IamInstanceProfile: { Name: 'p' },
      MetadataOptions: { HttpTokens: 'required' as const, HttpEndpoint: 'enabled' as const, HttpPutResponseHopLimit: 2 },
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0bbb', Groups: ['sg-1'], AssociatePublicIpAddress: false }],
      TagSpecifications: [{ ResourceType: 'instance' as const, Tags: [{ Key: 'runner-ops:role', Value: 'manager' }, { Key: 'runner-ops:environment', Value: 'prod' }] }],
    };
    const run = await ec2.send(new RunInstancesCommand(input));
    const id = run.Instances?.[0]?.InstanceId ?? '';
    expect(id).toMatch(/^i-/);
    expect(run.Instances?.[0]?.State?.Name).toBe('pending');
    const launched = fake.world.instances.get(id)?.launchInput;
    expect(launched).toEqual(input);
    // Same token, same parameters: the same instance.
    expect((await ec2.send(new RunInstancesCommand(input))).Instances?.[0]?.InstanceId).toBe(id);

    const described = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:runner-ops:environment', Values: ['prod'] }, { Name: 'instance-state-name', Values: ['pending', 'running'] }] }));
    const inst = described.Reservations?.[0]?.Instances?.[0];
    expect(inst).toMatchObject({ InstanceId: id, InstanceType: 't4g.micro', State: { Name: 'pending', Code: 0 }, Placement: { AvailabilityZone: 'eu-central-1a' } });
    expect(inst?.LaunchTime).toBeInstanceOf(Date);
    expect(inst?.Tags).toEqual(expect.arrayContaining([{ Key: 'runner-ops:role', Value: 'manager' }]));
    expect((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0]?.State?.Name).toBe('running');

    const sg = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['gitlab-runner-workers'] }, { Name: 'vpc-id', Values: ['vpc-0aaa'] }] }));
    expect(sg.SecurityGroups?.[0]?.GroupId).toBe('sg-0bbb0000000000001');
    fake.world.keyPairs.set('runner-ops-prod-x', { ManagedBy: 'runner-ops' });
    expect((await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:ManagedBy', Values: ['runner-ops'] }] }))).KeyPairs?.[0]).toMatchObject({ KeyName: 'runner-ops-prod-x', Tags: [{ Key: 'ManagedBy', Value: 'runner-ops' }] });

    const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances?.[0]).toMatchObject({ InstanceId: id, PreviousState: { Name: 'running' }, CurrentState: { Name: 'shutting-down' } });
    await expect(ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000dead'] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound', $metadata: { httpStatusCode: 400 } });
  });

  it('SSM and ECR: commands, parameters, instance information, images; errors by __type', async () => {
    const inst = fake.world.addInstance({ tags: { 'runner-ops:environment': 'prod' }, pingsUntilOnline: 1 });
    expect((await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [inst.id] }] }))).InstanceInformationList).toEqual([]);
    expect((await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [inst.id] }] }))).InstanceInformationList?.[0]?.PingStatus).toBe('Online');

    const sent = await ssm.send(new SendCommandCommand({ DocumentName: 'AWS-RunShellScript', InstanceIds: [inst.id], Parameters: { commands: ['#!/bin/bash\n# Drain the gitlab-runner\n'] } }));
    const commandId = sent.Command?.CommandId ?? '';
    fake.world.invocationLag = 1;
    fake.world.commandPolls = 0;
    await expect(ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: inst.id }))).rejects.toMatchObject({ name: 'InvocationDoesNotExist' });
    const done = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: inst.id }));
    expect(done).toMatchObject({ Status: 'Success', ResponseCode: 0 });
    expect(done.StandardOutputContent).toContain('{"kind":"drain"');

    expect((await ssm.send(new PutParameterCommand({ Name: '/p', Value: 'v1', Type: 'SecureString', Tags: [{ Key: 'a', Value: 'b' }] }))).Version).toBe(1);
    expect((await ssm.send(new GetParameterCommand({ Name: '/p', WithDecryption: true }))).Parameter).toMatchObject({ Value: 'v1', Version: 1 });
    await expect(ssm.send(new GetParameterCommand({ Name: '/nope' }))).rejects.toMatchObject({ name: 'ParameterNotFound' });

    fake.world.addImage('123456789012', 'ci/base', 'latest');
    const image = await ecr.send(new DescribeImagesCommand({ registryId: '123456789012', repositoryName: 'ci/base', imageIds: [{ imageTag: 'latest' }] }));
    expect(image.imageDetails?.[0]?.imagePushedAt?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    await expect(ecr.send(new DescribeImagesCommand({ registryId: '123456789012', repositoryName: 'ci/none', imageIds: [{ imageTag: 'x' }] }))).rejects.toMatchObject({ name: 'RepositoryNotFoundException' });
  });

  it('STS: AssumeRole hands out credentials that later requests are signed with', async () => {
    process.env.AWS_ENDPOINT_URL_STS = fake.url;
    try {
      const credentials = fromTemporaryCredentials({
        params: { RoleArn: 'arn:aws:iam::210987654321:role/runner-ops', RoleSessionName: 'runner-ops-op-abc123' },
        masterCredentials: { accessKeyId: 'AKIDE2E', secretAccessKey: 'e2e-secret' },
        clientConfig: { region: 'eu-central-1' },
      });
      const assumed = new EC2Client({ region: 'eu-central-1', credentials });
      await assumed.send(new DescribeSecurityGroupsCommand({}));
      assumed.destroy();
    } finally {
      if (saved.AWS_ENDPOINT_URL_STS === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    }
    expect(fake.assumedRoles).toEqual([expect.objectContaining({ roleArn: 'arn:aws:iam::210987654321:role/runner-ops', sessionName: 'runner-ops-op-abc123' })]);
    const [sts, call] = fake.requests.slice(-2);
    expect(sts).toMatchObject({ service: 'sts', action: 'AssumeRole', accessKeyId: 'AKIDE2E' });
    expect(call).toMatchObject({ action: 'DescribeSecurityGroups', accessKeyId: fake.assumedRoles[0]?.accessKeyId });
  });

  it('injects throttling that the SDK retries, and records every request', async () => {
    fake.throttle('ec2', 2, 'DescribeSecurityGroups');
    fake.throttle('ssm', 2);
    const before = fake.requests.length;
    await ec2.send(new DescribeSecurityGroupsCommand({}));
    await ssm.send(new GetParameterCommand({ Name: '/p' }));
    const seen = fake.requests.slice(before);
    expect(seen.map((r) => [r.action, r.error ?? 'ok'])).toEqual([
      ['DescribeSecurityGroups', 'RequestLimitExceeded'], ['DescribeSecurityGroups', 'RequestLimitExceeded'], ['DescribeSecurityGroups', 'ok'],
      ['GetParameter', 'ThrottlingException'], ['GetParameter', 'ThrottlingException'], ['GetParameter', 'ok'],
    ]);
    expect(fake.pendingFaults).toBe(0);
    expect(fake.unexpected).toEqual([]);
  });
});
