import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DeleteKeyPairCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, EC2Client, TerminateInstancesCommand,
  type Instance as SdkInstance,
} from '@aws-sdk/client-ec2';
import { SimulatedClock } from '../../domain/clock';
import { keyPairName } from '../../fleet/executors/docker-machine';
import {
  deleteKeyPair, listEnvironmentKeyPairs, listManagerWorkers, managerKeyPairName, terminateInstances, waitUntilTerminated,
} from './ec2-cleanup';
import { TAG } from './tags';

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-central-1' });
beforeEach(() => ec2Mock.reset());

const awsError = (name: string, status = 400) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

function instance(id: string, tags: Record<string, string>, state = 'running'): SdkInstance {
  return { InstanceId: id, State: { Name: state as never }, Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) };
}
const managed = (role: string, extra: Record<string, string> = {}) => ({ [TAG.managedBy]: 'runner-ops', [TAG.environment]: 'prod', [TAG.role]: role, ...extra });
const answer = (...instances: SdkInstance[]) => ({ Reservations: [{ Instances: instances }] });

describe('terminateInstances', () => {
  it('refuses managers and unmanaged instances, treats unknown and terminated ids as gone', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(
      instance('i-worker', managed('worker', { [TAG.manager]: 'i-old' })),
      instance('i-verify', managed('verify-worker'), 'stopped'),
      instance('i-manager', managed('manager', { [TAG.generation]: '2' })),
      instance('i-foreign', { [TAG.environment]: 'prod', [TAG.role]: 'worker' }),
      instance('i-done', managed('worker'), 'terminated'),
    ));
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    const result = await terminateInstances(ec2, ['i-worker', 'i-verify', 'i-manager', 'i-foreign', 'i-done', 'i-unknown', 'i-worker']);

    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [{ Name: 'instance-id', Values: ['i-worker', 'i-verify', 'i-manager', 'i-foreign', 'i-done', 'i-unknown'] }],
    });
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: ['i-worker', 'i-verify'] });
    expect(result.terminated.sort()).toEqual(['i-done', 'i-unknown', 'i-verify', 'i-worker']);
    expect(result.alreadyGone).toEqual(['i-done', 'i-unknown']);
    expect(result.refused).toEqual([
      { id: 'i-manager', reason: expect.stringContaining('manager') },
      { id: 'i-foreign', reason: expect.stringContaining('ManagedBy=runner-ops') },
    ]);
  });

  it('terminates a manager only with allowManagers, and never an unmanaged instance', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(
      instance('i-manager', managed('manager')),
      instance('i-foreign', { Name: 'someone else' }),
    ));
    ec2Mock.on(TerminateInstancesCommand).resolves({});
    const result = await terminateInstances(ec2, ['i-manager', 'i-foreign'], { allowManagers: true });
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: ['i-manager'] });
    expect(result).toMatchObject({ terminated: ['i-manager'], refused: [{ id: 'i-foreign' }] });
  });

  it('survives an id vanishing between describe and terminate (NotFound is gone)', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(instance('i-a', managed('worker')), instance('i-b', managed('worker'))));
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-a', 'i-b'] }).rejects(awsError('InvalidInstanceID.NotFound'));
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-a'] }).rejects(awsError('InvalidInstanceID.NotFound'));
    ec2Mock.on(TerminateInstancesCommand, { InstanceIds: ['i-b'] }).resolves({});
    expect((await terminateInstances(ec2, ['i-a', 'i-b'])).terminated).toEqual(['i-a', 'i-b']);
    expect(ec2Mock).toHaveReceivedCommandTimes(TerminateInstancesCommand, 3);
  });

  it('does nothing for no ids and maps other errors', async () => {
    expect(await terminateInstances(ec2, [])).toMatchObject({ terminated: [], refused: [] });
    expect(ec2Mock).not.toHaveReceivedAnyCommand();
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(instance('i-a', managed('worker'))));
    ec2Mock.on(TerminateInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));
    await expect(terminateInstances(ec2, ['i-a'])).rejects.toMatchObject({ code: 'external', message: expect.stringContaining('TerminateInstances') });
  });
});

