import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { RunnerOpsError } from '../../domain/errors';
import { countWorkers, findManager, getInstances, toInstance } from './ec2-instances';
import { TAG, tagsFor } from './tags';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-central-1' });
beforeEach(() => ec2Mock.reset());

function instance(id: string, tags: Record<string, string>, extra: Partial<SdkInstance> = {}): SdkInstance {
  return {
    InstanceId: id,
    InstanceType: 't4g.micro',
    State: { Name: 'running' },
    Placement: { AvailabilityZone: 'eu-central-1a' },
    LaunchTime: new Date('2030-01-01T00:00:00Z'),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    ...extra,
  };
}
const manager = (id: string, generation: string, extra: Partial<SdkInstance> = {}) =>
  instance(id, { [TAG.environment]: 'prod', [TAG.role]: 'manager', [TAG.generation]: generation, [TAG.managedBy]: 'runner-ops' }, extra);

describe('findManager', () => {
  it('filters by environment, role and live state and picks the highest generation across pages', async () => {
    ec2Mock.on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [manager('i-0000000000000001a', '2')] }], NextToken: 'p2' })
      .resolvesOnce({ Reservations: [{ Instances: [manager('i-0000000000000003a', '10'), manager('i-0000000000000002a', '9')] }] });

    const m = await findManager(ec2, 'prod');

    expect(m).toMatchObject({ id: 'i-0000000000000003a', generation: 10, role: 'manager', state: 'running', az: 'eu-central-1a', type: 't4g.micro', environment: 'prod' });
    expect(m?.tags.get(TAG.managedBy)).toBe('runner-ops');
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
    expect(ec2Mock).toHaveReceivedNthSpecificCommandWith(1, DescribeInstancesCommand, {
      Filters: expect.arrayContaining([
        { Name: 'tag:runner-ops:environment', Values: ['prod'] },
        { Name: 'tag:runner-ops:role', Values: ['manager'] },
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
      ]),
    });
    expect(ec2Mock).toHaveReceivedNthSpecificCommandWith(2, DescribeInstancesCommand, { NextToken: 'p2' });
  });

  it('breaks generation ties by launch time and ranks an untagged generation lowest', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [
        manager('i-0000000000000001a', 'garbage'),
        manager('i-0000000000000002a', '3', { LaunchTime: new Date('2030-01-01T00:00:00Z') }),
        manager('i-0000000000000003a', '3', { LaunchTime: new Date('2030-02-01T00:00:00Z') }),
      ] }],
    });
    expect((await findManager(ec2, 'prod'))?.id).toBe('i-0000000000000003a');
  });

  it('returns undefined when there is no manager', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    expect(await findManager(ec2, 'prod')).toBeUndefined();
  });

  it('maps SDK errors to RunnerOpsError', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('You are not authorized'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }));
    await expect(findManager(ec2, 'prod')).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/EC2 DescribeInstances failed: UnauthorizedOperation.*IAM policy/) });
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } }));
    await expect(findManager(ec2, 'prod')).rejects.toBeInstanceOf(RunnerOpsError);
    await expect(findManager(ec2, 'prod')).rejects.toMatchObject({ code: 'throttled' });
  });
});

describe('countWorkers', () => {
  it('counts live worker instances of the environment', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [instance('i-0000000000000001b', { [TAG.role]: 'worker' }), instance('i-0000000000000002b', { [TAG.role]: 'worker' }, { State: { Name: 'pending' } })] },
        { Instances: [instance('i-0000000000000003b', { [TAG.role]: 'worker' })] },
      ],
    });
    expect(await countWorkers(ec2, 'prod')).toBe(3);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: expect.arrayContaining([{ Name: 'tag:runner-ops:role', Values: ['worker'] }]),
    });
  });
});

describe('getInstances / toInstance', () => {
  it('does not call EC2 for no ids', async () => {
    expect(await getInstances(ec2, [])).toEqual([]);
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
  });

  it('maps missing fields without inventing values', () => {
    expect(toInstance({})).toBeUndefined();
    const i = toInstance({ InstanceId: 'i-0000000000000009z', State: { Name: 'weird' as never }, Tags: [{ Value: 'no key' }, { Key: TAG.role, Value: 'nonsense' }], InstanceLifecycle: 'spot' });
    expect(i).toMatchObject({ id: 'i-0000000000000009z', state: 'unknown', role: undefined, generation: undefined, spot: true, type: undefined });
    expect(i?.tags.size).toBe(1);
  });
});

describe('tagsFor', () => {
  it('builds the CONTRACT §6 tags per role', () => {
    expect(tagsFor({ role: 'manager', environment: 'prod', operationId: 'op-k3x9qa', generation: 2 })).toEqual([
      { Key: 'ManagedBy', Value: 'runner-ops' },
      { Key: 'runner-ops:environment', Value: 'prod' },
      { Key: 'runner-ops:role', Value: 'manager' },
      { Key: 'runner-ops:operation', Value: 'op-k3x9qa' },
      { Key: 'runner-ops:generation', Value: '2' },
    ]);
    expect(tagsFor({ role: 'verify-worker', environment: 'prod', operationId: 'op-k3x9qa', expiresAt: new Date('2030-01-01T00:30:00Z') })).toContainEqual({ Key: 'runner-ops:expires-at', Value: '2030-01-01T00:30:00.000Z' });
    expect(tagsFor({ role: 'worker', environment: 'prod', managerId: 'i-0abc' })).toContainEqual({ Key: 'runner-ops:manager', Value: 'i-0abc' });
    expect(() => tagsFor({ role: 'manager', environment: 'prod', operationId: 'op-k3x9qa', generation: 0 })).toThrow(RangeError);
  });
});
