/**
 * The operations framework over real Redis and BullMQ, with real workers: per-environment
 * exclusivity, parallel environments, resume after a worker dies, retries, failure cleanup,
 * cancellation, a fleet file changed after approval, and pausing on shutdown.
 */
import { WebClient } from '@slack/web-api';
import { writeFileSync } from 'node:fs';
import pino from 'pino';
import { ChannelPacer } from '../src/adapters/slack/channel-pacer';
import { OperationThreads } from '../src/adapters/slack/operation-threads';
import { loadFleetFile } from '../src/config/load';
import { createFleetSource } from '../src/config/fleet-source';
import { RunnerOpsError } from '../src/domain/errors';
import { OperationRegistry } from '../src/operations/framework/registry';
import { createOperationProcessor, SHUTDOWN } from '../src/operations/framework/runner';
import { OperationService } from '../src/operations/service';
import { OperationQueues } from '../src/queue/operation-queues';
import { AuditLog } from '../src/store/audit-log';
import { OperationStore } from '../src/store/operation-store';
import { createRedisFactory, type RedisFactory } from '../src/store/redis';
import { SlackFake } from './fakes/slack-fake';
import { testFleetYaml, writeTestFleet } from './support/fleet';
import { deletePrefix, testRedisUrl, uniquePrefix } from './support/redis';
import { Gate, scriptedOperation, type StepRun, waitUntil } from './support/test-operations';
import type { Json, OperationDefinition } from '../src/operations/framework/types';

const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SETTINGS = { attempts: 3, backoffMs: 50, lockDurationMs: 1_000, stalledIntervalMs: 300 };

interface Replica {
  service: OperationService;
  queues: OperationQueues;
  store: OperationStore;
  redis: RedisFactory;
  close(): Promise<void>;
}

