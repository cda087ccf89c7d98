/**
 * Launching the manager instance and waiting for it to run (CONTRACT §6, DESIGN §2).
 *
 * Idempotency contract: every RunInstances carries a ClientToken derived from the operation id,
 * the step and the launch alternative (instance type, subnet). A retried or resumed step sends the
 * same token, and EC2 answers with the instance it launched the first time instead of launching a
 * second one (tokens stay valid at least 24 h after termination). Different parameters under the
 * same token are a bug (IdempotentParameterMismatch), never a reason to launch again.
 *
 * Retry budget of the launch call: because of the token, the SDK may repeat RunInstances safely
 * after throttling, 503s and network errors, and it keeps doing so. Capacity and quota answers
 * (InsufficientInstanceCapacity, which EC2 sends as HTTP 500, VcpuLimitExceeded, …) are not
 * retried by the SDK: a per-command middleware marks them final, so the caller sees them after
 * one request and decides (the manager has a single alternative, so it stops and says what to do;
 * a caller with several alternatives moves to the next token). This keeps the shared client's
 * retry settings (and its adaptive token bucket) intact instead of building a maxAttempts=1 client.
 */
import { createHash } from 'node:crypto';
import { DescribeInstancesCommand, RunInstancesCommand, type EC2Client, type _InstanceType } from '@aws-sdk/client-ec2';
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { abortError, type Clock } from '../../domain/clock';
import { RunnerOpsError } from '../../domain/errors';
import { pollUntil } from '../../domain/poll';
import { toInstance, type Instance } from './ec2-instances';
import { awsErrorCode, fromAwsError } from './errors';
import { tagsFor } from './tags';

const MAX_CLIENT_TOKEN = 64;
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/**
 * CONTRACT §6 ClientToken: `${operationId}.${step}.${instanceType}.${subnetId}` when that is at
 * most 64 printable ASCII characters, else `${operationId}.${step}.` and the first 16 hex digits of
 * sha256(`${instanceType}/${subnetId}`). Deterministic: the same inputs give the same token.
 */
export function clientToken(operationId: string, step: string, instanceType: string, subnetId: string): string {
  const full = `${operationId}.${step}.${instanceType}.${subnetId}`;
  if (full.length <= MAX_CLIENT_TOKEN && PRINTABLE_ASCII.test(full)) return full;
  const digest = createHash('sha256').update(`${instanceType}/${subnetId}`).digest('hex').slice(0, 16);
  const hashed = `${operationId}.${step}.${digest}`;
  if (hashed.length > MAX_CLIENT_TOKEN || !PRINTABLE_ASCII.test(hashed)) {
    // Operation ids and step names come from code, so this is a bug, not bad input.
    throw new RunnerOpsError('internal', `cannot derive a ClientToken from operation ${operationId} and step ${step}: too long or not ASCII`);
  }
  return hashed;
}

export interface ManagerLaunchSpec {
  envName: string;
  operationId: string;
  step: string;
  generation: number;
  manager: EnvironmentConfig['manager'];
}

/** Answers that mean "this launch alternative cannot work now": the SDK must not repeat them. */
export const FINAL_LAUNCH_ERRORS: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity', 'InsufficientHostCapacity', 'InsufficientReservedInstanceCapacity', 'InsufficientCapacity',
  'UnfulfillableCapacity', 'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'VcpuLimitExceeded', 'InstanceLimitExceeded',
]);

/**
 * Carries a final launch error past the SDK's retry middleware. It has no HTTP status, no
 * `cause` and no `$retryable`, so the retry strategy classifies it as a client error and stops.
 * Whoever sends a `runInstancesCommand` unwraps it with `unwrapLaunchError` before classifying.
 */
class FinalLaunchError extends Error {
  constructor(readonly original: unknown) {
    super('final launch error');
    this.name = 'FinalLaunchError';
  }
}

