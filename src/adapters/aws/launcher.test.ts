import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { SimulatedClock } from '../../domain/clock';
import { clientToken, launchManager, runInstancesCommand, unwrapLaunchError, waitUntilRunning, type ManagerLaunchSpec } from './launcher';
import { TAG } from './tags';

// Mock this one client instance only: the retry test below needs a real client.
const ec2 = new EC2Client({ region: 'eu-central-1' });
const ec2Mock = mockClient(ec2);
beforeEach(() => ec2Mock.reset());

const awsError = (name: string, status: number, message = name) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

const spec: ManagerLaunchSpec = {
  envName: 'prod',
  operationId: 'op-k3x9qa',
  step: 'launch-manager',
  generation: 3,
  manager: {
    instanceType: 't4g.small',
    ami: 'resolve:ssm:/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    subnetId: 'subnet-0123456789abcdef0',
    securityGroupIds: ['sg-0123456789abcdef0'],
    instanceProfile: 'runner-ops-manager',
    drainTimeoutMinutes: 30,
  },
};

describe('clientToken', () => {
  it('is deterministic and changes with the launch alternative', () => {
    const a = clientToken('op-k3x9qa', 'launch-manager', 't4g.small', 'subnet-0123456789abcdef0');
    expect(a).toBe('op-k3x9qa.launch-manager.t4g.small.subnet-0123456789abcdef0');
    expect(clientToken('op-k3x9qa', 'launch-manager', 't4g.small', 'subnet-0123456789abcdef0')).toBe(a);
    expect(clientToken('op-k3x9qa', 'launch-manager', 't4g.medium', 'subnet-0123456789abcdef0')).not.toBe(a);
    expect(clientToken('op-k3x9qa', 'launch-manager', 't4g.small', 'subnet-0123456789abcdef1')).not.toBe(a);
    expect(clientToken('op-k3x9qa', 'launch-verify', 't4g.small', 'subnet-0123456789abcdef0')).not.toBe(a);
  });

  it('hashes the alternative when the plain token would pass 64 characters', () => {
    const long = clientToken('op-k3x9qa', 'launch-verify-worker', 'm7i-flex.large', 'subnet-0123456789abcdef0');
    expect(long).toMatch(/^op-k3x9qa\.launch-verify-worker\.[0-9a-f]{16}$/);
    expect(long.length).toBeLessThanOrEqual(64);
    expect(clientToken('op-k3x9qa', 'launch-verify-worker', 'm7i-flex.large', 'subnet-0123456789abcdef0')).toBe(long);
    expect(clientToken('op-k3x9qa', 'launch-verify-worker', 'm7g-flex.large', 'subnet-0123456789abcdef0')).not.toBe(long);
    expect(() => clientToken('op-k3x9qa', 'x'.repeat(60), 't4g.small', 'subnet-0123456789abcdef0')).toThrow(/ClientToken/);
  });
});

describe('launchManager', () => {
  it('sends one on-demand RunInstances with token, profile, IMDSv2 hop limit 2, tags and the resolve:ssm AMI', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000001a' }] });

    expect(await launchManager(ec2, spec)).toBe('i-0000000000000001a');

    expect(ec2Mock).toHaveReceivedCommandTimes(RunInstancesCommand, 1);
    const input = ec2Mock.commandCalls(RunInstancesCommand)[0]?.args[0].input;
    const tags = expect.arrayContaining([
      { Key: TAG.managedBy, Value: 'runner-ops' },
      { Key: TAG.environment, Value: 'prod' },
      { Key: TAG.role, Value: 'manager' },
      { Key: TAG.operation, Value: 'op-k3x9qa' },
      { Key: TAG.generation, Value: '3' },
      { Key: 'Name', Value: 'runner-ops-prod-manager-3' },
    ]);
    expect(input).toEqual({
      ClientToken: 'op-k3x9qa.launch-manager.t4g.small.subnet-0123456789abcdef0',
      MinCount: 1,
      MaxCount: 1,
      ImageId: spec.manager.ami,
      InstanceType: 't4g.small',
      SubnetId: 'subnet-0123456789abcdef0',
      SecurityGroupIds: ['sg-0123456789abcdef0'],
      IamInstanceProfile: { Name: 'runner-ops-manager' },
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
    });
    expect(input).not.toHaveProperty('InstanceMarketOptions');
    expect(input).not.toHaveProperty('UserData');
  });

  it('sends the same ClientToken when the step is retried, a new one for another instance type', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000001a' }] });
    await launchManager(ec2, spec);
    await launchManager(ec2, spec);
    await launchManager(ec2, { ...spec, manager: { ...spec.manager, instanceType: 't4g.medium' } });
    const tokens = ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken);
    expect(tokens[0]).toBe(tokens[1]);
    expect(tokens[2]).not.toBe(tokens[0]);
  });

  it('classifies launch errors and says what to do', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('IdempotentParameterMismatch', 400));
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/ClientToken op-k3x9qa\.launch-manager.* already used with other parameters/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 500));
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/no on-demand t4g\.small capacity.*manager\.instanceType/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('VcpuLimitExceeded', 400));
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/vCPU quota.*Service Quotas/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/iam:PassRole.*runner-ops-manager/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'throttled' });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [] });
    await expect(launchManager(ec2, spec)).rejects.toMatchObject({ code: 'internal' });
  });
});

