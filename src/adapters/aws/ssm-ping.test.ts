import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { getPingStatus, getSsmInstanceInfo } from './ssm-ping';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-central-1' });
beforeEach(() => ssmMock.reset());

describe('getPingStatus', () => {
  it.each(['Online', 'ConnectionLost', 'Inactive'] as const)('passes %s through', async (status) => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'i-0abc', PingStatus: status }] });
    expect(await getPingStatus(ssm, 'i-0abc')).toBe(status);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: ['i-0abc'] }] });
  });

  it('is unknown when the instance is not registered with SSM', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    expect(await getPingStatus(ssm, 'i-0abc')).toBe('unknown');
  });

  it('returns the last ping time and agent version', async () => {
    const at = new Date('2030-01-01T00:00:00Z');
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'i-0abc', PingStatus: 'Online', LastPingDateTime: at, AgentVersion: '3.3.0', PlatformName: 'Ubuntu' }] });
    expect(await getSsmInstanceInfo(ssm, 'i-0abc')).toEqual({ pingStatus: 'Online', lastPingAt: at, agentVersion: '3.3.0', platform: 'Ubuntu' });
  });

  it('maps errors', async () => {
    ssmMock.on(DescribeInstanceInformationCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }));
    await expect(getPingStatus(ssm, 'i-0abc')).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('SSM DescribeInstanceInformation failed') });
  });
});
