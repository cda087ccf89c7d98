/**
 * EC2 for the Spot alert tests: instances with runner-ops tags, answered by DescribeInstances
 * (aws-sdk-client-mock on EC2Client) the way AWS does for an `instance-id` filter (unknown ids are
 * simply absent). Also builds EventBridge event bodies as the rule delivers them to SQS.
 */
import { randomUUID } from 'node:crypto';
import { DescribeInstancesCommand, EC2Client, type Filter, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';

export interface SpotInstance {
  id: string;
  type: string;
  az: string;
  ip: string;
  tags: Record<string, string>;
}

let seq = 0;
export function instanceId(): string {
  seq += 1;
  return `i-${(0x5b0000 + seq).toString(16).padStart(17, '0')}`;
}

export class SpotWorld {
  readonly ec2 = mockClient(EC2Client);
  readonly instances = new Map<string, SpotInstance>();
  describeCalls = 0;

  constructor() { this.install(); }

  reset(): void { this.ec2.reset(); this.instances.clear(); this.describeCalls = 0; this.install(); }
  restore(): void { this.ec2.restore(); }

  /** A runner-ops instance (tags per CONTRACT §6) or, with `foreign`, one without them. */
  add(o: { env?: string; role?: 'worker' | 'manager' | 'verify-worker'; type?: string; az?: string; managerId?: string; foreign?: boolean; id?: string; name?: string } = {}): SpotInstance {
    const id = o.id ?? instanceId();
    const role = o.role ?? 'worker';
    const tags: Record<string, string> = o.foreign === true ? { Name: 'someone-else' } : {
      ManagedBy: 'runner-ops', 'runner-ops:environment': o.env ?? 'prod', 'runner-ops:role': role,
      ...(role === 'worker' ? { 'runner-ops:manager': o.managerId ?? 'i-0000000000000aaaa', Name: o.name ?? `runner-abcd1234-prod-${id.slice(-6)}` } : {}),
      ...(role === 'manager' ? { 'runner-ops:generation': '1' } : {}),
    };
    const inst: SpotInstance = { id, type: o.type ?? 'c8g.medium', az: o.az ?? 'eu-central-1a', ip: `10.0.${(seq >> 8) & 255}.${seq & 255}`, tags };
    this.instances.set(id, inst);
    return inst;
  }

  private install(): void {
    this.ec2.on(DescribeInstancesCommand).callsFake((input: { InstanceIds?: string[]; Filters?: Filter[] }) => {
      this.describeCalls += 1;
      const ids = input.Filters?.find((f) => f.Name === 'instance-id')?.Values ?? input.InstanceIds ?? [];
      const found: SdkInstance[] = ids.map((id) => this.instances.get(id)).filter((i): i is SpotInstance => i !== undefined).map((i) => ({
        InstanceId: i.id, InstanceType: i.type as SdkInstance['InstanceType'], State: { Name: 'running' }, Placement: { AvailabilityZone: i.az },
        PrivateIpAddress: i.ip, InstanceLifecycle: i.tags['runner-ops:role'] === 'worker' ? 'spot' : undefined,
        Tags: Object.entries(i.tags).map(([Key, Value]) => ({ Key, Value })),
      }));
      return { Reservations: found.length === 0 ? [] : [{ Instances: found }] };
    });
  }
}

export type EventKind = 'interruption' | 'rebalance' | 'state';

/** An EventBridge event body as delivered to the SQS target. */
export function eventBody(kind: EventKind, instance: string, o: { id?: string; at?: Date; action?: string; state?: string; region?: string; account?: string } = {}): string {
  const detailType = kind === 'interruption' ? 'EC2 Spot Instance Interruption Warning' : kind === 'rebalance' ? 'EC2 Instance Rebalance Recommendation' : 'EC2 Instance State-change Notification';
  const region = o.region ?? 'eu-central-1';
  const account = o.account ?? '123456789012';
  const detail = kind === 'interruption' ? { 'instance-id': instance, 'instance-action': o.action ?? 'terminate' }
    : kind === 'rebalance' ? { 'instance-id': instance }
      : { 'instance-id': instance, state: o.state ?? 'terminated' };
  return JSON.stringify({
    version: '0', id: o.id ?? randomUUID(), 'detail-type': detailType, source: 'aws.ec2', account,
    time: (o.at ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'), region,
    resources: [`arn:aws:ec2:${region}:${account}:instance/${instance}`], detail,
  });
}
