/**
 * The request and decision paths when Redis stops answering half-way (after the operation's record
 * or the decision was written): the answer must not say "nothing was queued", because the recorded
 * operation or decision stands once Redis is back. Before anything is written, the error reaches
 * the listener, which answers "Redis is not answering, nothing was queued"
 * (test/redis-outage.test.ts covers both through a real Redis).
 */
import pino from 'pino';
import { environmentFingerprint, parseFleet } from '../config/load';
import type { OperationRecord } from '../domain/operation';
import { testFleetYaml } from '../../test/support/fleet';
import { scriptedOperation } from '../../test/support/test-operations';
import { isRedisUnavailable } from '../store/redis';
import { OperationRegistry } from './framework/registry';
import { OperationService, type ServiceDeps } from './service';

const fleet = parseFleet(testFleetYaml());
const redisGone = (): Error => new Error('Connection is closed.');

function service(store: Record<string, unknown>): OperationService {
  const deps = {
    store,
    audit: { record: async () => undefined },
    queues: { activeOperation: async () => undefined, enqueue: async () => undefined },
    registry: new OperationRegistry().register(scriptedOperation({ runs: [] })),
    fleet: () => fleet,
    threads: { postRoot: async () => '1700000000.000001', forOperation: () => ({ setRoot: () => undefined, reply: async () => undefined }), release: async () => undefined },
    userGroups: { groupsOf: async () => [] },
    publishCancel: async () => undefined,
    log: pino({ level: 'silent' }),
    newId: () => 'op-k3x9qa',
  };
  return new OperationService(deps as unknown as ServiceDeps);
}

const request = (s: OperationService) => s.request({ userId: 'U0ALICE', channelId: 'C0CMD', command: { verb: 'bootstrap', env: 'stage', dryRun: false } });

describe('a request when Redis goes away', () => {
  it('before the record: the Redis error reaches the listener (which answers "nothing was queued")', async () => {
    const err = await request(service({ create: async () => { throw redisGone(); } })).catch((e: unknown) => e);
    expect(isRedisUnavailable(err)).toBe(true);
  });

  it('after the record: says that the operation may still go ahead, and how to stop it', async () => {
    const [answer] = await request(service({ create: async () => undefined, update: async () => { throw redisGone(); } }));
    expect(answer?.text).toMatch(/Redis stopped answering while `op-k3x9qa`/);
    expect(answer?.text).toMatch(/may still go ahead/);
    expect(answer?.text).toContain('/runner cancel op-k3x9qa');
    expect(answer?.text).not.toMatch(/nothing was queued/i);
  });

  it('after the record, an error that is not Redis being away still propagates', async () => {
    await expect(request(service({ create: async () => undefined, update: async () => { throw new Error('boom'); } }))).rejects.toThrow('boom');
  });
});

describe('a decision when Redis goes away after it was recorded', () => {
  const prod = fleet.environments.prod;
  if (prod === undefined) throw new Error('the test fleet has no prod');
  const pending: OperationRecord = {
    id: 'op-k3x9qa', verb: 'bootstrap', env: 'prod', args: {}, requesterId: 'U0ALICE', channel: 'C0PROD', rootTs: '1700000000.000001',
    state: 'awaiting_approval', fingerprint: environmentFingerprint(prod), approvalRequired: true, createdAt: Date.now(), expiresAt: Date.now() + 60_000,
  };
  const store = {
    get: async () => pending,
    transition: async () => ({ ok: true, previous: 'awaiting_approval' }),
    require: async () => { throw redisGone(); },
  };

  it.each([
    ['approve', /Your approval of `op-k3x9qa` was recorded, then Redis stopped answering\. It goes ahead once Redis is back/],
    ['reject', /Your rejection of `op-k3x9qa` was recorded, then Redis stopped answering\. Nothing will run/],
  ] as const)('%s: says that the decision stands', async (decision, text) => {
    const answer = await service(store).decide({ userId: 'U0CAROL', operationId: 'op-k3x9qa', decision, messageTs: '1700000000.000001' });
    expect(answer?.text).toMatch(text);
  });
});
