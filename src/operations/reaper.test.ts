import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  DescribeInstancesCommand, EC2Client, TerminateInstancesCommand, type DescribeInstancesCommandInput, type Instance as SdkInstance,
} from '@aws-sdk/client-ec2';
import { environmentSchema, type EnvironmentConfig } from '../config/fleet-schema';
import { TAG } from '../adapters/aws/tags';
import { reapEnvironment, reapMessage, type ReapReport } from './reaper';

const env: EnvironmentConfig = environmentSchema.parse({
  region: 'eu-central-1',
  manager: { instanceType: 't4g.micro', ami: 'ami-0123456789abcdef0', subnetId: 'subnet-0aaa', securityGroupIds: ['sg-0aaa'], instanceProfile: 'mgr' },
  workers: {
    executor: 'docker+machine', instanceTypes: ['c8g.medium'], ami: 'ami-0123456789abcdef0', vpcId: 'vpc-0aaa', subnetId: 'subnet-0bbb',
    zone: 'a', securityGroup: 'gitlab-runner-workers', instanceProfile: 'wrk',
  },
  gitlab: { runnerType: 'group_type', groupId: 42, tags: ['docker'], description: 'prod runner', tokenParameter: '/runner-ops/prod/runner-token' },
  ecr: { registries: ['123456789012.dkr.ecr.eu-central-1.amazonaws.com'], verifyImage: '123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest', verifyTtlMinutes: 30 },
});

