/**
 * The scheduled reaper over real Redis and the AWS world: one replica per interval (lock), busy
 * environments skipped, expired verify workers and orphaned Docker Machine workers terminated and
 * reported in the environment's channel, managers never terminated and reported once.
 */
import 'aws-sdk-client-mock-jest';
import { TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createAwsClientFactory } from '../../src/adapters/aws/clients';
import { parseFleet } from '../../src/config/load';
import { runReaperOnce, type ReaperDeps } from '../../src/operations/reaper-schedule';
import { AwsWorld } from '../fakes/aws-world';
import { testFleetYaml } from '../support/fleet';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../support/redis';

const NOW = new Date('2026-11-27T12:00:00.000Z');
const tags = (role: string, extra: Record<string, string> = {}) => ({ ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': role, ...extra });

describe('scheduled reaper', () => {
  const world = new AwsWorld();
  let redis: Redis;
  let prefix: string;
  let posts: { channel: string; text: string }[];
  let busy: Set<string>;
  let deps: ReaperDeps;

  beforeAll(() => { redis = new Redis(testRedisUrl()); });
  beforeEach(() => {
    world.reset();
    prefix = uniquePrefix('reaper');
    posts = [];
    busy = new Set();
    deps = {
      fleet: () => parseFleet(testFleetYaml()), aws: createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' } }),
      redis, prefix, log: pino({ level: 'silent' }), now: () => NOW,
      busy: async (env) => busy.has(env),
      post: async (channel, text) => { posts.push({ channel, text }); },
    };
  });
  afterEach(async () => { await deletePrefix(prefix); });
  afterAll(() => { world.restore(); redis.disconnect(); });

  it('terminates expired verify workers and orphaned workers, keeps the rest, and says so in the channel', async () => {
    const manager = world.addInstance({ tags: tags('manager', { 'runner-ops:generation': '1' }) });
    const expired = world.addInstance({ tags: tags('verify-worker', { 'runner-ops:expires-at': '2026-11-27T11:00:00.000Z' }) });
    const fresh = world.addInstance({ tags: tags('verify-worker', { 'runner-ops:expires-at': '2026-11-27T13:00:00.000Z' }) });
    const orphan = world.addInstance({ tags: tags('worker', { 'runner-ops:manager': 'i-0000000000dead000' }) });
    const kept = world.addInstance({ tags: tags('worker', { 'runner-ops:manager': manager.id }) });
    const reports = await runReaperOnce(deps, 10_000);
    expect(reports?.find((r) => r.envName === 'stage')?.terminated.map((t) => t.id).sort()).toEqual([expired.id, orphan.id].sort());
    expect(expired.state).toBe('shutting-down');
    expect(orphan.state).toBe('shutting-down');
    expect([manager.state, fresh.state, kept.state]).toEqual(['running', 'running', 'running']);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.channel).toBe('C0STAGE');
    expect(posts[0]?.text).toContain(expired.id);
    expect(posts[0]?.text).toContain(orphan.id);
  });

  it('one replica per interval: a second pass inside the lock does nothing', async () => {
    world.addInstance({ tags: tags('verify-worker', { 'runner-ops:expires-at': '2026-11-27T11:00:00.000Z' }) });
    const [a, b] = await Promise.all([runReaperOnce(deps, 10_000), runReaperOnce(deps, 10_000)]);
    expect([a, b].filter((r) => r === undefined)).toHaveLength(1);
    expect(world.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(1);
  });

  it('skips an environment while an operation holds it', async () => {
    const expired = world.addInstance({ tags: tags('verify-worker', { 'runner-ops:expires-at': '2026-11-27T11:00:00.000Z' }) });
    busy.add('stage');
    await runReaperOnce(deps, 10_000);
    expect(expired.state).toBe('running');
    expect(posts).toHaveLength(0);
  });

  it('never terminates a manager; an orphaned-looking one is reported once, not on every pass', async () => {
    const older = world.addInstance({ tags: tags('manager', { 'runner-ops:generation': '1' }) });
    world.addInstance({ tags: tags('manager', { 'runner-ops:generation': '2' }) });
    await runReaperOnce(deps, 1_000);
    await redis.del(`${prefix}:reaper:lock`);
    await runReaperOnce(deps, 1_000);
    expect(older.state).toBe('running');
    expect(world.ec2.commandCalls(TerminateInstancesCommand)).toHaveLength(0);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.text).toContain(older.id);
  });
});
