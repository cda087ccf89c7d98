/**
 * `/runner verify-ecr` end to end (real bot replica, Redis, Slack fake) against the AWS world:
 * the launch parameters, every level passing, a failing level diagnosed, preflight failures that
 * launch nothing, permission and capacity answers, a Spot interruption reported as one,
 * termination on success, failure and cancel, a resumed job re-attaching to its instance and to
 * its command, and --dry-run. The capacity fallback across instance types runs the launch step on
 * its own with an environment that lists three (the test fleet lists one).
 */
import { DescribeSecurityGroupsCommand, RunInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import pino from 'pino';
import { clientToken } from '../../src/adapters/aws/launcher';
import type { EnvironmentConfig } from '../../src/config/fleet-schema';
import { parseFleet } from '../../src/config/load';
import { renderFleet } from '../../src/fleet/render';
import type { Json, StepContext } from '../../src/operations/framework/types';
import { verifyEcrOperation } from '../../src/operations/verify-ecr';
import { awsError, verifyLine, verifyOutput, type FakeInstance } from '../fakes/aws-world';
import { testFleetYaml } from '../support/fleet';
import { deletePrefix } from '../support/redis';
import { waitUntil } from '../support/test-operations';
import { startManagerHarness, type ManagerHarness } from './manager-harness';

const ACCOUNT = '123456789012';
const REGISTRY = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const IMAGE = `${REGISTRY}/ci/base:latest`;
const SG = 'sg-0bbb0000000000001';

function stageEnv(): EnvironmentConfig {
  const env = parseFleet(testFleetYaml()).environments.stage;
  if (env === undefined) throw new Error('no stage in the test fleet');
  return env;
}

describe('verify-ecr', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('verify-ecr'); });
  beforeEach(() => { m.aws.addImage(ACCOUNT, 'ci/base', 'latest'); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  const addManager = (): FakeInstance => m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'manager', 'runner-ops:operation': 'op-old001', 'runner-ops:generation': '1' } });
  const launches = (): RunInstancesCommandInput[] => m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input as RunInstancesCommandInput);
  const verifyWorkers = (): FakeInstance[] => [...m.aws.instances.values()].filter((i) => i.tags['runner-ops:role'] === 'verify-worker');
  const expectNoWorkerLeft = () => {
    expect(m.aws.live('verify-worker')).toHaveLength(0);
    for (const w of verifyWorkers()) expect(w.state).toMatch(/terminated|shutting-down/);
  };

  it('launches a worker like the fleet\'s, passes every level, reports the table and terminates the worker', async () => {
    const manager = addManager();
    const id = await m.request('verify-ecr stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Succeeded.*ECR pulls of `123456789012\.dkr\.ecr\.eu-central-1\.amazonaws\.com\/ci\/base:latest` work at every level/);
    expect(outcome).toMatch(/manager\s+ok\s+1/);
    expect(outcome).toMatch(/host\s+ok\s+2[\s\S]*container\s+ok\s+2[\s\S]*dind\s+ok\s+2/);
    expect(outcome).toMatch(/Worker `i-[0-9a-f]+`: c8g\.medium in eu-central-1a, Spot, alive \d+ s, terminated/);

    // Preflight: the tag was looked up in the registry's account; the group resolved in the VPC.
    expect(m.aws.ecr).toHaveReceivedCommandWith(DescribeImagesCommand, { registryId: ACCOUNT, repositoryName: 'ci/base', imageIds: [{ imageTag: 'latest' }] });
    expect(m.aws.ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { Filters: [{ Name: 'group-name', Values: ['gitlab-runner-workers'] }, { Name: 'vpc-id', Values: ['vpc-0aaa'] }] });

    // Launch parameters.
    const [launch] = launches();
    expect(launches()).toHaveLength(1);
    expect(launch).toMatchObject({
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 'c8g.medium',
      IamInstanceProfile: { Name: 'gitlab-runner-worker' },
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
      NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: 'subnet-0bbb', Groups: [SG], AssociatePublicIpAddress: false }],
      BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 30, DeleteOnTermination: true } }],
    });
    expect(launch?.InstanceMarketOptions?.SpotOptions?.MaxPrice).toBeUndefined();
    expect(launch?.SecurityGroups).toBeUndefined();
    expect(launch?.ClientToken).toBe(clientToken(id, 'launch-worker', 'c8g.medium', 'subnet-0bbb'));
    const fleet = renderFleet({ envName: 'stage', env: stageEnv(), gitlabUrl: m.deps.gitlabUrl, ...(m.deps.catalogue === undefined ? {} : { catalogue: m.deps.catalogue }) });
    expect(Buffer.from(launch?.UserData ?? '', 'base64').toString('utf8')).toBe(fleet.workerUserData.verify);
    for (const type of ['instance', 'volume']) {
      const tags = Object.fromEntries((launch?.TagSpecifications?.find((t) => t.ResourceType === type)?.Tags ?? []).map((t) => [t.Key, t.Value]));
      expect(tags).toMatchObject({ ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'verify-worker', 'runner-ops:operation': id });
      const expiresIn = Date.parse(tags['runner-ops:expires-at'] ?? '') - Date.now();
      expect(expiresIn).toBeGreaterThan(29 * 60_000);
      expect(expiresIn).toBeLessThanOrEqual(30 * 60_000);
    }

    // The manager was asked first, the worker probed until ready, then verify-ecr.sh ran on it.
    const [worker] = verifyWorkers();
    const kinds = m.aws.commands.map((c) => `${c.kind}@${c.instanceId === manager.id ? 'manager' : c.instanceId === worker?.id ? 'worker' : '?'}`);
    expect(kinds).toEqual(['manager-ecr@manager', 'worker-ready@worker', 'worker-ready@worker', 'verify-ecr@worker']);
    expect(m.aws.commands.find((c) => c.kind === 'manager-ecr')?.script).toContain(`REGISTRY=${REGISTRY}`);
    expect(m.aws.commands.find((c) => c.kind === 'verify-ecr')?.script).toBe(renderFleet({ envName: 'stage', env: stageEnv(), gitlabUrl: m.deps.gitlabUrl, verifyImage: IMAGE, ...(m.deps.catalogue === undefined ? {} : { catalogue: m.deps.catalogue }) }).artifacts['verify-ecr.sh']);

    expectNoWorkerLeft();
    expect(manager.state).toBe('running');
    expect(m.thread(id).join('\n')).toMatch(/Terminated verify worker `i-[0-9a-f]+` after \d+ s/);
  });

  it('verifies the image the command names', async () => {
    addManager();
    m.aws.addImage(ACCOUNT, 'ci/other', 'v1');
    const id = await m.request(`verify-ecr stage ${REGISTRY}/ci/other:v1`);
    expect(await m.outcome(id)).toMatch(/Succeeded.*ci\/other:v1/);
    expect(m.aws.commands.find((c) => c.kind === 'verify-ecr')?.script).toContain(`IMAGE=${REGISTRY}/ci/other:v1`);
  });

  it.each([
    ['a registry the environment does not list', `999999999999.dkr.ecr.us-east-1.amazonaws.com/ci/base:latest`, /registry 999999999999\.dkr\.ecr\.us-east-1\.amazonaws\.com is not one of stage's ecr\.registries/],
    ['a missing tag', `${REGISTRY}/ci/base:nope`, /ci\/base:nope does not exist: the repository ci\/base has no tag nope/],
    ['a missing repository', `${REGISTRY}/ci/absent:latest`, /the repository ci\/absent does not exist in registry 123456789012/],
  ])('preflight: %s launches nothing', async (_name, image, reason) => {
    addManager();
    const id = await m.request(`verify-ecr stage ${image}`);
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed/);
    expect(outcome).toMatch(reason);
    expect(m.aws.ec2).toHaveReceivedCommandTimes(RunInstancesCommand, 0);
    expect(m.aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(verifyWorkers()).toHaveLength(0);
    expect(m.thread(id).join('\n')).toContain('Nothing to undo: no verify worker was launched.');
  });

  it('a failing level is diagnosed with its fix, the operation fails with the table, the worker is terminated', async () => {
    addManager();
    m.aws.answer('verify-ecr', verifyOutput([
      verifyLine('host', 'ok'),
      verifyLine('container', 'failed', `Error response from daemon: Head "https://${REGISTRY}/v2/ci/base/manifests/latest": no basic auth credentials`, 'ecr-login: error getting credentials: ec2imds: GetMetadata, request canceled, context deadline exceeded (169.254.169.254)'),
      verifyLine('dind', 'failed', 'no basic auth credentials', 'ecr-login: error getting credentials: ec2imds: GetMetadata, request canceled'),
    ]));
    const id = await m.request('verify-ecr stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*ECR verification failed at container \(failed\), dind \(failed\): container: no basic auth credentials: instance metadata unreachable from the container \(hop limit\)/);
    expect(outcome).toMatch(/container\s+FAILED\s+3/);
    expect(outcome).toMatch(/host\s+ok\s+2/);
    const thread = m.thread(id).join('\n');
    expect(thread).toMatch(/\*container\*: no basic auth credentials: instance metadata unreachable from the container \(hop limit\)[\s\S]*Fix: set the IMDSv2 hop limit to 2/);
    expect(thread).toMatch(/Worker `i-[0-9a-f]+`: c8g\.medium in eu-central-1a, Spot, alive \d+ s, terminated/);
    expect(thread).toMatch(/Terminated verify worker/);
    expect(thread).toMatch(/Nothing left to undo: verify worker `i-[0-9a-f]+` is already terminated/);
    expectNoWorkerLeft();
  });

  it('the manager level: a missing credHelpers entry is diagnosed', async () => {
    addManager();
    m.aws.answer('manager-ecr', { ok: true, stdout: `${JSON.stringify({ kind: 'manager-ecr', registry: REGISTRY, ok: false, seconds: 1, credHelper: '', error: `no credHelpers entry "ecr-login" for ${REGISTRY} in /root/.docker/config.json (found: none): gitlab-runner will not ask the helper` })}\n` });
    const id = await m.request('verify-ecr stage');
    expect(await m.outcome(id)).toMatch(/Failed.*ECR verification failed at manager \(failed\): manager: no basic auth credentials: docker on the manager did not ask the credential helper \(missing credHelpers entry/);
    expect(m.thread(id).join('\n')).toMatch(/Fix: list the registry in ecr\.registries: the bootstrap merges/);
    expectNoWorkerLeft();
  });

  it('without a manager the manager level is skipped with the reason; the worker levels still run; the operation does not pass', async () => {
    const id = await m.request('verify-ecr stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*ECR verification failed at manager \(skipped\): manager: skipped \(stage has no manager/);
    expect(outcome).toMatch(/manager\s+SKIPPED\s+-/);
    expect(m.aws.commands.map((c) => c.kind)).toEqual(['worker-ready', 'worker-ready', 'verify-ecr']);
    expectNoWorkerLeft();
  });

  it('stops on UnauthorizedOperation with the reason and tries nothing else', async () => {
    addManager();
    m.aws.fault('ec2:RunInstances', awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403));
    const id = await m.request('verify-ecr stage');
    expect(await m.outcome(id)).toMatch(/Failed.*UnauthorizedOperation.*iam:PassRole for the role of instance profile gitlab-runner-worker/);
    expect(launches()).toHaveLength(1);
    expect(verifyWorkers()).toHaveLength(0);
  });

  it('a capacity answer for the only instance type is said in the thread, once, and stops', async () => {
    addManager();
    m.aws.fault('ec2:RunInstances', awsError('InsufficientInstanceCapacity', 'We currently do not have sufficient c8g.medium capacity', 500));
    const id = await m.request('verify-ecr stage');
    expect(await m.outcome(id)).toMatch(/Failed.*no Spot capacity for the verify worker: c8g\.medium in subnet-0bbb \(InsufficientInstanceCapacity\)/);
    expect(m.thread(id).join('\n')).toContain('No Spot capacity for `c8g.medium` in `subnet-0bbb` (InsufficientInstanceCapacity); no alternative left');
    // EC2 answers it with HTTP 500: the SDK did not repeat it.
    expect(launches()).toHaveLength(1);
  });

  it.each([
    ['while its user data runs', 'worker-ready'],
    ['during verify-ecr.sh', 'verify-ecr'],
  ])('a Spot interruption %s is reported as an interruption, not as an ECR failure', async (_when, kind) => {
    addManager();
    m.aws.answer(kind, (_cmd, inst) => { m.aws.interrupt(inst.id); return { ok: false, stdout: '' }; });
    const id = await m.request('verify-ecr stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*EC2 interrupted the Spot verify worker i-[0-9a-f]+ \(c8g\.medium\): it took the capacity back \(Server\.SpotInstanceTermination.*This is not an ECR failure/);
    expect(outcome).not.toMatch(/ECR verification failed/);
    expect(m.thread(id).join('\n')).toMatch(/Nothing left to undo: verify worker `i-[0-9a-f]+` is already terminated/);
    expectNoWorkerLeft();
  });

  it('a user data that fails is reported with its log tail', async () => {
    addManager();
    m.aws.answer('worker-ready', { ok: true, stdout: 'last lines of /var/log/runner-ops/worker-userdata.log:\n   | E: Unable to locate package docker-ce\n{"kind":"worker-wait","cloudInit":"error"}\n' });
    const id = await m.request('verify-ecr stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*user data ended without its readiness marker \(cloud-init: error\)/);
    expect(outcome).toContain('E: Unable to locate package docker-ce');
    expectNoWorkerLeft();
  });

  it('cancel during verify-ecr.sh stops the command and terminates the worker (never the manager)', async () => {
    const manager = addManager();
    m.aws.answer('verify-ecr', () => undefined); // runs until cancelled
    const id = await m.request('verify-ecr stage');
    await waitUntil(() => m.aws.commands.some((c) => c.kind === 'verify-ecr'), 10_000, 'verify-ecr.sh to be sent');
    await m.request(`cancel ${id}`).catch(() => undefined);
    expect(await m.outcome(id)).toMatch(/Cancelled/);
    expect(m.aws.ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: m.aws.commands.find((c) => c.kind === 'verify-ecr')?.id });
    expect(m.thread(id).join('\n')).toMatch(/Undone:\n• terminated verify worker `i-[0-9a-f]+`/);
    expectNoWorkerLeft();
    expect(manager.state).toBe('running');
  });

  it('cancel while waiting for the user data terminates the worker', async () => {
    addManager();
    m.aws.workerReadyProbes = 1e9;
    const id = await m.request('verify-ecr stage');
    await waitUntil(() => m.aws.commands.some((c) => c.kind === 'worker-ready'), 10_000, 'the first readiness probe');
    await m.request(`cancel ${id}`).catch(() => undefined);
    expect(await m.outcome(id)).toMatch(/Cancelled/);
    expectNoWorkerLeft();
  });

  it('a process that stops after RunInstances and before the checkpoint: the resumed job re-attaches to the same instance', async () => {
    addManager();
    let stopping: Promise<void> | undefined;
    m.aws.afterRunInstances = async () => {
      stopping = m.h.stop();
      await new Promise((r) => setTimeout(r, 500));
      throw awsError('RequestAborted', 'connection closed while the bot was stopping', 500);
    };
    const id = await m.request('verify-ecr stage');
    await waitUntil(() => stopping !== undefined, 10_000, 'RunInstances');
    await stopping;
    expect(verifyWorkers()).toHaveLength(1);
    await m.restart();
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    // Same token and, since the expiry tag was saved before the call, identical parameters
    // (the world answers IdempotentParameterMismatch otherwise).
    const tokens = launches().map((l) => l.ClientToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
    expect(JSON.stringify(launches()[1])).toBe(JSON.stringify(launches()[0]));
    expect(verifyWorkers()).toHaveLength(1);
    expectNoWorkerLeft();
    expect(m.thread(id).join('\n')).toContain('Resuming from the last checkpoint');
  });

  it('a restart during verify-ecr.sh re-attaches to the same CommandId', async () => {
    addManager();
    let hold = true;
    m.aws.answer('verify-ecr', () => (hold ? undefined : verifyOutput([verifyLine('host', 'ok'), verifyLine('container', 'ok'), verifyLine('dind', 'ok')])));
    const id = await m.request('verify-ecr stage');
    await waitUntil(() => m.aws.commands.some((c) => c.kind === 'verify-ecr'), 10_000, 'verify-ecr.sh to be sent');
    const commandId = m.aws.commands.find((c) => c.kind === 'verify-ecr')?.id;
    await m.h.stop();
    hold = false;
    await m.restart();
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    expect(m.aws.commands.filter((c) => c.kind === 'verify-ecr')).toHaveLength(1);
    expect(new Set(m.aws.ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.CommandId))).toContain(commandId);
    expect(launches()).toHaveLength(1);
    expectNoWorkerLeft();
  });

  it('--dry-run answers with the plan, launches nothing, sends nothing', async () => {
    addManager();
    const responseId = `dry-${Math.random()}`;
    await m.h.command('verify-ecr stage --dry-run', 'U0ALICE', { responseId });
    await m.h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 10_000, 'plan answer');
    await new Promise((r) => setTimeout(r, 300));
    const text = JSON.stringify(m.h.slack.responses.filter((r) => r.id === responseId).map((r) => r.body));
    expect(text).toContain('Dry run');
    expect(text).toContain('verify-ecr.sh');
    expect(text).toContain('worker-userdata-verify.sh');
    expect(text).toContain('run-instances.json');
    expect(m.aws.ec2).toHaveReceivedCommandTimes(RunInstancesCommand, 0);
    expect(m.aws.ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });

  it('the plan shows the preflight, the launch parameters and the scripts', async () => {
    addManager();
    const plan = await verifyEcrOperation(m.deps).plan({ envName: 'stage', env: stageEnv(), args: {}, requesterId: 'U0ALICE', operationId: 'op-plan01' });
    expect(plan.summary).toContain('`ci/base:latest` exists in 123456789012.dkr.ecr.eu-central-1.amazonaws.com');
    expect(plan.summary).toMatch(/one-time Spot `c8g\.medium`.*IMDSv2 required with hop limit 2, tagged to expire 30 min after launch/);
    expect(plan.args).toEqual({ image: IMAGE });
    const files = Object.fromEntries((plan.details ?? []).map((d) => [d.filename, d.content]));
    expect(Object.keys(files)).toEqual(['verify-ecr.sh', 'worker-userdata-verify.sh', 'run-instances.json', 'manager-ecr-check.sh']);
    const params = JSON.parse(files['run-instances.json'] ?? '{}') as RunInstancesCommandInput;
    expect(params).toMatchObject({
      InstanceType: 'c8g.medium', ClientToken: clientToken('op-plan01', 'launch-worker', 'c8g.medium', 'subnet-0bbb'),
      MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
      InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate' } },
      NetworkInterfaces: [{ Groups: [SG] }],
    });
    expect(params.UserData).toMatch(/^<base64 of worker-userdata-verify\.sh: \d+ bytes raw/);
    expect(files['verify-ecr.sh']).toContain(`IMAGE=${IMAGE}`);

    const bad = await verifyEcrOperation(m.deps).plan({ envName: 'stage', env: stageEnv(), args: { image: `${REGISTRY}/ci/base:nope` }, requesterId: 'U0ALICE', operationId: 'op-plan02' });
    expect(bad.summary).toMatch(/:x: Preflight: .*has no tag nope.*The run stops here and launches nothing/);
  });
});

describe('verify-ecr launch step: capacity fallback across instance types', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('verify-ecr-launch'); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  const threeTypes = (): EnvironmentConfig => {
    const env = stageEnv();
    return { ...env, workers: { ...env.workers, instanceTypes: ['c8g.medium', 'c7g.medium', 'm7g.medium'] } };
  };

  /** Runs the launch step alone, as the runner would, recording notes and checkpoints. */
  async function runLaunch(env: EnvironmentConfig, saved?: Json, opId = 'op-fall01'): Promise<{ result: unknown; notes: string[]; saves: Json[] }> {
    const step = verifyEcrOperation(m.deps).steps.find((s) => s.name === 'launch');
    if (step === undefined) throw new Error('no launch step');
    const notes: string[] = [];
    const saves: Json[] = [];
    const ctx: StepContext = {
      operation: { id: opId, verb: 'verify-ecr', env: 'stage', args: {}, requesterId: 'U0ALICE', channel: 'C0STAGE', state: 'running', fingerprint: 'x', approvalRequired: false, createdAt: Date.now() },
      envName: 'stage', env, log: pino({ level: 'silent' }), signal: new AbortController().signal, results: {},
      note: async (t) => { notes.push(t); },
      saved, save: async (s) => { saves.push(s); },
      throwIfCancelled: async () => undefined,
    };
    return { result: await step.run(ctx), notes, saves };
  }

  it('moves to the next instance type on each capacity answer, with a new ClientToken, and says so', async () => {
    m.aws.fault('ec2:RunInstances:c8g.medium', awsError('InsufficientInstanceCapacity', 'no capacity', 500));
    m.aws.fault('ec2:RunInstances:c7g.medium', awsError('SpotMaxPriceTooLow', 'price too low', 400));
    const { result, notes, saves } = await runLaunch(threeTypes());
    const calls = m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input as RunInstancesCommandInput);
    expect(calls.map((c) => c.InstanceType)).toEqual(['c8g.medium', 'c7g.medium', 'm7g.medium']);
    expect(calls.map((c) => c.ClientToken)).toEqual(['c8g.medium', 'c7g.medium', 'm7g.medium'].map((t) => clientToken('op-fall01', 'launch-worker', t, 'subnet-0bbb')));
    expect(notes[0]).toBe('No Spot capacity for `c8g.medium` in `subnet-0bbb` (InsufficientInstanceCapacity): trying `c7g.medium` in `subnet-0bbb` next.');
    expect(notes[1]).toBe('No Spot capacity for `c7g.medium` in `subnet-0bbb` (SpotMaxPriceTooLow): trying `m7g.medium` in `subnet-0bbb` next.');
    expect(notes[2]).toMatch(/^Launched verify worker `i-[0-9a-f]+` \(m7g\.medium, one-time Spot/);
    expect(result).toMatchObject({ instanceType: 'm7g.medium', spot: true, az: 'eu-central-1a', attempts: [{ outcome: 'no-capacity', code: 'InsufficientInstanceCapacity' }, { outcome: 'no-capacity', code: 'SpotMaxPriceTooLow' }, { outcome: 'launched', instanceType: 'm7g.medium' }] });
    // The alternative was checkpointed before each call, the id after; one expiry throughout.
    expect(saves.map((s) => (s as { index: number }).index)).toEqual([0, 1, 2, 2]);
    expect(new Set(saves.map((s) => (s as { expiresAt: string }).expiresAt)).size).toBe(1);
    expect((saves.at(-1) as { instanceId?: string }).instanceId).toMatch(/^i-/);
    expect(m.aws.live('verify-worker')).toHaveLength(1);
  });

  it('a resumed step goes on from the saved alternative with the saved expiry', async () => {
    const expiresAt = new Date(Date.now() + 10 * 60_000).toISOString();
    await runLaunch(threeTypes(), { expiresAt, index: 1, attempts: [] });
    const [call] = m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input as RunInstancesCommandInput);
    expect(call?.InstanceType).toBe('c7g.medium');
    expect(call?.TagSpecifications?.[0]?.Tags).toContainEqual({ Key: 'runner-ops:expires-at', Value: expiresAt });
  });

  it.each([
    ['UnauthorizedOperation', 403, /iam:PassRole/],
    ['VcpuLimitExceeded', 400, /Spot .* vCPU quota is used up/],
  ])('stops on %s without trying the next type', async (code, status, reason) => {
    m.aws.fault('ec2:RunInstances:c8g.medium', awsError(code, code, status));
    await expect(runLaunch(threeTypes())).rejects.toMatchObject({ code: 'external', message: expect.stringMatching(reason) });
    expect(m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input.InstanceType)).toEqual(['c8g.medium']);
    expect(m.aws.live('verify-worker')).toHaveLength(0);
  });

  it('on-demand where the fleet is, with MaxPrice only for a set spotPrice', async () => {
    const env = threeTypes();
    await runLaunch({ ...env, workers: { ...env.workers, spot: false } }, undefined, 'op-fall02');
    await runLaunch({ ...env, workers: { ...env.workers, spotPrice: '0.05' } }, undefined, 'op-fall03');
    const [onDemand, priced] = m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => c.args[0].input as RunInstancesCommandInput);
    expect(onDemand?.InstanceMarketOptions).toBeUndefined();
    expect(priced?.InstanceMarketOptions?.SpotOptions?.MaxPrice).toBe('0.05');
  });
});
