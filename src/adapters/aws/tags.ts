/**
 * The AWS tag conventions of CONTRACT §6, in one place. Every resource runner-ops creates carries
 * these tags; every lookup (the manager, workers, the verify-worker reaper) filters on them. Other
 * modules build tag lists with `tagsFor` and filters with `tagFilter`, never with literal keys.
 */

export const MANAGED_BY_KEY = 'ManagedBy';
export const MANAGED_BY_VALUE = 'runner-ops';

export const TAG = {
  managedBy: MANAGED_BY_KEY,
  environment: 'runner-ops:environment',
  role: 'runner-ops:role',
  operation: 'runner-ops:operation',
  generation: 'runner-ops:generation',
  expiresAt: 'runner-ops:expires-at',
  manager: 'runner-ops:manager',
} as const;

/** `manager` and `verify-worker` are launched by runner-ops; `worker` by Docker Machine (amazonec2-tags). */
export const INSTANCE_ROLES = ['manager', 'worker', 'verify-worker'] as const;
export type InstanceRole = (typeof INSTANCE_ROLES)[number];

export function isInstanceRole(value: string | undefined): value is InstanceRole {
  return value !== undefined && (INSTANCE_ROLES as readonly string[]).includes(value);
}

/** An EC2/SSM-style tag whose key and value are both present (assignable to the SDKs' `Tag`). */
export interface ResourceTag {
  Key: string;
  Value: string;
}

export type TagSpec =
  | { role: 'manager'; environment: string; operationId: string; generation: number }
  | { role: 'verify-worker'; environment: string; operationId: string; expiresAt: Date }
  | { role: 'worker'; environment: string; managerId: string };

/**
 * The tags a resource of the given role carries (CONTRACT §6). The order is stable, so a rendered
 * artifact that embeds them (amazonec2-tags) does not change between runs.
 */
export function tagsFor(spec: TagSpec): ResourceTag[] {
  const tags: ResourceTag[] = [
    { Key: TAG.managedBy, Value: MANAGED_BY_VALUE },
    { Key: TAG.environment, Value: spec.environment },
    { Key: TAG.role, Value: spec.role },
  ];
  switch (spec.role) {
    case 'manager':
      if (!Number.isSafeInteger(spec.generation) || spec.generation < 1) {
        throw new RangeError(`a manager generation is a positive integer, got ${spec.generation}`);
      }
      tags.push({ Key: TAG.operation, Value: spec.operationId }, { Key: TAG.generation, Value: String(spec.generation) });
      break;
    case 'verify-worker':
      tags.push({ Key: TAG.operation, Value: spec.operationId }, { Key: TAG.expiresAt, Value: spec.expiresAt.toISOString() });
      break;
    case 'worker':
      tags.push({ Key: TAG.manager, Value: spec.managerId });
      break;
  }
  return tags;
}

/** A DescribeInstances-style filter on one tag (`tag:<key>`). */
export function tagFilter(key: string, values: readonly string[]): { Name: string; Values: string[] } {
  return { Name: `tag:${key}`, Values: [...values] };
}

/** SDK tags (optional keys and values) as a map; entries without a key are dropped. */
export function tagMap(tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): ReadonlyMap<string, string> {
  const map = new Map<string, string>();
  for (const t of tags ?? []) {
    if (t.Key !== undefined) map.set(t.Key, t.Value ?? '');
  }
  return map;
}

/** The `runner-ops:generation` value as a positive integer, or undefined when absent or malformed. */
export function parseGeneration(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9]\d{0,8}$/.test(value)) return undefined;
  return Number(value);
}
