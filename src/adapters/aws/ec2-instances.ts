/**
 * EC2 instance lookups by runner-ops tags (CONTRACT §6). Functions take the client first; the SDK's
 * `Instance` shape is mapped to the domain `Instance` in `toInstance` and nowhere else.
 */
import { DescribeInstancesCommand, type DescribeInstancesCommandInput, type EC2Client, type Filter, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { abortError } from '../../domain/clock';
import { fromAwsError } from './errors';
import { TAG, isInstanceRole, parseGeneration, tagFilter, tagMap, type InstanceRole } from './tags';

export const INSTANCE_STATES = ['pending', 'running', 'shutting-down', 'terminated', 'stopping', 'stopped'] as const;
export type InstanceState = (typeof INSTANCE_STATES)[number] | 'unknown';

export interface Instance {
  id: string;
  /** Instance type, e.g. `t4g.micro`; undefined only if EC2 left it out. */
  type: string | undefined;
  state: InstanceState;
  az: string | undefined;
  launchTime: Date | undefined;
  privateIp: string | undefined;
  tags: ReadonlyMap<string, string>;
  environment: string | undefined;
  role: InstanceRole | undefined;
  /** `runner-ops:generation`; undefined when absent or malformed. */
  generation: number | undefined;
  /** Whether EC2 reports the instance as a Spot instance. */
  spot: boolean;
}

export interface ManagerInstance extends Instance {
  role: 'manager';
  /** 0 when a manager's generation tag is absent or malformed (it still counts, below any tagged one). */
  generation: number;
}

export interface AwsCallOptions {
  abortSignal?: AbortSignal;
}

const LIVE_STATES: readonly InstanceState[] = ['pending', 'running'];

function toState(name: string | undefined): InstanceState {
  return INSTANCE_STATES.find((s) => s === name) ?? 'unknown';
}

export function toInstance(sdk: SdkInstance): Instance | undefined {
  if (sdk.InstanceId === undefined) return undefined;
  const tags = tagMap(sdk.Tags);
  const role = tags.get(TAG.role);
  return {
    id: sdk.InstanceId,
    type: sdk.InstanceType,
    state: toState(sdk.State?.Name),
    az: sdk.Placement?.AvailabilityZone,
    launchTime: sdk.LaunchTime,
    privateIp: sdk.PrivateIpAddress,
    tags,
    environment: tags.get(TAG.environment),
    role: isInstanceRole(role) ? role : undefined,
    generation: parseGeneration(tags.get(TAG.generation)),
    spot: sdk.InstanceLifecycle === 'spot',
  };
}

/** Every page of DescribeInstances for `input`, mapped to domain instances. */
async function describeAll(ec2: EC2Client, input: DescribeInstancesCommandInput, opts: AwsCallOptions): Promise<Instance[]> {
  const out: Instance[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ec2.send(new DescribeInstancesCommand({ ...input, NextToken: nextToken }), { abortSignal: opts.abortSignal });
    } catch (err) {
      if (opts.abortSignal?.aborted === true) throw abortError(opts.abortSignal);
      throw fromAwsError(err, 'EC2', 'DescribeInstances');
    }
    for (const r of page.Reservations ?? []) {
      for (const i of r.Instances ?? []) {
        const mapped = toInstance(i);
        if (mapped !== undefined) out.push(mapped);
      }
    }
    nextToken = page.NextToken;
  } while (nextToken !== undefined && nextToken !== '');
  return out;
}

/** How many ids one `instance-id` filter carries. */
const IDS_PER_CALL = 100;

/**
 * Instances by id through the `instance-id` filter: unlike `getInstances` (`InstanceIds`), an id
 * EC2 does not know is simply absent from the answer instead of failing the whole call.
 */
export async function findInstancesById(ec2: EC2Client, ids: readonly string[], opts: AwsCallOptions = {}): Promise<Instance[]> {
  const unique = [...new Set(ids)];
  const out: Instance[] = [];
  for (let i = 0; i < unique.length; i += IDS_PER_CALL) {
    out.push(...await describeAll(ec2, { Filters: [{ Name: 'instance-id', Values: unique.slice(i, i + IDS_PER_CALL) }] }, opts));
  }
  return out;
}

export interface InstanceQuery {
  environment: string;
  role?: InstanceRole;
  /** Default: pending and running. */
  states?: readonly InstanceState[];
}

/** Instances of one environment (and role), by tags. */
export function listInstances(ec2: EC2Client, query: InstanceQuery, opts: AwsCallOptions = {}): Promise<Instance[]> {
  const filters: Filter[] = [
    tagFilter(TAG.environment, [query.environment]),
    { Name: 'instance-state-name', Values: [...(query.states ?? LIVE_STATES)] },
  ];
  if (query.role !== undefined) filters.push(tagFilter(TAG.role, [query.role]));
  return describeAll(ec2, { Filters: filters, MaxResults: 1000 }, opts);
}

/** Instances by id. Ids that EC2 does not know make EC2 fail the call (InvalidInstanceID.NotFound). */
export function getInstances(ec2: EC2Client, ids: readonly string[], opts: AwsCallOptions = {}): Promise<Instance[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return describeAll(ec2, { InstanceIds: [...ids] }, opts);
}

/** Orders managers: highest generation first, then the most recently launched. */
export function compareManagers(a: ManagerInstance, b: ManagerInstance): number {
  if (a.generation !== b.generation) return b.generation - a.generation;
  return (b.launchTime?.getTime() ?? 0) - (a.launchTime?.getTime() ?? 0);
}

/** All live (pending/running) managers of the environment, current one first. */
export async function listManagers(ec2: EC2Client, envName: string, opts: AwsCallOptions = {}): Promise<ManagerInstance[]> {
  const instances = await listInstances(ec2, { environment: envName, role: 'manager' }, opts);
  return instances
    .map((i): ManagerInstance => ({ ...i, role: 'manager', generation: i.generation ?? 0 }))
    .sort(compareManagers);
}

/**
 * The environment's manager (CONTRACT §6): the pending or running instance tagged with the
 * environment and `role=manager` that has the highest generation; undefined when there is none.
 */
export async function findManager(ec2: EC2Client, envName: string, opts: AwsCallOptions = {}): Promise<ManagerInstance | undefined> {
  const managers = await listManagers(ec2, envName, opts);
  return managers[0];
}

/** How many Docker Machine workers of the environment are pending or running. */
export async function countWorkers(ec2: EC2Client, envName: string, opts: AwsCallOptions = {}): Promise<number> {
  const workers = await listInstances(ec2, { environment: envName, role: 'worker' }, opts);
  return workers.length;
}
