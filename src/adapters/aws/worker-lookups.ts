/**
 * Lookups around verify-ecr's worker: the fleet's security group by name, the worker's own state
 * (with EC2's state reason, to tell a Spot interruption from an ECR failure), and the verify
 * workers an operation launched (found by tag, so a launch whose id never reached a checkpoint is
 * found too).
 */
import { DescribeInstancesCommand, DescribeSecurityGroupsCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { abortError } from '../../domain/clock';
import { RunnerOpsError } from '../../domain/errors';
import { EXISTING_STATES } from './ec2-cleanup';
import { listInstances, toInstance, type AwsCallOptions, type Instance } from './ec2-instances';
import { awsErrorCode, fromAwsError } from './errors';
import { TAG } from './tags';

/**
 * The id of the security group named `name` in `vpcId`. The amazonec2 driver creates the group
 * when it launches the fleet's first worker; a group that does not exist yet is a clear answer.
 */
export async function securityGroupIdByName(ec2: EC2Client, vpcId: string, name: string, opts: AwsCallOptions = {}): Promise<string> {
  let out;
  try {
    out = await ec2.send(new DescribeSecurityGroupsCommand({
      Filters: [{ Name: 'group-name', Values: [name] }, { Name: 'vpc-id', Values: [vpcId] }],
    }), { abortSignal: opts.abortSignal });
  } catch (err) {
    throw fromAwsError(err, 'EC2', 'DescribeSecurityGroups');
  }
  const ids = (out.SecurityGroups ?? []).map((g) => g.GroupId).filter((id): id is string => id !== undefined);
  const [id] = ids;
  if (id === undefined) {
    throw new RunnerOpsError('not_found', `the workers' security group "${name}" does not exist in ${vpcId} (workers.securityGroup, workers.vpcId); create it (inbound tcp 22 and 2376 from the manager for Docker Machine, outbound HTTPS to SSM and ECR; README "The AWS side") and run verify-ecr again`);
  }
  return id;
}

export interface WorkerState {
  instance: Instance;
  /** EC2's StateReason (e.g. Server.SpotInstanceTermination), when it gave one. */
  reasonCode: string | undefined;
  reason: string | undefined;
}

/** One instance with its state reason; undefined when EC2 does not know the id (yet, or any more). */
export async function describeWorker(ec2: EC2Client, instanceId: string, opts: AwsCallOptions = {}): Promise<WorkerState | undefined> {
  let page;
  try {
    page = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }), { abortSignal: opts.abortSignal });
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidInstanceID.NotFound') return undefined;
    if (opts.abortSignal?.aborted === true) throw abortError(opts.abortSignal);
    throw fromAwsError(err, 'EC2', 'DescribeInstances');
  }
  const sdk = page.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  const instance = sdk === undefined ? undefined : toInstance(sdk);
  if (sdk === undefined || instance === undefined) return undefined;
  const reason = sdk.StateReason?.Message ?? (sdk.StateTransitionReason === '' ? undefined : sdk.StateTransitionReason);
  return { instance, reasonCode: sdk.StateReason?.Code, reason };
}

const GONE = new Set(['shutting-down', 'terminated', 'stopping', 'stopped']);

/**
 * Why the worker can no longer answer, when it is going or gone: a Spot interruption (EC2 took the
 * capacity back) or any other stop. Undefined while it is pending or running.
 */
export function interruptionOf(state: WorkerState | undefined, instanceId: string): string | undefined {
  if (state === undefined) return `the verify worker ${instanceId} no longer exists`;
  const i = state.instance;
  if (!GONE.has(i.state)) return undefined;
  const why = [state.reasonCode, state.reason].filter((s) => s !== undefined && s !== '').join(': ');
  if (state.reasonCode === 'Server.SpotInstanceTermination' || (i.spot && /spot/i.test(why))) {
    return `EC2 interrupted the Spot verify worker ${instanceId} (${i.type ?? '?'}): it took the capacity back (${why || 'Spot interruption'})`;
  }
  return `the verify worker ${instanceId} is ${i.state}${why === '' ? '' : ` (${why})`}`;
}

/** The verify workers of one operation that still exist (pending, running, stopping, stopped). */
export async function listOperationVerifyWorkers(ec2: EC2Client, envName: string, operationId: string, opts: AwsCallOptions = {}): Promise<Instance[]> {
  const workers = await listInstances(ec2, { environment: envName, role: 'verify-worker', states: EXISTING_STATES }, opts);
  return workers.filter((w) => w.tags.get(TAG.operation) === operationId);
}
