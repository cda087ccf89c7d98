/**
 * Which environment (and role, manager, type, zone) an event's instance belongs to, from its tags
 * (CONTRACT §6).
 *
 * - The event's `region` and `account` pick the environments to look in: those in that region
 *   whose `roleArn` is in that account, or that have no `roleArn` (the bot's own account). Their
 *   client sets (one per region and role, from the factory) are asked in that order.
 * - `DescribeInstances` is asked with an `instance-id` *filter* (not `InstanceIds`), so an id the
 *   account does not know is simply absent instead of failing the call, and lookups that arrive
 *   together (a receive of ten messages, a storm) go out as one call per client set.
 * - Answers are cached per client set and instance for a short time (found: `ttlMs`, absent:
 *   `negativeTtlMs`); the cache is bounded.
 * - An instance without `ManagedBy=runner-ops` and an environment tag, or found nowhere, is
 *   foreign. One tagged with an environment the fleet file does not know is reported as such (its
 *   alerts go to `alerts.channel`).
 */
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { AwsClientFactory } from '../adapters/aws/clients';
import { findInstancesById, type Instance } from '../adapters/aws/ec2-instances';
import { MANAGED_BY_VALUE, TAG } from '../adapters/aws/tags';
import type { EnvironmentConfig, FleetConfig } from '../config/fleet-schema';
import type { SpotEvent } from './events';

export interface AlertInstance {
  id: string;
  type: string | undefined;
  az: string | undefined;
  role: string | undefined;
  managerId: string | undefined;
  /** The `Name` tag: the Docker Machine name of a worker (amazonec2 sets it). */
  name: string | undefined;
  privateIp: string | undefined;
  spot: boolean;
}

export type Resolution =
  | { kind: 'known'; envName: string; instance: AlertInstance }
  | { kind: 'unknown-env'; envName: string; instance: AlertInstance }
  | { kind: 'foreign'; reason: string };

export interface InstanceResolverOptions {
  fleet: () => FleetConfig;
  aws: AwsClientFactory;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxCached?: number;
  now?: () => number;
}

export const ALERTS_SESSION_NAME = 'runner-ops-alerts';
const MAX_IDS_PER_CALL = 200;

/** The account id inside a role ARN. */
export function accountOfRole(roleArn: string | undefined): string | undefined {
  return roleArn?.split(':')[4];
}

interface Group { key: string; region: string; roleArn: string | undefined; ec2: EC2Client; exact: boolean }

interface Waiter { resolve: (i: Instance | undefined) => void; reject: (e: unknown) => void }

function toAlertInstance(i: Instance): AlertInstance {
  return {
    id: i.id, type: i.type, az: i.az, role: i.role, managerId: i.tags.get(TAG.manager), name: i.tags.get('Name'),
    privateIp: i.privateIp, spot: i.spot,
  };
}

export class InstanceResolver {
  private readonly cache = new Map<string, { value: Instance | undefined; expires: number }>();
  private readonly pending = new Map<string, { group: Group; ids: Map<string, Waiter[]> }>();
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxCached: number;
  private readonly now: () => number;

  constructor(private readonly opts: InstanceResolverOptions) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.negativeTtlMs = opts.negativeTtlMs ?? 30_000;
    this.maxCached = opts.maxCached ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** The client sets to ask for an event: same region, same account (or the bot's own) first. */
  private groups(event: SpotEvent): Group[] {
    const seen = new Map<string, Group>();
    for (const env of Object.values(this.opts.fleet().environments) as EnvironmentConfig[]) {
      if (env.region !== event.region) continue;
      const account = accountOfRole(env.roleArn);
      if (account !== undefined && account !== event.account) continue;
      const key = JSON.stringify([env.region, env.roleArn ?? '']);
      if (seen.has(key)) continue;
      seen.set(key, { key, region: env.region, roleArn: env.roleArn, ec2: this.opts.aws.forEnvironment(env, ALERTS_SESSION_NAME).ec2, exact: account !== undefined });
    }
    return [...seen.values()].sort((a, b) => Number(b.exact) - Number(a.exact));
  }

  async resolve(event: SpotEvent): Promise<Resolution> {
    const groups = this.groups(event);
    if (groups.length === 0) return { kind: 'foreign', reason: `no environment in ${event.region} for account ${event.account}` };
    for (const group of groups) {
      const found = await this.lookup(group, event.instanceId);
      if (found === undefined) continue;
      const envName = found.tags.get(TAG.environment);
      if (found.tags.get(TAG.managedBy) !== MANAGED_BY_VALUE || envName === undefined || envName === '') {
        return { kind: 'foreign', reason: 'the instance carries no runner-ops tags' };
      }
      const known = this.opts.fleet().environments[envName] !== undefined;
      return { kind: known ? 'known' : 'unknown-env', envName, instance: toAlertInstance(found) };
    }
    return { kind: 'foreign', reason: `instance not found in ${event.region}` };
  }

  private lookup(group: Group, id: string): Promise<Instance | undefined> {
    const cacheKey = `${group.key}|${id}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined && hit.expires > this.now()) return Promise.resolve(hit.value);
    return new Promise<Instance | undefined>((resolve, reject) => {
      let batch = this.pending.get(group.key);
      if (batch === undefined) {
        batch = { group, ids: new Map() };
        this.pending.set(group.key, batch);
        // Everything asked for in this turn of the event loop goes out together.
        setImmediate(() => { void this.flush(group.key); });
      }
      const waiters = batch.ids.get(id) ?? [];
      waiters.push({ resolve, reject });
      batch.ids.set(id, waiters);
    });
  }

  private async flush(key: string): Promise<void> {
    const batch = this.pending.get(key);
    this.pending.delete(key);
    if (batch === undefined) return;
    const ids = [...batch.ids.keys()];
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_CALL) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_CALL);
      try {
        const found = new Map((await findInstancesById(batch.group.ec2, chunk)).map((x) => [x.id, x]));
        for (const id of chunk) {
          const value = found.get(id);
          this.remember(`${key}|${id}`, value);
          for (const w of batch.ids.get(id) ?? []) w.resolve(value);
        }
      } catch (err) {
        for (const id of chunk) for (const w of batch.ids.get(id) ?? []) w.reject(err);
      }
    }
  }

  private remember(cacheKey: string, value: Instance | undefined): void {
    this.cache.delete(cacheKey);
    this.cache.set(cacheKey, { value, expires: this.now() + (value === undefined ? this.negativeTtlMs : this.ttlMs) });
    while (this.cache.size > this.maxCached) {
      const oldest = this.cache.keys().next().value;
      if (oldest === undefined) break;
      this.cache.delete(oldest);
    }
  }
}
