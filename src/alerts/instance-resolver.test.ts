import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClientFactory } from '../adapters/aws/clients';
import { parseFleet } from '../config/load';
import { testFleetYaml } from '../../test/support/fleet';
import type { SpotEvent } from './events';
import { InstanceResolver } from './instance-resolver';

const ec2 = mockClient(EC2Client);
const tags = (env: string, role = 'worker') => [{ Key: 'ManagedBy', Value: 'runner-ops' }, { Key: 'runner-ops:environment', Value: env }, { Key: 'runner-ops:role', Value: role }, { Key: 'Name', Value: 'runner-x-1' }];
const event = (instanceId: string, o: Partial<SpotEvent> = {}): SpotEvent => ({ id: 'e', kind: 'interruption-warning', instanceId, region: 'eu-central-1', account: '123456789012', time: new Date(), ...o });

describe('InstanceResolver', () => {
  const fleet = parseFleet(testFleetYaml({ prodExtra: '    roleArn: arn:aws:iam::210987654321:role/runner-ops\n' }));
  const aws = createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } });
  let now = 0;
  const resolver = () => new InstanceResolver({ fleet: () => fleet, aws, now: () => now });

  beforeEach(() => {
    ec2.reset();
    now = 0;
    ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: { Name?: string; Values?: string[] }[] }) => {
      const ids = input.Filters?.find((f) => f.Name === 'instance-id')?.Values ?? [];
      const known: Record<string, ReturnType<typeof tags>> = { 'i-00000000000000001': tags('stage'), 'i-00000000000000002': tags('gone'), 'i-00000000000000003': [{ Key: 'Name', Value: 'x' }] };
      const found = ids.filter((id) => known[id] !== undefined).map((id) => ({ InstanceId: id, InstanceType: 'c8g.medium' as const, Placement: { AvailabilityZone: 'eu-central-1b' }, Tags: known[id] }));
      return { Reservations: found.length === 0 ? [] : [{ Instances: found }] };
    });
  });
  afterAll(() => { ec2.restore(); });

  it('resolves by tags, batching the lookups of one turn into one call, and caches them', async () => {
    const r = resolver();
    const [a, b, c, d] = await Promise.all([
      r.resolve(event('i-00000000000000001')), r.resolve(event('i-00000000000000002')),
      r.resolve(event('i-00000000000000003')), r.resolve(event('i-0000000000000000f')),
    ]);
    expect(a).toEqual({ kind: 'known', envName: 'stage', instance: expect.objectContaining({ id: 'i-00000000000000001', role: 'worker', az: 'eu-central-1b', name: 'runner-x-1' }) });
    expect(b.kind).toBe('unknown-env');
    expect(c).toEqual({ kind: 'foreign', reason: 'the instance carries no runner-ops tags' });
    expect(d.kind).toBe('foreign');
    // stage (no role) is asked once for all four; prod's account (210987654321) is not the event's.
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    await r.resolve(event('i-00000000000000001'));
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    now += 61_000;
    await r.resolve(event('i-00000000000000001'));
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
  });

  it('looks only in environments of the event\'s region', async () => {
    expect(await resolver().resolve(event('i-00000000000000001', { region: 'us-west-2' }))).toEqual({ kind: 'foreign', reason: 'no environment in us-west-2 for account 123456789012' });
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 0);
  });
});
