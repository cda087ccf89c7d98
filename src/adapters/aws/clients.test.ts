import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
// fromTemporaryCredentials calls STS through the SDK's internal nested client, so that is the one to mock.
import { AssumeRoleCommand, STSClient } from '@aws-sdk/nested-clients/sts';
import { createAwsClientFactory, sanitizeSessionName } from './clients';

const stsMock = mockClient(STSClient);
beforeEach(() => stsMock.reset());

const base = { accessKeyId: 'AKIDBASE', secretAccessKey: 'base-secret' };
const roleArn = 'arn:aws:iam::210987654321:role/runner-ops';

function assumed(expiresInMs: number, n = 1) {
  return {
    Credentials: {
      AccessKeyId: `ASIAROLE${n}`,
      SecretAccessKey: 'role-secret',
      SessionToken: `token-${n}`,
      Expiration: new Date(Date.now() + expiresInMs),
    },
  };
}

describe('createAwsClientFactory', () => {
  it('builds clients once per region and role and uses adaptive retries', async () => {
    const f = createAwsClientFactory({ baseCredentials: base });
    const a = f.forEnvironment({ region: 'eu-central-1' });
    expect(f.forEnvironment({ region: 'eu-central-1' })).toBe(a);
    expect(f.forEnvironment({ region: 'eu-central-1' }, 'op-abc123')).toBe(a); // no role: the session name is irrelevant
    expect(f.forEnvironment({ region: 'eu-west-1' })).not.toBe(a);
    expect(f.forEnvironment({ region: 'eu-central-1', roleArn })).not.toBe(a);
    expect(f.forEnvironment({ region: 'eu-central-1', roleArn })).toBe(f.forEnvironment({ region: 'eu-central-1', roleArn }));

    expect(await a.ec2.config.region()).toBe('eu-central-1');
    for (const client of [a.ec2, a.ssm, a.ecr]) {
      const strategy = await client.config.retryStrategy();
      expect(strategy).toMatchObject({ mode: 'adaptive' });
      expect(client.config.isCustomEndpoint).toBe(false);
    }
  });

  it('drops the least recently used set beyond the cache size', () => {
    const f = createAwsClientFactory({ baseCredentials: base, maxCachedSets: 2 });
    const a = f.forEnvironment({ region: 'eu-central-1', roleArn }, 'op-aaaaa1');
    f.forEnvironment({ region: 'eu-central-1', roleArn }, 'op-bbbbb1');
    expect(f.forEnvironment({ region: 'eu-central-1', roleArn }, 'op-aaaaa1')).toBe(a); // refreshes a
    f.forEnvironment({ region: 'eu-central-1', roleArn }, 'op-ccccc1'); // evicts b
    expect(f.forEnvironment({ region: 'eu-central-1', roleArn }, 'op-aaaaa1')).toBe(a);
  });

  it('assumes the environment role with the runner-ops session name, in the environment region', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed(3600_000));
    const { ec2 } = createAwsClientFactory({ baseCredentials: base }).forEnvironment({ region: 'eu-central-1', roleArn });

    const creds = await ec2.config.credentials();

    expect(creds.accessKeyId).toBe('ASIAROLE1');
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleArn: roleArn, RoleSessionName: 'runner-ops' });
    const sts = stsMock.call(0).thisValue as STSClient;
    expect(await sts.config.region()).toBe('eu-central-1');
  });

  it('names the session after the operation, sanitised', async () => {
    stsMock.on(AssumeRoleCommand).resolves(assumed(3600_000));
    const { ssm } = createAwsClientFactory({ baseCredentials: base }).forEnvironment({ region: 'eu-central-1', roleArn }, 'runner-ops op-k3x9qa/rotate');
    await ssm.config.credentials();
    expect(stsMock).toHaveReceivedCommandWith(AssumeRoleCommand, { RoleSessionName: 'runner-ops-op-k3x9qa-rotate' });
  });

  it('reuses role credentials until they near expiry, then assumes the role again', async () => {
    stsMock.on(AssumeRoleCommand).resolvesOnce(assumed(3600_000, 1)).resolvesOnce(assumed(60_000, 2)).resolves(assumed(3600_000, 3));
    const { ec2 } = createAwsClientFactory({ baseCredentials: base }).forEnvironment({ region: 'eu-central-1', roleArn });
    const cfg = ec2.config;
    expect((await cfg.credentials()).accessKeyId).toBe('ASIAROLE1');
    expect((await cfg.credentials()).accessKeyId).toBe('ASIAROLE1');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);

    // Credentials that expire within the SDK's refresh window (5 minutes) are not used: STS is asked again.
    const other = createAwsClientFactory({ baseCredentials: base }).forEnvironment({ region: 'eu-central-1', roleArn }).ec2;
    expect((await other.config.credentials()).accessKeyId).toBe('ASIAROLE3');
    expect((await other.config.credentials()).accessKeyId).toBe('ASIAROLE3');
    expect(stsMock).toHaveReceivedCommandTimes(AssumeRoleCommand, 3);
  });

  it('honours AWS_ENDPOINT_URL_EC2 (no endpoint is hard-coded)', async () => {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end('<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const saved = process.env.AWS_ENDPOINT_URL_EC2;
    process.env.AWS_ENDPOINT_URL_EC2 = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { ec2 } = createAwsClientFactory({ baseCredentials: base }).forEnvironment({ region: 'eu-central-1' });
      const out = await ec2.send(new DescribeInstancesCommand({}));
      expect(out.Reservations ?? []).toEqual([]);
      expect(seen).toEqual(['POST /']);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EC2;
      else process.env.AWS_ENDPOINT_URL_EC2 = saved;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('sanitizeSessionName', () => {
  it.each([
    ['runner-ops', 'runner-ops'],
    ['op-k3x9qa', 'op-k3x9qa'],
    ['a b/c:d', 'a-b-c-d'],
    ['x', 'runner-ops-x'],
    ['', 'runner-ops'],
    ['y'.repeat(80), 'y'.repeat(64)],
    ['ok+=,.@_-', 'ok+=,.@_-'],
  ])('%s -> %s', (input, expected) => {
    const out = sanitizeSessionName(input);
    expect(out).toBe(expected);
    expect(out).toMatch(/^[\w+=,.@-]{2,64}$/);
  });
});