describe('operations framework', () => {
  let slack: SlackFake;
  let prefix: string;
  let fleetPath: string;
  const replicas: Replica[] = [];

  beforeAll(async () => { slack = await new SlackFake().start(); });
  beforeEach(() => {
    prefix = uniquePrefix('framework');
    fleetPath = writeTestFleet(testFleetYaml()).path;
  });
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.close().catch(() => undefined)));
    await deletePrefix(prefix);
  });
  afterAll(async () => { await slack.stop(); });

  async function replica(defs: OperationDefinition[], opts: { startWorkers?: boolean } = {}): Promise<Replica> {
    const redis = createRedisFactory(testRedisUrl());
    const producer = redis.producer('test');
    await producer.ping().catch(async () => { await new Promise((r) => setTimeout(r, 200)); });
    const fleet = createFleetSource(fleetPath, loadFleetFile(fleetPath), log);
    const store = new OperationStore(producer, prefix);
    const audit = new AuditLog(producer, prefix);
    const queues = new OperationQueues(producer, () => redis.worker('w'), prefix, SETTINGS);
    await queues.init(['prod', 'stage']);
    const registry = new OperationRegistry();
    for (const d of defs) registry.register(d);
    const client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    const threads = new OperationThreads(client, new ChannelPacer({ intervalMs: 1 }), log);
    const service = new OperationService({
      store, audit, queues, registry, fleet, threads, log,
      userGroups: { groupsOf: async () => [] },
      publishCancel: async (id) => { for (const r of replicas) r.queues.cancelLocal(id, 'cancelled'); },
    });
    if (opts.startWorkers !== false) {
      const processor = createOperationProcessor({ store, audit, registry, fleet, log, thread: (op) => threads.forOperation(op) });
      queues.startWorkers(['prod', 'stage'], processor);
    }
    const r: Replica = {
      service, queues, store, redis,
      close: async () => { await queues.close(); await redis.closeAll(); },
    };
    replicas.push(r);
    return r;
  }

  async function requestOn(r: Replica, env: 'prod' | 'stage', verb: 'bootstrap' | 'rotate' = 'bootstrap'): Promise<string> {
    const answers = await r.service.request({ userId: 'U0ALICE', channelId: 'C0CMD', command: { verb, env, dryRun: false } });
    const id = /op-[0-9a-z]{6}/.exec(answers[0]?.text ?? '')?.[0];
    if (id === undefined) throw new Error(`no id in ${answers[0]?.text}`);
    if (env === 'prod') await r.service.decide({ userId: 'U0CAROL', operationId: id, decision: 'approve' });
    return id;
  }

  const stateOf = async (r: Replica, id: string) => (await r.store.get(id))?.state;
  /** The state an operation settles in (polled: the runner records it just after the last step). */
  async function settled(r: Replica, id: string, timeoutMs = 5_000): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    let state = await stateOf(r, id);
    while (Date.now() < deadline && (state === 'queued' || state === 'running' || state === 'awaiting_approval')) {
      await new Promise((res) => setTimeout(res, 50));
      state = await stateOf(r, id);
    }
    return state;
  }

  it('runs two operations on one environment one after the other, and says the second waits', async () => {
    const runs: StepRun[] = [];
    const gate = new Gate();
    const r = await replica([scriptedOperation({ runs, behaviour: { two: async () => { await gate.opened; } } })]);
    const a = await requestOn(r, 'stage');
    await waitUntil(() => runs.some((x) => x.op === a && x.step === 'two'), 5_000, 'a at step two');
    const b = await requestOn(r, 'stage');
    await new Promise((res) => setTimeout(res, 500));
    expect(runs.filter((x) => x.op === b)).toHaveLength(0);
    expect(slack.callsOf('chat.postMessage').some((c) => new RegExp(`Waiting for \`${a}\``).test(SlackFake.textOf(c)))).toBe(true);
    gate.open();
    await waitUntil(() => runs.filter((x) => x.op === b).length === 3, 10_000, 'b done');
    const order = runs.map((x) => x.op);
    expect(order.lastIndexOf(a)).toBeLessThan(order.indexOf(b));
    expect(await settled(r, a)).toBe('succeeded');
    expect(await settled(r, b)).toBe('succeeded');
  });

  it('holds an environment exclusively across two replicas', async () => {
    const runs: StepRun[] = [];
    const gate = new Gate();
    let concurrent = 0;
    let maxConcurrent = 0;
    const def = () => scriptedOperation({ runs, steps: ['only'], behaviour: { only: async () => {
      concurrent += 1; maxConcurrent = Math.max(maxConcurrent, concurrent);
      await gate.opened; await new Promise((res) => setTimeout(res, 50));
      concurrent -= 1;
    } } });
    const r1 = await replica([def()]);
    await replica([def()]);
    const ids = [await requestOn(r1, 'stage'), await requestOn(r1, 'stage'), await requestOn(r1, 'stage')];
    await new Promise((res) => setTimeout(res, 400));
    gate.open();
    await waitUntil(() => ids.every((id) => runs.some((x) => x.op === id)), 10_000, 'all three');
    await waitUntil(() => concurrent === 0, 5_000, 'idle');
    expect(maxConcurrent).toBe(1);
  });

  it('runs operations on two environments in parallel', async () => {
    const runs: StepRun[] = [];
    const gate = new Gate();
    const r = await replica([scriptedOperation({ runs, steps: ['only'], behaviour: { only: async () => { await gate.opened; } } })]);
    const a = await requestOn(r, 'stage');
    const b = await requestOn(r, 'prod');
    await waitUntil(() => runs.some((x) => x.op === a) && runs.some((x) => x.op === b), 5_000, 'both started while gated');
    gate.open();
    await waitUntil(() => runs.length === 2, 5_000, 'both done');
  });

  it('resumes on a second worker after the first dies mid-step, without repeating finished steps', async () => {
    const runsA: StepRun[] = [];
    const runsB: StepRun[] = [];
    const hang = new Promise<never>(() => undefined);
    const a = await replica([scriptedOperation({ runs: runsA, worker: 'A', behaviour: {
      two: async (ctx) => { await ctx.save({ commandId: 'cmd-123' }); return hang; },
    } })]);
    const id = await requestOn(a, 'stage');
    await waitUntil(() => runsA.some((x) => x.step === 'two'), 5_000, 'A in step two');
    await new Promise((res) => setTimeout(res, 100));
    // A dies: its workers stop renewing their locks and its connections go away.
    await Promise.all((a.queues as unknown as { workers: Array<{ close(force: boolean): Promise<void> }> }).workers.map((w) => w.close(true)));
    await replicas[0]?.redis.closeAll();
    replicas.splice(0, 1);
    await replica([scriptedOperation({ runs: runsB, worker: 'B' })]);
    await waitUntil(() => runsB.some((x) => x.step === 'three'), 15_000, 'B finishes');
    expect(runsA.map((x) => x.step)).toEqual(['one', 'two']);
    expect(runsB.map((x) => x.step)).toEqual(['two', 'three']);
    expect(runsB[0]?.saved).toEqual({ commandId: 'cmd-123' });
    const b = replicas[0];
    if (b === undefined) throw new Error('no replica');
    expect(await settled(b, id)).toBe('succeeded');
  });

  it('retries a retryable failure from the failing step, then succeeds', async () => {
    const runs: StepRun[] = [];
    let failures = 0;
    const r = await replica([scriptedOperation({ runs, behaviour: { two: async () => {
      if (failures < 2) { failures += 1; throw new RunnerOpsError('unavailable', 'AWS did not answer'); }
      return { ok: true };
    } } })]);
    const id = await requestOn(r, 'stage');
    await waitUntil(() => runs.some((x) => x.op === id && x.step === 'three'), 10_000, 'three');
    expect(runs.map((x) => x.step)).toEqual(['one', 'two', 'two', 'two', 'three']);
    expect(await settled(r, id)).toBe('succeeded');
  });

  it('fails a non-retryable error at once: cleanup runs, the thread ends with the reason and a redacted tail', async () => {
    const runs: StepRun[] = [];
    const cleanups: Array<{ op: string; outcome: string; saved: Record<string, Json> }> = [];
    const r = await replica([scriptedOperation({ runs, cleanups, behaviour: { two: async (ctx) => {
      await ctx.save({ instanceId: 'i-0abc' });
      throw new RunnerOpsError('external', 'the bootstrap script failed', { detail: 'step 4\ntoken glrt-abcdefghijklmnopqrstuvwxyz123\nE: boom' });
    } } })]);
    const id = await requestOn(r, 'stage');
    await waitUntil(() => cleanups.length === 1, 10_000, 'cleanup');
    expect(cleanups[0]).toMatchObject({ op: id, outcome: 'failed', saved: { two: { instanceId: 'i-0abc' } } });
    expect(runs.map((x) => x.step)).toEqual(['one', 'two']);
    await slack.waitFor((f) => f.callsOf('chat.postMessage').some((c) => /the bootstrap script failed/.test(SlackFake.textOf(c)) && /E: boom/.test(SlackFake.textOf(c))), 5_000, 'final failure');
    const all = slack.calls.map((c) => SlackFake.textOf(c)).join('\n');
    expect(all).not.toContain('glrt-abcdefghijklmnopqrstuvwxyz123');
    expect(await settled(r, id)).toBe('failed');
  });

  it('cancels a running operation at its next safe point and cleans up', async () => {
    const runs: StepRun[] = [];
    const cleanups: Array<{ op: string; outcome: string; saved: Record<string, Json> }> = [];
    const r = await replica([scriptedOperation({ runs, cleanups, behaviour: {
      two: async (ctx) => {
        await new Promise<void>((resolve) => { ctx.signal.addEventListener('abort', () => resolve()); });
        await ctx.throwIfCancelled();
      },
    } })]);
    const id = await requestOn(r, 'stage');
    await waitUntil(() => runs.some((x) => x.step === 'two'), 5_000, 'step two');
    const answer = await r.service.cancel({ userId: 'U0ALICE', operationId: id });
    expect(answer.text).toMatch(/Cancelling/);
    await waitUntil(() => cleanups.length === 1, 5_000, 'cleanup');
    expect(cleanups[0]?.outcome).toBe('cancelled');
    expect(await settled(r, id)).toBe('cancelled');
    expect(runs.some((x) => x.op === id && x.step === 'three')).toBe(false);
  });

  it('cancels a waiting operation before it starts, and refuses someone who may not cancel', async () => {
    const runs: StepRun[] = [];
    const gate = new Gate();
    const r = await replica([scriptedOperation({ runs, behaviour: { one: async () => { await gate.opened; } } })]);
    const a = await requestOn(r, 'stage');
    await waitUntil(() => runs.some((x) => x.op === a), 5_000, 'a running');
    const b = await requestOn(r, 'stage');
    expect((await r.service.cancel({ userId: 'U0MALLORY', operationId: b })).text).toMatch(/Only the requester/);
    expect((await r.service.cancel({ userId: 'U0ALICE', operationId: b })).text).toMatch(/had not started/);
    gate.open();
    await waitUntil(() => runs.filter((x) => x.op === a).length === 3, 5_000, 'a done');
    await new Promise((res) => setTimeout(res, 300));
    expect(runs.some((x) => x.op === b)).toBe(false);
    expect(await settled(r, b)).toBe('cancelled');
  });

  it('does not run an approved operation whose fleet-file section changed after the request', async () => {
    const runs: StepRun[] = [];
    const r = await replica([scriptedOperation({ runs })], { startWorkers: false });
    const answers = await r.service.request({ userId: 'U0ALICE', channelId: 'C0CMD', command: { verb: 'bootstrap', env: 'prod', dryRun: false } });
    const id = /op-[0-9a-z]{6}/.exec(answers[0]?.text ?? '')?.[0] ?? '';
    writeFileSync(fleetPath, testFleetYaml().replace('instanceType: t4g.micro', 'instanceType: t4g.small'));
    await new Promise((res) => setTimeout(res, 1_100));
    // A fresh replica (new fleet source) approves and runs it.
    const runner = await replica([scriptedOperation({ runs })]);
    await runner.service.decide({ userId: 'U0CAROL', operationId: id, decision: 'approve' });
    await slack.waitFor((f) => f.callsOf('chat.postMessage').some((c) => /changed after this was requested/.test(SlackFake.textOf(c))), 5_000, 'refusal in thread');
    expect(runs).toHaveLength(0);
    expect(await settled(runner, id)).toBe('failed');
  });

  it('re-queues an approved operation whose job went missing (crash between approval and enqueue)', async () => {
    const runs: StepRun[] = [];
    let clock = Date.now();
    const r = await replica([scriptedOperation({ runs })]);
    const answers = await r.service.request({ userId: 'U0ALICE', channelId: 'C0CMD', command: { verb: 'bootstrap', env: 'prod', dryRun: false } });
    const id = /op-[0-9a-z]{6}/.exec(answers[0]?.text ?? '')?.[0] ?? '';
    // The approval is recorded, but the process dies before the job is added.
    expect((await r.store.transition(id, ['awaiting_approval'], 'queued', { deciderId: 'U0CAROL', decidedAt: clock })).ok).toBe(true);
    expect(await r.queues.hasJob('prod', id)).toBe(false);
    const sweeper = new OperationService({
      store: r.store, audit: new AuditLog(r.redis.producer('sweep'), prefix), queues: r.queues, registry: new OperationRegistry(),
      fleet: () => loadFleetFile(fleetPath), threads: new OperationThreads(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl }), new ChannelPacer({ intervalMs: 1 }), log),
      userGroups: { groupsOf: async () => [] }, publishCancel: async () => undefined, log, now: () => clock,
    });
    expect(await sweeper.sweep()).toEqual({ expired: 0, requeued: 0 });
    clock += 11_000;
    expect(await sweeper.sweep()).toEqual({ expired: 0, requeued: 1 });
    await waitUntil(() => runs.filter((x) => x.op === id).length === 3, 10_000, 'the re-queued run');
    expect(await settled(r, id)).toBe('succeeded');
  });

  it('on shutdown puts a running operation back in the queue, and another replica resumes it', async () => {
    const runsA: StepRun[] = [];
    const runsB: StepRun[] = [];
    const a = await replica([scriptedOperation({ runs: runsA, worker: 'A', behaviour: {
      two: async (ctx) => {
        await ctx.save({ phase: 'half' });
        await new Promise<void>((_resolve, reject) => { ctx.signal.addEventListener('abort', () => reject(new Error('interrupted'))); });
      },
    } })]);
    const id = await requestOn(a, 'stage');
    await waitUntil(() => runsA.some((x) => x.step === 'two'), 5_000, 'A in step two');
    a.queues.cancelAllLocal(SHUTDOWN);
    await a.queues.closeWorkers();
    await replica([scriptedOperation({ runs: runsB, worker: 'B' })]);
    await waitUntil(() => runsB.some((x) => x.step === 'three'), 10_000, 'B finishes');
    expect(runsB.map((x) => x.step)).toEqual(['two', 'three']);
    expect(runsB[0]?.saved).toEqual({ phase: 'half' });
    expect(await settled(a, id)).toBe('succeeded');
  });
});