describe('waitUntilTerminated', () => {
  it('polls until every id is terminated or unknown', async () => {
    ec2Mock.on(DescribeInstancesCommand)
      .resolvesOnce(answer(instance('i-a', managed('worker'), 'shutting-down'), instance('i-b', managed('worker'), 'shutting-down')))
      .resolvesOnce(answer(instance('i-a', managed('worker'), 'terminated'), instance('i-b', managed('worker'), 'shutting-down')))
      .resolves(answer(instance('i-a', managed('worker'), 'terminated')));
    await waitUntilTerminated(ec2, ['i-a', 'i-b'], { clock: new SimulatedClock(), timeoutMs: 60_000 });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 3);
  });

  it('times out on the simulated clock', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(instance('i-a', managed('worker'), 'running')));
    await expect(waitUntilTerminated(ec2, ['i-a'], { clock: new SimulatedClock(), timeoutMs: 20_000 })).rejects.toMatchObject({ code: 'timeout' });
  });
});

describe('key pairs', () => {
  it('names the key pair as the manager bootstrap and docker-machine config do', () => {
    expect(managerKeyPairName('prod', 'i-0123456789abcdef0')).toBe('runner-ops-prod-i-0123456789abcdef0');
    expect(managerKeyPairName('prod', 'i-0123456789abcdef0')).toBe(keyPairName('prod', 'i-0123456789abcdef0'));
  });

  it('deleteKeyPair is idempotent: true when deleted, false when already gone', async () => {
    ec2Mock.on(DescribeKeyPairsCommand).resolvesOnce({ KeyPairs: [{ KeyName: 'runner-ops-prod-i-1' }] }).rejects(awsError('InvalidKeyPair.NotFound'));
    ec2Mock.on(DeleteKeyPairCommand).resolves({ Return: true });
    expect(await deleteKeyPair(ec2, 'runner-ops-prod-i-1')).toBe(true);
    expect(await deleteKeyPair(ec2, 'runner-ops-prod-i-1')).toBe(false);
    expect(ec2Mock).toHaveReceivedCommandTimes(DeleteKeyPairCommand, 1);
    expect(ec2Mock).toHaveReceivedCommandWith(DeleteKeyPairCommand, { KeyName: 'runner-ops-prod-i-1' });
  });

  it('lists the environment key pairs by tag with their manager', async () => {
    ec2Mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [
      { KeyName: 'runner-ops-prod-i-1', Tags: [{ Key: TAG.manager, Value: 'i-1' }] },
      { KeyName: 'runner-ops-prod-legacy' },
    ] });
    expect(await listEnvironmentKeyPairs(ec2, 'prod')).toEqual([
      { name: 'runner-ops-prod-i-1', managerId: 'i-1' },
      { name: 'runner-ops-prod-legacy', managerId: undefined },
    ]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeKeyPairsCommand, {
      Filters: [{ Name: 'tag:ManagedBy', Values: ['runner-ops'] }, { Name: 'tag:runner-ops:environment', Values: ['prod'] }],
    });
  });
});

describe('listManagerWorkers', () => {
  it('returns the existing workers of one manager, stopped ones included', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(answer(
      instance('i-w1', managed('worker', { [TAG.manager]: 'i-m1' })),
      instance('i-w2', managed('worker', { [TAG.manager]: 'i-m1' }), 'stopped'),
      instance('i-w3', managed('worker', { [TAG.manager]: 'i-m2' })),
    ));
    expect((await listManagerWorkers(ec2, 'prod', 'i-m1')).map((i) => i.id)).toEqual(['i-w1', 'i-w2']);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: expect.arrayContaining([
        { Name: 'tag:runner-ops:role', Values: ['worker'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ]),
    });
  });
});