type DeserializeMiddleware = Parameters<RunInstancesCommand['middlewareStack']['add']>[0];

/** Runs inside the retry loop (deserialize step, ahead of the deserializer), once per attempt. */
const markFinalLaunchErrors: DeserializeMiddleware = (next) => async (args) => {
  try {
    return await next(args);
  } catch (err) {
    const code = awsErrorCode(err);
    throw code !== undefined && FINAL_LAUNCH_ERRORS.has(code) ? new FinalLaunchError(err) : err;
  }
};

/** The SDK error behind a `runInstancesCommand` failure (anything else is returned as is). */
export function unwrapLaunchError(err: unknown): unknown {
  return err instanceof FinalLaunchError ? err.original : err;
}

/** A RunInstancesCommand whose capacity and quota errors reach the caller after one request. */
export function runInstancesCommand(input: ConstructorParameters<typeof RunInstancesCommand>[0]): RunInstancesCommand {
  const command = new RunInstancesCommand(input);
  command.middlewareStack.add(markFinalLaunchErrors, { step: 'deserialize', priority: 'high', name: 'runnerOpsFinalLaunchErrors' });
  return command;
}

function launchError(err: unknown, spec: ManagerLaunchSpec, token: string): RunnerOpsError {
  const original = unwrapLaunchError(err);
  const code = awsErrorCode(original);
  const m = spec.manager;
  const base = fromAwsError(original, 'EC2', 'RunInstances');
  const say = (kind: 'internal' | 'external', what: string) => new RunnerOpsError(kind, `${base.message}: ${what}`, { cause: original });
  switch (code) {
    case 'IdempotentParameterMismatch':
      return say('internal', `ClientToken ${token} was already used with other parameters (step ${spec.step} of ${spec.operationId}); the launch parameters must not change between attempts of one step, so nothing was launched`);
    case 'UnauthorizedOperation':
      return say('external', `the bot's IAM policy (or the environment role) must allow ec2:RunInstances and ec2:CreateTags, and iam:PassRole for the role of instance profile ${m.instanceProfile}; \`aws sts decode-authorization-message\` shows what was denied`);
    case 'VcpuLimitExceeded':
    case 'InstanceLimitExceeded':
      return say('external', `the account's on-demand vCPU quota for ${m.instanceType} is used up in this region: ask for a higher "Running On-Demand instances" quota in Service Quotas, or free capacity, then run the operation again`);
    case 'InsufficientInstanceCapacity':
    case 'InsufficientCapacity':
    case 'UnfulfillableCapacity':
      return say('external', `EC2 has no on-demand ${m.instanceType} capacity in the availability zone of ${m.subnetId} right now: try again later, or set manager.instanceType or manager.subnetId to another type or zone`);
    default:
      return base;
  }
}

/**
 * Launches the environment's manager: one on-demand instance (the manager is never Spot, DESIGN
 * §2), IMDSv2 required with hop limit 2 (containers on the host reach instance credentials), tagged
 * on the instance and its volumes. No user data: the manager is bootstrapped through SSM. The AMI
 * may be `resolve:ssm:/path`, which RunInstances resolves itself. Returns the instance id (the
 * first launch's id when the token was used before).
 */
export async function launchManager(ec2: EC2Client, spec: ManagerLaunchSpec, opts: { abortSignal?: AbortSignal } = {}): Promise<string> {
  const m = spec.manager;
  const token = clientToken(spec.operationId, spec.step, m.instanceType, m.subnetId);
  const tags = [
    ...tagsFor({ role: 'manager', environment: spec.envName, operationId: spec.operationId, generation: spec.generation }),
    { Key: 'Name', Value: `runner-ops-${spec.envName}-manager-${spec.generation}` },
  ];
  const command = runInstancesCommand({
    ClientToken: token,
    MinCount: 1,
    MaxCount: 1,
    ImageId: m.ami,
    // The SDK's union lags behind EC2's new types; the fleet file already checked the shape.
    InstanceType: m.instanceType as _InstanceType,
    SubnetId: m.subnetId,
    SecurityGroupIds: [...m.securityGroupIds],
    IamInstanceProfile: { Name: m.instanceProfile },
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  });
  let out;
  try {
    out = await ec2.send(command, { abortSignal: opts.abortSignal });
  } catch (err) {
    throw launchError(err, spec, token);
  }
  const id = out.Instances?.[0]?.InstanceId;
  if (id === undefined) throw new RunnerOpsError('internal', `EC2 RunInstances (token ${token}) answered without an instance id`);
  return id;
}

