/**
 * Chaos: Redis goes away under a running bot (issue 9, item 2). The bot runs in-process on a
 * private `redis-server` this file starts itself (never the shared test Redis): stopped and
 * restarted (append-only, so what was written before survives), then frozen with SIGSTOP (the
 * connection stays open and nothing answers, as in a network partition).
 *
 * What must hold: /healthz says 503 with the reason while Redis is away and 200 once it is back;
 * every command and click during the outage is acked within Slack's three seconds and answered
 * ephemerally with a clear reason; nothing is written half-way, queued or run for it; a request
 * made before the outage is neither lost nor decided by a click that could not be recorded; after
 * recovery the bot takes and runs new requests.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { SlackFake } from './fakes/slack-fake';
import { operationIdIn, startHarness, type Harness } from './support/bot-harness';
import { startPrivateRedis, type PrivateRedis } from './support/redis-server';
import { scriptedOperation, type StepRun, waitUntil } from './support/test-operations';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

/** Slack's deadline for the ack; a bound of the contract, not a performance figure. */
const SLACK_ACK_MS = 3_000;
const REDIS_DOWN = /Redis is not answering\. Nothing was queued or changed/;

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let h: Harness;
  let inspect: Redis;
  const runs: StepRun[] = [];
  let pendingId = '';
  let n = 0;

  beforeAll(async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    redis = await startPrivateRedis({ appendonly: true });
    h = await startHarness({
      name: 'redis-outage',
      env: { REDIS_URL: redis.url },
      register: (r) => r.register(scriptedOperation({ runs })),
    });
    // Only for inspecting what the bot wrote; it waits for Redis rather than failing.
    inspect = new Redis(redis.url, { lazyConnect: true, retryStrategy: () => 100 });
    inspect.on('error', () => undefined);
  }, 30_000);

  afterAll(async () => {
    redis.resume();
    await h.stop();
    inspect.disconnect();
    await redis.stop();
    ec2.restore();
    ssm.restore();
  });

  async function healthz(): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  }

  async function healthzBecomes(status: number, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await healthz();
      if (res.status === status) return res.body;
      if (Date.now() > deadline) throw new Error(`/healthz stayed ${res.status} (${JSON.stringify(res.body)}), expected ${status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Sends a command; asserts the ack came in time without a 5xx; returns the ephemeral answer. */
  async function ask(text: string, userId = 'U0ALICE', waitMs = 8_000): Promise<string> {
    const responseId = `ask-${n += 1}`;
    const started = Date.now();
    const res = await h.command(text, userId, { responseId });
    expect(Date.now() - started).toBeLessThan(SLACK_ACK_MS);
    expect(res.status).toBe(200);
    if (res.json !== undefined) return String((res.json as { text?: unknown }).text);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), waitMs, `an answer to "${text}"`);
    const answer = h.slack.responses.find((r) => r.id === responseId);
    expect(answer?.body.response_type).toBe('ephemeral');
    return SlackFake.textOf(answer ?? { id: '', body: {}, at: 0 });
  }

  async function click(actionId: string, id: string, userId: string, waitMs = 8_000): Promise<string> {
    const responseId = `click-${n += 1}`;
    const started = Date.now();
    const res = await h.click(actionId, id, userId, { responseId });
    expect(Date.now() - started).toBeLessThan(SLACK_ACK_MS);
    expect(res.status).toBe(200);
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), waitMs, `an answer to the ${actionId} click`);
    const answer = h.slack.responses.find((r) => r.id === responseId);
    expect(answer?.body.response_type).toBe('ephemeral');
    return String(answer?.body.text);
  }

  /** What the bot has written that could make something run: open operations and queued jobs. */
  async function written(): Promise<{ open: string[]; ops: string[]; jobs: string[]; requested: number }> {
    const open = await inspect.zrange(`${h.prefix}:ops:open`, '0', '-1');
    const ops = (await inspect.keys(`${h.prefix}:op:*`)).sort();
    const jobs = (await inspect.keys(`${h.prefix}:ops-*:op-*`)).sort();
    const audit = await inspect.xrange(`${h.prefix}:audit`, '-', '+');
    const requested = audit.filter(([, fields]) => fields.includes('requested') || fields.includes('dry_run')).length;
    return { open, ops, jobs, requested };
  }

  const rootPosts = () => h.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length;

  it('answers /healthz 200 while Redis answers, and takes a request that waits for approval', async () => {
    const health = await healthzBecomes(200);
    expect(health).toMatchObject({ status: 'ok', redis: 'ok' });
    pendingId = operationIdIn(await ask('bootstrap prod')) ?? '';
    expect(pendingId).toMatch(/^op-/);
    expect(h.rootOf(pendingId)).toBeDefined();
  });

  describe('while Redis is stopped', () => {
    let before: Awaited<ReturnType<typeof written>>;
    let roots = 0;

    beforeAll(async () => {
      before = await written();
      roots = rootPosts();
      await redis.stop();
    });

    it('answers /healthz 503 with the reason', async () => {
      const health = await healthzBecomes(503, 5_000);
      expect(health.status).toBe('unavailable');
      expect(String(health.reason)).toMatch(/redis/i);
    });

    it('answers `status` ephemerally in time, naming Redis as the source that failed', async () => {
      const text = await ask('status stage');
      expect(text).toMatch(/Open operations/);
      expect(text).toMatch(/Redis is not answering/);
    });

    it.each([
      ['a changing command', 'bootstrap stage'],
      ['a changing command that needs approval', 'bootstrap prod'],
      ['a dry run', 'bootstrap stage --dry-run'],
      ['history', 'history'],
      ['cancel', 'cancel op-zz9zz9'],
    ])('answers %s with "Redis is not answering, nothing was queued"', async (_what, text) => {
      expect(await ask(text)).toMatch(REDIS_DOWN);
    });

    it('answers an approve click with the same reason, deciding nothing', async () => {
      expect(await click('runner_approve', pendingId, 'U0CAROL')).toMatch(REDIS_DOWN);
    });

    it('after the restart: /healthz 200; nothing from the outage was written, queued, posted or run; the earlier request still waits', async () => {
      await redis.restart();
      const health = await healthzBecomes(200);
      expect(health).toMatchObject({ status: 'ok', redis: 'ok' });
      expect(await written()).toEqual(before);
      expect(before.open).toEqual([pendingId]);
      expect(rootPosts()).toBe(roots);
      expect(runs).toHaveLength(0);
      expect(h.slack.callsOf('chat.update').filter((c) => c.args.ts === h.rootOf(pendingId)?.ts)).toHaveLength(0);
    });

    it('after the restart: the request from before the outage is approved and runs, and a new request runs', async () => {
      await h.click('runner_approve', pendingId, 'U0CAROL');
      await waitUntil(() => runs.filter((r) => r.op === pendingId).length === 3, 10_000, 'the approved request to run');
      const id = operationIdIn(await ask('bootstrap stage')) ?? '';
      expect(id).toMatch(/^op-/);
      await waitUntil(() => runs.filter((r) => r.op === id).length === 3, 10_000, 'the new request to run');
      expect(new Set(runs.map((r) => r.op))).toEqual(new Set([pendingId, id]));
    });
  });

  describe('while Redis is frozen (connections open, no answers)', () => {
    let before: Awaited<ReturnType<typeof written>>;
    let roots = 0;
    let ran = 0;

    beforeAll(async () => {
      await waitUntil(() => runs.length === 6, 10_000, 'the runs before');
      // Let the workers' last writes land before Redis freezes.
      await new Promise((r) => setTimeout(r, 300));
      before = await written();
      roots = rootPosts();
      ran = runs.length;
      redis.pause();
    });
    afterAll(() => { redis.resume(); });

    it('answers /healthz 503 with the reason', async () => {
      const health = await healthzBecomes(503, 5_000);
      expect(String(health.reason)).toMatch(/redis/i);
    });

    it('answers a changing command (acked in time, then "Redis is not answering") instead of hanging', async () => {
      expect(await ask('bootstrap stage')).toMatch(REDIS_DOWN);
    });

    it('once Redis runs again: /healthz 200, no operation opened, queued, posted or run for the refused command; new requests run', async () => {
      redis.resume();
      await healthzBecomes(200);
      // The command in flight when the request gave up lands now: at most an inert id-only key.
      await new Promise((r) => setTimeout(r, 300));
      const after = await written();
      expect(after.open).toEqual(before.open);
      expect(after.jobs).toEqual(before.jobs);
      expect(after.requested).toBe(before.requested);
      for (const key of after.ops.filter((k) => !before.ops.includes(k))) {
        expect(await inspect.hkeys(key)).toEqual(['id']);
      }
      expect(rootPosts()).toBe(roots);
      expect(runs).toHaveLength(ran);
      const id = operationIdIn(await ask('bootstrap stage')) ?? '';
      await waitUntil(() => runs.filter((r) => r.op === id).length === 3, 10_000, 'the new request to run');
    });
  });
  describe('when Redis freezes in the middle of a request, after its record was written', () => {
    it('tells the requester that the operation may still go ahead, and it does once Redis is back', async () => {
      // Freeze Redis the moment the thread root is posted: the record exists, the rest of the
      // request (root ts, audit entry, job) cannot be written.
      let armed = true;
      let ts = 0;
      h.slack.on('chat.postMessage', (args) => {
        if (armed && args.thread_ts === undefined) {
          armed = false;
          redis.pause();
        }
        return { ok: true, channel: args.channel, ts: `1800000000.${String(ts += 1).padStart(6, '0')}` };
      });
      let text: string;
      try {
        text = await ask('bootstrap stage');
      } finally {
        h.slack.off('chat.postMessage');
        redis.resume();
      }
      expect(armed).toBe(false);
      const id = operationIdIn(text) ?? '';
      expect(text).toMatch(/Redis stopped answering/);
      expect(text).toMatch(/may still go ahead/);
      expect(text).not.toMatch(/[Nn]othing was queued/);
      expect(text).toContain(`/runner cancel ${id}`);

      await healthzBecomes(200);
      // As the answer says: the operation is recorded and open.
      expect(await inspect.hget(`${h.prefix}:op:${id}`, 'state')).toBe('queued');
      expect(await inspect.zrange(`${h.prefix}:ops:open`, '0', '-1')).toContain(id);
      // The housekeeping sweep re-queues a recorded operation whose job is missing once it is 10 s
      // old; make it look old rather than wait.
      await inspect.hset(`${h.prefix}:op:${id}`, 'createdAt', String(Date.now() - 60_000));
      await waitUntil(() => runs.filter((r) => r.op === id).length === 3, 10_000, 'the recorded operation to run');
    });
  });
});
