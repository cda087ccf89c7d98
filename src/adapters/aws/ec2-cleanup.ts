/**
 * Removing what runner-ops created: instances, the manager's EC2 key pair, and lookups that
 * cleanup needs (CONTRACT §6).
 *
 * Safety contract: `terminateInstances` reads the tags of every id itself before terminating and
 * never terminates an instance that is not tagged `ManagedBy=runner-ops`, nor (unless the caller
 * is `rotate` or `destroy` and says `allowManagers`) one tagged `runner-ops:role=manager`. Callers
 * cannot bypass this by passing ids they believe are safe.
 *
 * Idempotency contract: every function here may be repeated (a resumed step does): an instance
 * that is already terminated or unknown, or a key pair that is already gone, counts as done.
 */
import { DeleteKeyPairCommand, DescribeKeyPairsCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { pollUntil } from '../../domain/poll';
import { findInstancesById, listInstances, type AwsCallOptions, type Instance, type InstanceState } from './ec2-instances';
import { awsErrorCode, fromAwsError } from './errors';
import type { WaitOptions } from './launcher';
import { MANAGED_BY_VALUE, TAG, tagFilter, tagMap } from './tags';

/** States in which an instance still exists and costs money (or may again). */
export const EXISTING_STATES: readonly InstanceState[] = ['pending', 'running', 'stopping', 'stopped'];
/** Ids per DescribeInstances filter and per TerminateInstances call. */
const BATCH = 100;

export interface TerminateResult {
  /** Ids now terminating or already gone (terminated, shutting down, or unknown to EC2). */
  terminated: string[];
  /** Ids that were left alone, and why. */
  refused: { id: string; reason: string }[];
  /** The subset of `terminated` that needed no TerminateInstances call. */
  alreadyGone?: string[];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function describeByIds(ec2: EC2Client, ids: readonly string[], opts: AwsCallOptions): Promise<Map<string, Instance>> {
  return new Map((await findInstancesById(ec2, ids, opts)).map((i) => [i.id, i]));
}

async function sendTerminate(ec2: EC2Client, ids: string[], opts: AwsCallOptions): Promise<void> {
  try {
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }), { abortSignal: opts.abortSignal });
  } catch (err) {
    if (awsErrorCode(err) !== 'InvalidInstanceID.NotFound') throw fromAwsError(err, 'EC2', 'TerminateInstances');
    // One id vanished between describe and terminate: the call is all-or-nothing, so go one by one.
    if (ids.length === 1) return;
    for (const id of ids) await sendTerminate(ec2, [id], opts);
  }
}

/**
 * Terminates the ids that are runner-ops instances (and not managers unless `allowManagers`).
 * Throws (a RunnerOpsError) only when EC2 cannot be read or refuses the termination.
 */
export async function terminateInstances(
  ec2: EC2Client, ids: readonly string[], opts: { allowManagers?: boolean; abortSignal?: AbortSignal } = {},
): Promise<TerminateResult> {
  const unique = [...new Set(ids)];
  const result: TerminateResult = { terminated: [], refused: [], alreadyGone: [] };
  if (unique.length === 0) return result;
  const found = await describeByIds(ec2, unique, opts);
  const toTerminate: string[] = [];
  for (const id of unique) {
    const i = found.get(id);
    if (i === undefined || i.state === 'terminated' || i.state === 'shutting-down') {
      result.terminated.push(id);
      result.alreadyGone?.push(id);
    } else if (i.tags.get(TAG.managedBy) !== MANAGED_BY_VALUE) {
      result.refused.push({ id, reason: `not tagged ${TAG.managedBy}=${MANAGED_BY_VALUE}: runner-ops did not create it` });
    } else if (i.role === 'manager' && opts.allowManagers !== true) {
      result.refused.push({ id, reason: 'a manager: only rotate and destroy terminate managers' });
    } else {
      toTerminate.push(id);
    }
  }
  for (const batch of chunks(toTerminate, BATCH)) {
    await sendTerminate(ec2, batch, opts);
    result.terminated.push(...batch);
  }
  return result;
}

/** Waits until every id is terminated or unknown to EC2; a 'timeout' error at the deadline. */
export async function waitUntilTerminated(ec2: EC2Client, ids: readonly string[], opts: WaitOptions): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await pollUntil<true>(async () => {
    const found = await describeByIds(ec2, unique, { abortSignal: opts.signal });
    const left = unique.filter((id) => { const s = found.get(id)?.state; return s !== undefined && s !== 'terminated'; });
    return left.length === 0 ? true : undefined;
  }, {
    clock: opts.clock,
    signal: opts.signal,
    deadline: opts.clock.now() + opts.timeoutMs,
    initialDelayMs: opts.initialDelayMs ?? 2000,
    maxDelayMs: opts.maxDelayMs ?? 10_000,
    label: unique.length === 1 ? `instance ${unique[0]} to terminate` : `${unique.length} instances to terminate`,
  });
}

/**
 * The key pair a manager imports its SSH key as (manager-phases.ts `phase_keypair`; the same name
 * as src/fleet/executors/docker-machine.ts `keyPairName`, which the tests hold it to).
 */
export function managerKeyPairName(envName: string, managerInstanceId: string): string {
  return `runner-ops-${envName}-${managerInstanceId}`;
}

/**
 * Deletes a key pair by name. EC2's DeleteKeyPair succeeds for a name that does not exist, so the
 * key pair is looked up first to tell "deleted" (true) from "was not there" (false).
 */
export async function deleteKeyPair(ec2: EC2Client, name: string, opts: AwsCallOptions = {}): Promise<boolean> {
  try {
    const out = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name] }), { abortSignal: opts.abortSignal });
    if ((out.KeyPairs ?? []).length === 0) return false;
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidKeyPair.NotFound') return false;
    throw fromAwsError(err, 'EC2', 'DescribeKeyPairs');
  }
  try {
    await ec2.send(new DeleteKeyPairCommand({ KeyName: name }), { abortSignal: opts.abortSignal });
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidKeyPair.NotFound') return false;
    throw fromAwsError(err, 'EC2', 'DeleteKeyPair');
  }
  return true;
}

/** Key pairs runner-ops imported for the environment's managers (tagged by `phase_keypair`). */
export async function listEnvironmentKeyPairs(ec2: EC2Client, envName: string, opts: AwsCallOptions = {}): Promise<{ name: string; managerId: string | undefined }[]> {
  let out;
  try {
    out = await ec2.send(new DescribeKeyPairsCommand({
      Filters: [tagFilter(TAG.managedBy, [MANAGED_BY_VALUE]), tagFilter(TAG.environment, [envName])],
    }), { abortSignal: opts.abortSignal });
  } catch (err) {
    throw fromAwsError(err, 'EC2', 'DescribeKeyPairs');
  }
  const pairs: { name: string; managerId: string | undefined }[] = [];
  for (const k of out.KeyPairs ?? []) {
    if (k.KeyName === undefined) continue;
    const managerId = tagMap(k.Tags).get(TAG.manager);
    pairs.push({ name: k.KeyName, managerId: managerId === '' ? undefined : managerId });
  }
  return pairs;
}

/** Docker Machine workers of the environment that the given manager created and that still exist. */
export async function listManagerWorkers(ec2: EC2Client, envName: string, managerId: string, opts: AwsCallOptions = {}): Promise<Instance[]> {
  const workers = await listInstances(ec2, { environment: envName, role: 'worker', states: EXISTING_STATES }, opts);
  return workers.filter((w) => w.tags.get(TAG.manager) === managerId);
}