export interface WaitOptions {
  clock: Clock;
  signal?: AbortSignal;
  timeoutMs: number;
  /** Default 2 s. */
  initialDelayMs?: number;
  /** Default 10 s. */
  maxDelayMs?: number;
}

const FAILED_STATES = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

/**
 * Waits until the instance is `running` and returns it. Right after RunInstances, DescribeInstances
 * may not know the id yet (eventual consistency): InvalidInstanceID.NotFound and an empty answer
 * count as "not yet" until the deadline. An instance that stops or terminates instead is an
 * 'external' error naming EC2's state reason (e.g. Server.InsufficientInstanceCapacity, a bad AMI).
 */
export function waitUntilRunning(ec2: EC2Client, instanceId: string, opts: WaitOptions): Promise<Instance> {
  return pollUntil<Instance>(async () => {
    let page;
    try {
      page = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: opts.signal });
    } catch (err) {
      if (awsErrorCode(err) === 'InvalidInstanceID.NotFound') return undefined;
      if (opts.signal?.aborted === true) throw abortError(opts.signal); // 'cancelled', not the SDK's AbortError
      throw fromAwsError(err, 'EC2', 'DescribeInstances');
    }
    const sdk = page.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
    const instance = sdk === undefined ? undefined : toInstance(sdk);
    if (instance === undefined) return undefined;
    if (instance.state === 'running') return instance;
    if (FAILED_STATES.has(instance.state)) {
      const reason = sdk?.StateReason?.Message ?? sdk?.StateReason?.Code ?? sdk?.StateTransitionReason;
      throw new RunnerOpsError('external', `instance ${instanceId} is ${instance.state} instead of running${reason !== undefined && reason !== '' ? ` (${reason})` : ''}`);
    }
    return undefined; // pending (or a state EC2 added later): keep waiting
  }, {
    clock: opts.clock,
    signal: opts.signal,
    deadline: opts.clock.now() + opts.timeoutMs,
    initialDelayMs: opts.initialDelayMs ?? 2000,
    maxDelayMs: opts.maxDelayMs ?? 10_000,
    label: `instance ${instanceId} to be running`,
  });
}

/*
 * The verify worker (verify-ecr): one instance launched like a Docker Machine worker of the fleet
 * (src/fleet/executors/docker-machine.ts machineOptions), by runner-ops itself.
 *
 * - Network: like `amazonec2-private-address-only`, one interface in workers.subnetId without a
 *   public address. The security group is named in the fleet file (the amazonec2 driver wants a
 *   name); RunInstances accepts group names only for the default VPC ("[Default VPC] The names of
 *   the security groups", RunInstances API reference), so the caller resolves it to an id in
 *   workers.vpcId first (worker-lookups.ts `securityGroupIdByName`).
 * - Root volume: workers.rootSizeGb on /dev/sda1, the driver's default `amazonec2-device-name`.
 * - Spot where workers.spot: one-time, terminate on interruption, MaxPrice only where
 *   workers.spotPrice is a price (empty or absent: EC2's default cap, the on-demand price).
 * - IMDSv2 required with hop limit 2, as the fleet's workers, so the DinD check means something.
 * - Tags (CONTRACT §6) on the instance and its volumes, with `runner-ops:expires-at`, which the
 *   caller fixes once per step: a resumed RunInstances must send identical parameters.
 *
 * Capacity fallback: the alternatives are workers.instanceTypes × the fleet's subnets (one today),
 * in order, each with its own ClientToken. A capacity answer moves to the next alternative; a
 * permission or quota answer stops with the reason (DESIGN §2).
 */

