/**
 * `/runner status` through the whole path: signed request, ack, sources asked after the ack, an
 * ephemeral answer through response_url. GitLab is down (nothing listens at GITLAB_URL); the
 * answer still comes with the manager and workers from EC2 and names the failing part.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SlackFake } from './fakes/slack-fake';
import { deletePrefix } from './support/redis';
import { startHarness, type Harness } from './support/bot-harness';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

describe('status', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ name: 'status', env: { GITLAB_URL: 'http://127.0.0.1:1', GITLAB_TOKEN: 'glpat-test-token-not-real', AWS_REGION: 'eu-central-1', AWS_ACCESS_KEY_ID: 'AKIATESTTESTTESTTEST', AWS_SECRET_ACCESS_KEY: 'test' } });
  });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
    ec2.restore();
    ssm.restore();
  });

  it('answers with the manager and workers and names GitLab as failing', async () => {
    ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Array<{ Name?: string; Values?: string[] }> }) => {
      const role = input.Filters?.find((f) => f.Name === 'tag:runner-ops:role')?.Values?.[0];
      if (role === 'manager') {
        return { Reservations: [{ Instances: [{ InstanceId: 'i-0manager', InstanceType: 't4g.micro', State: { Name: 'running' }, Placement: { AvailabilityZone: 'eu-central-1a' },
          Tags: [{ Key: 'ManagedBy', Value: 'runner-ops' }, { Key: 'runner-ops:environment', Value: 'prod' }, { Key: 'runner-ops:role', Value: 'manager' }, { Key: 'runner-ops:generation', Value: '3' }] }] }] };
      }
      return { Reservations: [{ Instances: [
        { InstanceId: 'i-0w1', State: { Name: 'running' }, Tags: [{ Key: 'runner-ops:role', Value: 'worker' }, { Key: 'runner-ops:environment', Value: 'prod' }] },
        { InstanceId: 'i-0w2', State: { Name: 'running' }, Tags: [{ Key: 'runner-ops:role', Value: 'worker' }, { Key: 'runner-ops:environment', Value: 'prod' }] },
      ] }] };
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: 'i-0manager', PingStatus: 'Online' }] });

    const res = await h.command('status prod', 'U0MALLORY', { responseId: 'status-1' });
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'status-1'), 10_000, 'status answer');
    const answer = h.slack.responses.find((r) => r.id === 'status-1');
    expect(answer?.body.response_type).toBe('ephemeral');
    const text = SlackFake.textOf(answer ?? { id: '', body: {}, at: 0 });
    expect(text).toContain('i-0manager');
    expect(text).toMatch(/Online/);
    expect(text).toMatch(/GitLab[^"]*(unavailable|failed|refused)/i);
    expect(text).not.toContain('glpat-test-token-not-real');
    // read-only: nothing was posted in a channel
    expect(h.slack.callsOf('chat.postMessage')).toHaveLength(0);
  });
});