describe('runInstancesCommand retry budget (real client, fake HTTP handler)', () => {
  function clientAnswering(status: number, code: string) {
    const requests: string[] = [];
    const client = new EC2Client({
      region: 'eu-central-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 3,
      requestHandler: {
        handle: async (request: { headers: Record<string, string> }) => {
          requests.push(request.headers['amz-sdk-request'] ?? '');
          const body = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${code} here</Message></Error></Errors><RequestID>req-1</RequestID></Response>`;
          return { response: { statusCode: status, reason: '', headers: { 'content-type': 'text/xml' }, body: Buffer.from(body) } };
        },
      },
    });
    return { client, requests };
  }

  it('does not let the SDK repeat a capacity error that EC2 answers with HTTP 500', async () => {
    const { client, requests } = clientAnswering(500, 'InsufficientInstanceCapacity');
    await expect(launchManager(client, spec)).rejects.toMatchObject({ code: 'external', message: expect.stringContaining('InsufficientInstanceCapacity') });
    expect(requests).toHaveLength(1);
    const raw = await client.send(runInstancesCommand({ MinCount: 1, MaxCount: 1, ClientToken: 't' })).catch((err: unknown) => err);
    expect(unwrapLaunchError(raw)).toMatchObject({ name: 'InsufficientInstanceCapacity', $metadata: { httpStatusCode: 500 } });
    expect(requests).toHaveLength(2);
  });

  it('still lets the SDK repeat other 5xx answers (safe: same ClientToken)', async () => {
    const { client, requests } = clientAnswering(503, 'Unavailable');
    await expect(client.send(runInstancesCommand({ MinCount: 1, MaxCount: 1, ClientToken: 't' }))).rejects.toMatchObject({ name: 'Unavailable' });
    expect(requests).toHaveLength(3);
  });
});

describe('waitUntilRunning', () => {
  const described = (state: string, extra: Partial<SdkInstance> = {}) => ({
    Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000001a', State: { Name: state as never }, Tags: [{ Key: TAG.role, Value: 'manager' }], ...extra }] }],
  });

  it('tolerates NotFound right after launch, then waits through pending until running', async () => {
    ec2Mock.on(DescribeInstancesCommand)
      .rejectsOnce(awsError('InvalidInstanceID.NotFound', 400, "The instance ID 'i-0000000000000001a' does not exist"))
      .resolvesOnce({ Reservations: [] })
      .resolvesOnce(described('pending'))
      .resolves(described('running'));
    const clock = new SimulatedClock();
    const start = clock.now();

    const instance = await waitUntilRunning(ec2, 'i-0000000000000001a', { clock, timeoutMs: 120_000 });

    expect(instance).toMatchObject({ id: 'i-0000000000000001a', state: 'running', role: 'manager' });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 4);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeInstancesCommand, { InstanceIds: ['i-0000000000000001a'] });
    expect(clock.now() - start).toBe(2000 + 3000 + 4500); // backoff on the simulated clock
  });

  it('fails with the state reason when the instance terminates instead', async () => {
    ec2Mock.on(DescribeInstancesCommand)
      .resolvesOnce(described('pending'))
      .resolves(described('terminated', { StateReason: { Code: 'Server.InsufficientInstanceCapacity', Message: 'Server.InsufficientInstanceCapacity: Insufficient capacity.' } }));
    await expect(waitUntilRunning(ec2, 'i-0000000000000001a', { clock: new SimulatedClock(), timeoutMs: 60_000 }))
      .rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/is terminated instead of running \(Server\.InsufficientInstanceCapacity/) });
  });

  it('times out when the id never appears, and stops on other errors', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound', 400));
    await expect(waitUntilRunning(ec2, 'i-0000000000000001a', { clock: new SimulatedClock(), timeoutMs: 30_000 })).rejects.toMatchObject({ code: 'timeout' });
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));
    await expect(waitUntilRunning(ec2, 'i-0000000000000001a', { clock: new SimulatedClock(), timeoutMs: 30_000 })).rejects.toMatchObject({ code: 'external' });
    expect(ec2Mock).toHaveReceivedCommandTimes(DescribeInstancesCommand, 8); // 7 polls in 30 s, then 1
  });

  it('is cancelled by the signal', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves(described('pending'));
    const controller = new AbortController();
    controller.abort('user cancelled');
    await expect(waitUntilRunning(ec2, 'i-0000000000000001a', { clock: new SimulatedClock(), signal: controller.signal, timeoutMs: 30_000 })).rejects.toMatchObject({ code: 'cancelled' });
  });

  it('reports an abort during the DescribeInstances call as cancelled, not as a timeout', async () => {
    const controller = new AbortController();
    ec2Mock.on(DescribeInstancesCommand).callsFake(() => {
      controller.abort('user cancelled');
      throw Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
    });
    await expect(waitUntilRunning(ec2, 'i-0000000000000001a', { clock: new SimulatedClock(), signal: controller.signal, timeoutMs: 30_000 }))
      .rejects.toMatchObject({ code: 'cancelled', message: expect.stringContaining('user cancelled') });
  });
});