export interface LaunchAlternative {
  instanceType: string;
  subnetId: string;
}

/** The verify worker's launch alternatives, the fleet's own first. */
export function verifyWorkerAlternatives(workers: EnvironmentConfig['workers']): LaunchAlternative[] {
  const subnets = [workers.subnetId];
  return workers.instanceTypes.flatMap((instanceType) => subnets.map((subnetId) => ({ instanceType, subnetId })));
}

export interface VerifyWorkerSpec {
  envName: string;
  operationId: string;
  step: string;
  workers: EnvironmentConfig['workers'];
  securityGroupId: string;
  /** The raw user data script (the fleet's `verify` variant); base64-encoded here. */
  userData: string;
  expiresAt: Date;
}

/** Answers that mean "no capacity for this alternative now": try the next one. */
export const CAPACITY_ERRORS: ReadonlySet<string> = new Set([
  'InsufficientInstanceCapacity', 'SpotMaxPriceTooLow', 'MaxSpotInstanceCountExceeded', 'UnfulfillableCapacity', 'InsufficientCapacity',
]);

/** EC2's user data limit: "16 KB, in raw form, before it is base64-encoded". */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** The RunInstances input for one alternative (also what a --dry-run shows). */
export function verifyWorkerLaunchInput(spec: VerifyWorkerSpec, alt: LaunchAlternative): ConstructorParameters<typeof RunInstancesCommand>[0] {
  const size = Buffer.byteLength(spec.userData, 'utf8');
  if (size > USER_DATA_MAX_BYTES) throw new RunnerOpsError('internal', `the verify worker's user data is ${size} bytes; EC2 allows ${USER_DATA_MAX_BYTES} before base64`);
  const w = spec.workers;
  const tags = [
    ...tagsFor({ role: 'verify-worker', environment: spec.envName, operationId: spec.operationId, expiresAt: spec.expiresAt }),
    { Key: 'Name', Value: `runner-ops-${spec.envName}-verify-${spec.operationId}` },
  ];
  const maxPrice = w.spotPrice !== undefined && w.spotPrice !== '' ? { MaxPrice: w.spotPrice } : {};
  return {
    ClientToken: clientToken(spec.operationId, spec.step, alt.instanceType, alt.subnetId),
    MinCount: 1,
    MaxCount: 1,
    ImageId: w.ami,
    InstanceType: alt.instanceType as _InstanceType,
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: alt.subnetId, Groups: [spec.securityGroupId], AssociatePublicIpAddress: false, DeleteOnTermination: true }],
    IamInstanceProfile: { Name: w.instanceProfile },
    UserData: Buffer.from(spec.userData, 'utf8').toString('base64'),
    BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: w.rootSizeGb, DeleteOnTermination: true } }],
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
    ...(w.spot ? { InstanceMarketOptions: { MarketType: 'spot', SpotOptions: { SpotInstanceType: 'one-time', InstanceInterruptionBehavior: 'terminate', ...maxPrice } } } : {}),
    TagSpecifications: [
      { ResourceType: 'instance', Tags: tags },
      { ResourceType: 'volume', Tags: tags },
    ],
  };
}

export interface LaunchAttempt extends LaunchAlternative {
  clientToken: string;
  outcome: 'launched' | 'no-capacity';
  /** The EC2 error code of a capacity answer. */
  code?: string;
  instanceId?: string;
}

