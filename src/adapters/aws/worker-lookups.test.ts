import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, EC2Client, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { describeWorker, interruptionOf, listOperationVerifyWorkers, securityGroupIdByName } from './worker-lookups';
import { TAG } from './tags';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-central-1' });
beforeEach(() => ec2Mock.reset());

const ID = 'i-0000000000000003c';
const answer = (extra: Partial<SdkInstance>) => ({ Reservations: [{ Instances: [{ InstanceId: ID, InstanceType: 'c8g.medium' as const, State: { Name: 'running' as const }, Tags: [{ Key: TAG.role, Value: 'verify-worker' }], ...extra }] }] });

describe('securityGroupIdByName', () => {
  it('finds the group by name in the VPC', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'gitlab-runner-workers' }] });
    expect(await securityGroupIdByName(ec2, 'vpc-0aaa', 'gitlab-runner-workers')).toBe('sg-0123456789abcdef0');
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'group-name', Values: ['gitlab-runner-workers'] }, { Name: 'vpc-id', Values: ['vpc-0aaa'] }] });
  });

  it('says what to do when Docker Machine has not created it yet', async () => {
    ec2Mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    await expect(securityGroupIdByName(ec2, 'vpc-0aaa', 'gitlab-runner-workers')).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/"gitlab-runner-workers" does not exist in vpc-0aaa.*create it \(inbound tcp 22 and 2376/) });
  });
});

describe('describeWorker / interruptionOf', () => {
  it('a running worker is not interrupted', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer({ InstanceLifecycle: 'spot' }));
    expect(interruptionOf(await describeWorker(ec2, ID), ID)).toBeUndefined();
  });

  it('names a Spot interruption as one', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer({ InstanceLifecycle: 'spot', State: { Name: 'terminated' }, StateReason: { Code: 'Server.SpotInstanceTermination', Message: 'Server.SpotInstanceTermination: Spot instance termination' } }));
    expect(interruptionOf(await describeWorker(ec2, ID), ID)).toMatch(/^EC2 interrupted the Spot verify worker i-0000000000000003c \(c8g\.medium\): it took the capacity back \(Server\.SpotInstanceTermination/);
  });

  it('names any other stop with its reason, and a vanished worker', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer({ State: { Name: 'shutting-down' }, StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' } }));
    expect(interruptionOf(await describeWorker(ec2, ID), ID)).toMatch(/is shutting-down \(Client\.UserInitiatedShutdown/);
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidInstanceID.NotFound', $metadata: { httpStatusCode: 400 } }));
    expect(await describeWorker(ec2, ID)).toBeUndefined();
    expect(interruptionOf(undefined, ID)).toMatch(/no longer exists/);
  });
});

describe('listOperationVerifyWorkers', () => {
  it('filters by environment, role and existing states, then by the operation tag', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [
      { InstanceId: 'i-0000000000000004d', State: { Name: 'running' }, Tags: [{ Key: TAG.operation, Value: 'op-k3x9qa' }, { Key: TAG.role, Value: 'verify-worker' }] },
      { InstanceId: 'i-0000000000000005e', State: { Name: 'running' }, Tags: [{ Key: TAG.operation, Value: 'op-other1' }, { Key: TAG.role, Value: 'verify-worker' }] },
    ] }] });
    expect((await listOperationVerifyWorkers(ec2, 'prod', 'op-k3x9qa')).map((i) => i.id)).toEqual(['i-0000000000000004d']);
    const filters = ec2Mock.commandCalls(DescribeInstancesCommand)[0]?.args[0].input.Filters;
    expect(filters).toEqual(expect.arrayContaining([{ Name: `tag:${TAG.environment}`, Values: ['prod'] }, { Name: `tag:${TAG.role}`, Values: ['verify-worker'] }]));
  });
});
