/**
 * Whether the SSM agent on an instance is reachable (DESIGN §2: a new instance is not usable by
 * SSM Run Command until its PingStatus is Online).
 */
import { DescribeInstanceInformationCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { fromAwsError } from './errors';
import type { AwsCallOptions } from './ec2-instances';

/** SSM's PingStatus, or `unknown` when the instance is not registered with SSM (yet, or at all). */
export type PingStatus = 'Online' | 'ConnectionLost' | 'Inactive' | 'unknown';

export interface SsmInstanceInfo {
  pingStatus: PingStatus;
  lastPingAt: Date | undefined;
  agentVersion: string | undefined;
  platform: string | undefined;
}

const PING_STATUSES = ['Online', 'ConnectionLost', 'Inactive'] as const;

function toPingStatus(value: string | undefined): PingStatus {
  return PING_STATUSES.find((s) => s === value) ?? 'unknown';
}

export async function getSsmInstanceInfo(ssm: SSMClient, instanceId: string, opts: AwsCallOptions = {}): Promise<SsmInstanceInfo> {
  let out;
  try {
    out = await ssm.send(
      new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }),
      { abortSignal: opts.abortSignal },
    );
  } catch (err) {
    throw fromAwsError(err, 'SSM', 'DescribeInstanceInformation');
  }
  const info = (out.InstanceInformationList ?? []).find((i) => i.InstanceId === instanceId);
  if (info === undefined) return { pingStatus: 'unknown', lastPingAt: undefined, agentVersion: undefined, platform: undefined };
  return {
    pingStatus: toPingStatus(info.PingStatus),
    lastPingAt: info.LastPingDateTime,
    agentVersion: info.AgentVersion,
    platform: info.PlatformName,
  };
}

export async function getPingStatus(ssm: SSMClient, instanceId: string, opts: AwsCallOptions = {}): Promise<PingStatus> {
  return (await getSsmInstanceInfo(ssm, instanceId, opts)).pingStatus;
}