export interface VerifyLaunchOptions {
  abortSignal?: AbortSignal;
  /** The alternative to start from (a resumed step goes on where it was). Default 0. */
  startAt?: number;
  /** Called before each RunInstances: the caller checkpoints the index it is about to try. */
  beforeAttempt?: (index: number, alt: LaunchAlternative) => Promise<void>;
  /** Called after a capacity answer, with the alternative tried next (undefined: none left). */
  onNoCapacity?: (attempt: LaunchAttempt, next: LaunchAlternative | undefined) => Promise<void>;
}

export interface VerifyLaunchResult {
  instanceId: string;
  index: number;
  alternative: LaunchAlternative;
  attempts: LaunchAttempt[];
}

function verifyLaunchError(original: unknown, spec: VerifyWorkerSpec, alt: LaunchAlternative, token: string): RunnerOpsError {
  const code = awsErrorCode(original);
  const base = fromAwsError(original, 'EC2', 'RunInstances');
  const say = (kind: 'internal' | 'external', what: string) => new RunnerOpsError(kind, `${base.message}: ${what}`, { cause: original });
  switch (code) {
    case 'IdempotentParameterMismatch':
      return say('internal', `ClientToken ${token} was already used with other parameters (step ${spec.step} of ${spec.operationId}); nothing was launched`);
    case 'UnauthorizedOperation':
      return say('external', `the bot's IAM policy (or the environment role) must allow ec2:RunInstances and ec2:CreateTags, and iam:PassRole for the role of instance profile ${spec.workers.instanceProfile}; \`aws sts decode-authorization-message\` shows what was denied. No other instance type was tried`);
    case 'VcpuLimitExceeded':
    case 'InstanceLimitExceeded':
      return say('external', `the account's ${spec.workers.spot ? 'Spot ("All Standard … Spot Instance Requests")' : 'on-demand ("Running On-Demand … instances")'} vCPU quota is used up in this region (${alt.instanceType}): ask for more in Service Quotas or free capacity, then run verify-ecr again. No other instance type was tried`);
    default:
      return base;
  }
}

/**
 * Launches the verify worker, moving through the alternatives on capacity answers. Returns the
 * instance id (the first launch's id when a resumed step sends the same token) and every attempt.
 */
export async function launchVerifyWorker(ec2: EC2Client, spec: VerifyWorkerSpec, opts: VerifyLaunchOptions = {}): Promise<VerifyLaunchResult> {
  const alternatives = verifyWorkerAlternatives(spec.workers);
  const attempts: LaunchAttempt[] = [];
  for (let index = opts.startAt ?? 0; index < alternatives.length; index += 1) {
    const alt = alternatives[index] as LaunchAlternative;
    const input = verifyWorkerLaunchInput(spec, alt);
    const token = input.ClientToken ?? '';
    await opts.beforeAttempt?.(index, alt);
    let out;
    try {
      out = await ec2.send(runInstancesCommand(input), { abortSignal: opts.abortSignal });
    } catch (err) {
      const original = unwrapLaunchError(err);
      const code = awsErrorCode(original);
      if (code === undefined || !CAPACITY_ERRORS.has(code)) throw verifyLaunchError(original, spec, alt, token);
      const attempt: LaunchAttempt = { ...alt, clientToken: token, outcome: 'no-capacity', code };
      attempts.push(attempt);
      await opts.onNoCapacity?.(attempt, alternatives[index + 1]);
      continue;
    }
    const instanceId = out.Instances?.[0]?.InstanceId;
    if (instanceId === undefined) throw new RunnerOpsError('internal', `EC2 RunInstances (token ${token}) answered without an instance id`);
    attempts.push({ ...alt, clientToken: token, outcome: 'launched', instanceId });
    return { instanceId, index, alternative: alt, attempts };
  }
  const tried = attempts.map((a) => `${a.instanceType} in ${a.subnetId} (${a.code ?? '?'})`).join(', ');
  throw new RunnerOpsError('external', `no ${spec.workers.spot ? 'Spot' : 'on-demand'} capacity for the verify worker: ${tried || 'no alternative left'}; try again later, or add instance types to workers.instanceTypes`);
}
