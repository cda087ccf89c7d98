/**
 * Which of an environment's approver groups a user belongs to, through `usergroups.users.list`
 * (scope usergroups:read). Members are cached in Redis for a few minutes, shared by all replicas,
 * so a burst of clicks costs one Web API call per group.
 */
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RunnerOpsError } from '../../domain/errors';

export interface UserGroupResolver {
  /** The subset of `groupIds` that `userId` is a member of. */
  groupsOf(userId: string, groupIds: readonly string[]): Promise<string[]>;
}

const membersSchema = z.array(z.string());

export function createUserGroupResolver(client: WebClient, redis: Redis, prefix: string, ttlSeconds = 300): UserGroupResolver {
  const members = async (groupId: string): Promise<string[]> => {
    const key = `${prefix}:usergroup:${groupId}`;
    const cached = await redis.get(key);
    if (cached !== null) {
      const parsed = membersSchema.safeParse(JSON.parse(cached));
      if (parsed.success) return parsed.data;
    }
    let users: string[];
    try {
      const res = await client.usergroups.users.list({ usergroup: groupId });
      users = membersSchema.parse(res.users ?? []);
    } catch (err) {
      throw new RunnerOpsError('unavailable', `could not read the members of user group ${groupId} from Slack`, { cause: err });
    }
    await redis.set(key, JSON.stringify(users), 'EX', ttlSeconds);
    return users;
  };
  return {
    async groupsOf(userId, groupIds) {
      const lists = await Promise.all(groupIds.map(async (g) => [g, await members(g)] as const));
      return lists.filter(([, users]) => users.includes(userId)).map(([g]) => g);
    },
  };
}
