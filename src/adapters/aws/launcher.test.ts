import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, RunInstancesCommand, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { SimulatedClock } from '../../domain/clock';
import { clientToken, launchManager, launchVerifyWorker, runInstancesCommand, unwrapLaunchError, verifyWorkerAlternatives, verifyWorkerLaunchInput, waitUntilRunning, type ManagerLaunchSpec, type VerifyWorkerSpec } from './launcher';
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

describe('launchVerifyWorker', () => {
  const workers: VerifyWorkerSpec['workers'] = {
    executor: 'docker+machine', instanceTypes: ['c8g.medium', 'c7g.medium', 'm7g.medium'], ami: 'ami-0123456789abcdef0', spot: true,
    vpcId: 'vpc-0123456789abcdef0', subnetId: 'subnet-0123456789abcdef1', zone: 'a', securityGroup: 'gitlab-runner-workers', instanceProfile: 'runner-ops-worker',
    rootSizeGb: 40, idleCount: 0, idleTimeSeconds: 1800, maxBuilds: 20, concurrent: 10, autoscaling: [],
  };
  const expiresAt = new Date('2026-03-01T10:30:00.000Z');
  const vspec: VerifyWorkerSpec = { envName: 'prod', operationId: 'op-k3x9qa', step: 'launch-worker', workers, securityGroupId: 'sg-0123456789abcdef2', userData: '#!/bin/bash\necho ready\n', expiresAt };

  it('builds the launch like a Docker Machine worker: Spot one-time, IMDSv2 hop limit 2, profile, tags with expires-at, user data', () => {
    const input = verifyWorkerLaunchInput(vspec, { instanceType: 'c8g.medium', subnetId: workers.subnetId });
    const tags = [
      { Key: TAG.managedBy, Value: 'runner-ops' },
      { Key: TAG.environment, Value: 'prod' },
      { Key: TAG.role, Value: 'verify-worker' },
      { Key: TAG.operation, Value: 'op-k3x9qa' },
      { Key: TAG.expiresAt, Value: '2026-03-01T10:30:00.000Z' },
      { Key: 'Name', Value: 'runner-ops-prod-verify-op-k3x9qa' },
    ];
    expect(input).toEqual({
      ClientToken: clientToken('op-k3x9qa', 'launch-worker', 'c8g.medium', workers.subnetId),
      MinCount: 1, MaxCount: 1,
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 'c8g.medium',
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: workers.subnetId, Groups: ['sg-0123456789abcdef2'], AssociatePublicIpAddress: false, DeleteOnTermination: true }],
      IamInstanceProfile: { Name: 'runner-ops-worker' },
      UserData: Buffer.from('#!/bin/bash\necho ready\n').toString('base64'),
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 40, DeleteOnTermination: true } }],
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }],
    });
    // Same inputs, same parameters: a resumed call does not meet IdempotentParameterMismatch.
    expect(verifyWorkerLaunchInput(vspec, { instanceType: 'c8g.medium', subnetId: workers.subnetId })).toEqual(input);
  });

  it('sets MaxPrice only for a spot price, and no market options on demand', () => {
    const alt = { instanceType: 'c8g.medium', subnetId: workers.subnetId };
    expect(verifyWorkerLaunchInput({ ...vspec, workers: { ...workers, spotPrice: '' } }, alt).InstanceMarketOptions?.SpotOptions).not.toHaveProperty('MaxPrice');
    expect(verifyWorkerLaunchInput({ ...vspec, workers: { ...workers, spotPrice: '0.04' } }, alt).InstanceMarketOptions?.SpotOptions?.MaxPrice).toBe('0.04');
    expect(verifyWorkerLaunchInput({ ...vspec, workers: { ...workers, spot: false } }, alt)).not.toHaveProperty('InstanceMarketOptions');
  });

  it('refuses user data over 16 KB raw', () => {
    expect(() => verifyWorkerLaunchInput({ ...vspec, userData: 'x'.repeat(16 * 1024 + 1) }, verifyWorkerAlternatives(workers)[0] ?? { instanceType: '', subnetId: '' })).toThrow(/16384/);
  });

  it('lists the instance types in order over the one subnet', () => {
    expect(verifyWorkerAlternatives(workers)).toEqual(workers.instanceTypes.map((instanceType) => ({ instanceType, subnetId: workers.subnetId })));
  });

  it('moves on after capacity answers with a new token each time and returns every attempt', async () => {
    ec2Mock.on(RunInstancesCommand)
      .rejectsOnce(awsError('InsufficientInstanceCapacity', 500))
      .rejectsOnce(awsError('MaxSpotInstanceCountExceeded', 400))
      .resolves({ Instances: [{ InstanceId: 'i-0000000000000002b' }] });
    const before: number[] = [];
    const skipped: string[] = [];
    const out = await launchVerifyWorker(ec2, vspec, {
      beforeAttempt: async (i) => { before.push(i); },
      onNoCapacity: async (a, next) => { skipped.push(`${a.instanceType}->${next?.instanceType ?? 'none'}`); },
    });
    expect(out).toMatchObject({ instanceId: 'i-0000000000000002b', index: 2, alternative: { instanceType: 'm7g.medium' } });
    expect(out.attempts.map((a) => [a.instanceType, a.outcome, a.code])).toEqual([
      ['c8g.medium', 'no-capacity', 'InsufficientInstanceCapacity'], ['c7g.medium', 'no-capacity', 'MaxSpotInstanceCountExceeded'], ['m7g.medium', 'launched', undefined],
    ]);
    expect(before).toEqual([0, 1, 2]);
    expect(skipped).toEqual(['c8g.medium->c7g.medium', 'c7g.medium->m7g.medium']);
    expect(new Set(ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.ClientToken)).size).toBe(3);
  });

  it.each(['UnfulfillableCapacity', 'InsufficientCapacity', 'SpotMaxPriceTooLow'])('%s is a capacity answer', async (code) => {
    ec2Mock.on(RunInstancesCommand).rejectsOnce(awsError(code, 400)).resolves({ Instances: [{ InstanceId: 'i-0000000000000002b' }] });
    expect((await launchVerifyWorker(ec2, vspec)).index).toBe(1);
  });

  it('starts at the saved alternative', async () => {
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0000000000000002b' }] });
    await launchVerifyWorker(ec2, vspec, { startAt: 1 });
    expect(ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.InstanceType)).toEqual(['c7g.medium']);
  });

  it('stops on permission and quota answers, and when every alternative is out of capacity', async () => {
    ec2Mock.on(RunInstancesCommand).rejects(awsError('UnauthorizedOperation', 403));
    await expect(launchVerifyWorker(ec2, vspec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/iam:PassRole for the role of instance profile runner-ops-worker.*No other instance type was tried/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('VcpuLimitExceeded', 400));
    await expect(launchVerifyWorker(ec2, vspec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/Spot .* vCPU quota/) });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('IdempotentParameterMismatch', 400));
    await expect(launchVerifyWorker(ec2, vspec)).rejects.toMatchObject({ code: 'internal' });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('RequestLimitExceeded', 503));
    await expect(launchVerifyWorker(ec2, vspec)).rejects.toMatchObject({ code: 'throttled' });
    ec2Mock.on(RunInstancesCommand).rejects(awsError('InsufficientInstanceCapacity', 500));
    await expect(launchVerifyWorker(ec2, vspec)).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(/no Spot capacity for the verify worker: c8g\.medium .*c7g\.medium .*m7g\.medium/) });
  });
});