const NOW = new Date('2030-01-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);

const ec2Mock = mockClient(EC2Client);
const ec2 = new EC2Client({ region: 'eu-central-1' });

/** A tiny EC2: answers DescribeInstances by its tag, state and instance-id filters. */
let world: SdkInstance[] = [];
function describe_(input: DescribeInstancesCommandInput) {
  const matches = (i: SdkInstance) => (input.Filters ?? []).every((f) => {
    const values = f.Values ?? [];
    if (f.Name === 'instance-id') return values.includes(i.InstanceId ?? '');
    if (f.Name === 'instance-state-name') return values.includes(i.State?.Name ?? '');
    if (f.Name?.startsWith('tag:') === true) return i.Tags?.some((t) => t.Key === f.Name?.slice(4) && values.includes(t.Value ?? '')) === true;
    throw new Error(`unexpected filter ${f.Name}`);
  });
  return { Reservations: [{ Instances: world.filter(matches) }] };
}

beforeEach(() => {
  ec2Mock.reset();
  world = [];
  ec2Mock.on(DescribeInstancesCommand).callsFake(describe_);
  ec2Mock.on(TerminateInstancesCommand).resolves({});
});

function put(id: string, role: string, extra: Record<string, string> = {}, opts: { state?: string; launched?: Date; unmanaged?: boolean; env?: string } = {}) {
  const tags: Record<string, string> = { [TAG.environment]: opts.env ?? 'prod', [TAG.role]: role, ...extra };
  if (opts.unmanaged !== true) tags[TAG.managedBy] = 'runner-ops';
  world.push({
    InstanceId: id,
    State: { Name: (opts.state ?? 'running') as never },
    LaunchTime: opts.launched ?? minutesAgo(10),
    Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  });
}

/** Every id that any TerminateInstances call named. */
const terminatedIds = () => ec2Mock.commandCalls(TerminateInstancesCommand).flatMap((c) => c.args[0].input.InstanceIds ?? []);

describe('reapEnvironment', () => {
  it('terminates expired and stale verify workers and orphan workers, keeps the rest, never a manager', async () => {
    put('i-m2', 'manager', { [TAG.generation]: '2' });
    put('i-m1', 'manager', { [TAG.generation]: '1' }, { launched: minutesAgo(600) });
    put('i-v-expired', 'verify-worker', { [TAG.expiresAt]: minutesAgo(1).toISOString() });
    put('i-v-fresh', 'verify-worker', { [TAG.expiresAt]: new Date(NOW.getTime() + 60_000).toISOString() });
    put('i-v-untagged-old', 'verify-worker', {}, { launched: minutesAgo(120), state: 'stopped' });
    put('i-v-malformed-young', 'verify-worker', { [TAG.expiresAt]: 'tomorrow' }, { launched: minutesAgo(5) });
    put('i-w-current', 'worker', { [TAG.manager]: 'i-m2' });
    put('i-w-old-manager', 'worker', { [TAG.manager]: 'i-m1' });
    put('i-w-orphan', 'worker', { [TAG.manager]: 'i-gone' }, { state: 'pending' });
    put('i-w-unmanaged', 'worker', { [TAG.manager]: 'i-gone' }, { unmanaged: true });
    put('i-w-no-manager-tag', 'worker');
    put('i-other-env', 'worker', { [TAG.manager]: 'i-gone' }, { env: 'stage' });

    const report = await reapEnvironment(ec2, 'prod', env, NOW);

    expect(report.terminated).toEqual([
      { id: 'i-v-expired', role: 'verify-worker', why: expect.stringContaining('expired at') },
      { id: 'i-v-untagged-old', role: 'verify-worker', why: expect.stringContaining('launched 120 min ago') },
      { id: 'i-w-orphan', role: 'worker', why: expect.stringContaining('i-gone') },
    ]);
    expect(report.orphanedManagers).toEqual([{ id: 'i-m1', why: expect.stringContaining('current manager is i-m2') }]);
    expect(report.refused.map((r) => r.id).sort()).toEqual(['i-w-no-manager-tag', 'i-w-unmanaged']);
    expect(report.errors).toEqual([]);

    expect(terminatedIds().sort()).toEqual(['i-v-expired', 'i-v-untagged-old', 'i-w-orphan']);
    expect(terminatedIds()).not.toEqual(expect.arrayContaining(['i-m1']));
    expect(terminatedIds()).not.toEqual(expect.arrayContaining(['i-m2']));
    expect(ec2Mock).toHaveReceivedNthSpecificCommandWith(1, DescribeInstancesCommand, {
      Filters: expect.arrayContaining([{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }]),
    });
  });

  it('never sends a manager to TerminateInstances, however the managers look', async () => {
    put('i-m3', 'manager', { [TAG.generation]: '3' }, { state: 'stopped' });
    put('i-m2', 'manager', { [TAG.generation]: '2' });
    put('i-m-untagged', 'manager', {}, { launched: minutesAgo(100_000) });
    put('i-w-stopped-manager', 'worker', { [TAG.manager]: 'i-m3' });
    put('i-v', 'verify-worker', {}, { launched: minutesAgo(31) });

    const report = await reapEnvironment(ec2, 'prod', env, NOW);

    // The running one is current; the stopped higher generation and the untagged one look orphaned.
    expect(report.orphanedManagers.map((m) => m.id)).toEqual(['i-m3', 'i-m-untagged']);
    expect(report.terminated.map((t) => t.id)).toEqual(['i-v']);
    const all = terminatedIds();
    for (const manager of ['i-m3', 'i-m2', 'i-m-untagged']) expect(all).not.toContain(manager);
  });

  it('keeps a lone stopped manager current and its workers alive; does nothing when nothing is due', async () => {
    put('i-m1', 'manager', { [TAG.generation]: '1' }, { state: 'stopped' });
    put('i-w1', 'worker', { [TAG.manager]: 'i-m1' });
    put('i-v', 'verify-worker', { [TAG.expiresAt]: '2030-01-01T12:30:00Z' });
    const report = await reapEnvironment(ec2, 'prod', env, NOW);
    expect(report).toEqual({ envName: 'prod', terminated: [], orphanedManagers: [], refused: [], errors: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
    expect(reapMessage(report)).toBeUndefined();
  });

  it('throws when the listing fails, collects termination failures', async () => {
    put('i-w', 'worker', { [TAG.manager]: 'i-gone' });
    ec2Mock.on(TerminateInstancesCommand).rejects(Object.assign(new Error('denied'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }));
    const report = await reapEnvironment(ec2, 'prod', env, NOW);
    expect(report.terminated).toEqual([]);
    expect(report.errors).toEqual([expect.stringMatching(/^terminating i-w: EC2 TerminateInstances failed: UnauthorizedOperation/)]);

    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('down'), { name: 'InternalError', $metadata: { httpStatusCode: 500 } }));
    await expect(reapEnvironment(ec2, 'prod', env, NOW)).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('reapMessage', () => {
  const empty: ReapReport = { envName: 'prod', terminated: [], orphanedManagers: [], refused: [], errors: [] };

  it('is undefined when nothing happened', () => {
    expect(reapMessage(empty)).toBeUndefined();
  });

  it('lists what was removed, found orphaned, left alone and failed, escaped', () => {
    const text = reapMessage({
      ...empty,
      envName: 'prod<x>',
      terminated: [{ id: 'i-1', role: 'verify-worker', why: 'expired at 2030-01-01T00:00:00.000Z' }, { id: 'i-2', role: 'worker', why: 'its manager i-9 is gone' }],
      orphanedManagers: [{ id: 'i-m1', why: 'generation 1 < 2' }],
      refused: [{ id: 'i-3', reason: 'not tagged ManagedBy=runner-ops' }],
      errors: ['terminating i-4: boom & bust'],
    });
    expect(text).toContain('*prod&lt;x&gt;*');
    expect(text).toContain('Terminated 2 instances:');
    expect(text).toContain('• `i-1` (verify worker): expired at 2030-01-01T00:00:00.000Z');
    expect(text).toContain('• `i-m1`: generation 1 &lt; 2');
    expect(text).toContain('1 manager looks orphaned (not removed)');
    expect(text).toContain('• `i-3`: not tagged ManagedBy=runner-ops');
    expect(text).toContain('boom &amp; bust');
  });

  it('caps long lists', () => {
    const many = Array.from({ length: 40 }, (_, n) => ({ id: `i-${n}`, role: 'worker' as const, why: 'orphan' }));
    const text = reapMessage({ ...empty, terminated: many }) ?? '';
    expect(text).toContain('… and 25 more');
    expect(text.split('\n')).toHaveLength(1 + 1 + 16);
  });
});
