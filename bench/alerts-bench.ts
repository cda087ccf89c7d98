/**
 * Spot alert latency: from the moment a message becomes receivable in the queue to the moment its
 * Slack post arrives, with local fakes (the SQS over HTTP with the real SQSClient, EC2 through
 * aws-sdk-client-mock, a loopback Slack Web API) and the real Redis.
 *
 *  1. One alert at a time (`COUNT` rebalance recommendations on distinct workers, each sent after
 *     the previous one's root arrived): the pipeline alone (long poll wake-up, DescribeInstances,
 *     the Redis record, the flusher, chat.postMessage). The per-channel pacer is off here, so the
 *     figure is not the pacer's one-second spacing.
 *  2. A burst of `BURST` alerts into one channel with the production pacer (1 message/s/channel):
 *     what people see when several instances go at once below the storm threshold.
 *  3. A storm: 50 interruption warnings at once with production timings: when the summary is
 *     posted, when an edit shows all 50, how many Slack writes it took.
 *
 * Redis keys live under the given prefix; run.ts deletes them.
 */
import { DescribeInstancesCommand, EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createAwsClientFactory } from '../src/adapters/aws/clients';
import { ChannelPacer } from '../src/adapters/slack/channel-pacer';
import { createWebClient } from '../src/adapters/slack/web-client';
import { startAlerts, type Alerts, type AlertTimings } from '../src/alerts';
import { parseFleet } from '../src/config/load';
import { BENCH_FLEET_YAML } from './fleet';
import { SqsFake } from './sqs-fake';
import { round, summarize, type Summary } from './stats';

const WARMUP = 20;
const COUNT = 300;
const BURST = 10;
const STORM = 50;

export interface AlertsBenchResult {
  single: Summary;
  burstPaced: Summary;
  storm: { interruptions: number; summaryPostedMs: number; allCountedMs: number; posts: number; edits: number };
}

interface SlackWrite { method: string; text: string; ts: string; threadTs: string | undefined; at: number }

/** A loopback Slack Web API that timestamps every write as it arrives. */
class TimingSlack {
  readonly writes: SlackWrite[] = [];
  private server: Server | undefined;
  private port = 0;
  private ts = 1_700_000_000_000_000;
  private waiters: Array<() => void> = [];
  get apiUrl(): string { return `http://127.0.0.1:${this.port}/api/`; }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const at = performance.now();
        const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
        const args = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        this.ts += 1;
        const ts = method === 'chat.update' ? args.get('ts') ?? '' : `${String(this.ts).slice(0, 10)}.${String(this.ts).slice(10)}`;
        this.writes.push({ method, text: `${args.get('text') ?? ''} ${args.get('blocks') ?? ''}`, ts, threadTs: args.get('thread_ts') ?? undefined, at });
        for (const w of this.waiters.splice(0)) w();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: true, channel: args.get('channel'), ts }));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async until(pred: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('alerts bench: timed out waiting for Slack');
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, 50); this.waiters.push(() => { clearTimeout(t); resolve(); }); });
    }
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

function eventBody(kind: 'rebalance' | 'interruption', instanceId: string, n: number): string {
  return JSON.stringify({
    version: '0', id: `bench-${kind}-${instanceId}-${n}`, source: 'aws.ec2', account: '123456789012', region: 'eu-central-1',
    time: new Date().toISOString(), resources: [],
    'detail-type': kind === 'rebalance' ? 'EC2 Instance Rebalance Recommendation' : 'EC2 Spot Instance Interruption Warning',
    detail: kind === 'rebalance' ? { 'instance-id': instanceId } : { 'instance-id': instanceId, 'instance-action': 'terminate' },
  });
}

const idOf = (n: number): string => `i-${(0xbe00000 + n).toString(16).padStart(17, '0')}`;

export async function benchAlerts(opts: { redisUrl: string; prefix: string }): Promise<AlertsBenchResult> {
  const ec2 = mockClient(EC2Client);
  ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Filter[] }) => {
    const ids = input.Filters?.find((f) => f.Name === 'instance-id')?.Values ?? [];
    return {
      Reservations: ids.length === 0 ? [] : [{
        Instances: ids.map((id, i) => ({
          InstanceId: id, InstanceType: i % 3 === 0 ? 'c7g.medium' as const : 'c8g.medium' as const, Placement: { AvailabilityZone: 'eu-central-1a' },
          Tags: [{ Key: 'ManagedBy', Value: 'runner-ops' }, { Key: 'runner-ops:environment', Value: 'prod' }, { Key: 'runner-ops:role', Value: 'worker' }, { Key: 'runner-ops:manager', Value: 'i-0000000000000aaaa' }],
        })),
      }],
    };
  });
  const sqs = await new SqsFake().start();
  const slack = await new TimingSlack().start();
  const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
  redis.on('error', () => undefined);
  const factory = createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' }, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const log = pino({ level: 'silent' });
  const client = createWebClient('xoxb-bench-token', { apiUrl: slack.apiUrl });
  let n = 0;

  const run = async (name: string, pacerMs: number, timings: Partial<AlertTimings>, threshold: number, body: (alerts: Alerts, queueUrl: string) => Promise<void>): Promise<void> => {
    const queueUrl = sqs.queueUrl(name);
    const fleet = parseFleet(`alerts:\n  queues: [${queueUrl}]\n  storm: { threshold: ${threshold}, windowSeconds: 120 }\n${BENCH_FLEET_YAML}`);
    const alerts = startAlerts({
      fleet: () => fleet, aws: factory, sqs: factory, gitlab: undefined, redis, prefix: `${opts.prefix}:${name}`, client,
      pacer: new ChannelPacer({ intervalMs: pacerMs }), log, timings,
    });
    try { await body(alerts, queueUrl); } finally { await alerts.stop(); }
  };

  try {
    // 1. One at a time, pacer off.
    const single: number[] = [];
    await run('single', 0, {}, 10_000, async (_alerts, queueUrl) => {
      for (let i = 0; i < WARMUP + COUNT; i += 1) {
        n += 1;
        const id = idOf(n);
        const t0 = performance.now();
        sqs.send(queueUrl, eventBody('rebalance', id, n));
        await slack.until(() => slack.writes.some((w) => w.method === 'chat.postMessage' && w.threadTs === undefined && w.text.includes(id)));
        const root = slack.writes.find((w) => w.method === 'chat.postMessage' && w.threadTs === undefined && w.text.includes(id));
        if (i >= WARMUP && root !== undefined) single.push(root.at - t0);
      }
    });

    // 2. A burst into one channel, production pacer.
    const burst: number[] = [];
    await run('burst', 1_000, {}, 10_000, async (_alerts, queueUrl) => {
      const sent = new Map<string, number>();
      for (let i = 0; i < BURST; i += 1) {
        n += 1;
        const id = idOf(n);
        sent.set(id, performance.now());
        sqs.send(queueUrl, eventBody('rebalance', id, n));
      }
      await slack.until(() => [...sent.keys()].every((id) => slack.writes.some((w) => w.threadTs === undefined && w.text.includes(id))));
      for (const [id, t0] of sent) {
        const root = slack.writes.find((w) => w.method === 'chat.postMessage' && w.threadTs === undefined && w.text.includes(id));
        if (root !== undefined) burst.push(root.at - t0);
      }
    });

    // 3. A storm, production timings.
    let storm: AlertsBenchResult['storm'] = { interruptions: STORM, summaryPostedMs: Number.NaN, allCountedMs: Number.NaN, posts: 0, edits: 0 };
    await run('storm', 1_000, {}, 5, async (_alerts, queueUrl) => {
      const before = slack.writes.length;
      const t0 = performance.now();
      for (let i = 0; i < STORM; i += 1) {
        n += 1;
        sqs.send(queueUrl, eventBody('interruption', idOf(n), n));
      }
      const isSummary = (w: SlackWrite) => w.text.includes('Spot interruption storm in prod');
      await slack.until(() => slack.writes.slice(before).some((w) => isSummary(w) && w.text.includes(`${STORM} instances interrupted`)));
      await new Promise((r) => setTimeout(r, 4_000)); // let straggling writes (jobs replies, edits) land
      const mine = slack.writes.slice(before);
      const summary = mine.find((w) => w.method === 'chat.postMessage' && isSummary(w));
      const all = mine.find((w) => isSummary(w) && w.text.includes(`${STORM} instances interrupted`));
      storm = {
        interruptions: STORM,
        summaryPostedMs: round((summary?.at ?? Number.NaN) - t0, 1),
        allCountedMs: round((all?.at ?? Number.NaN) - t0, 1),
        posts: mine.filter((w) => w.method === 'chat.postMessage').length,
        edits: mine.filter((w) => w.method === 'chat.update').length,
      };
    });

    return { single: summarize(single), burstPaced: summarize(burst), storm };
  } finally {
    ec2.restore();
    await sqs.stop();
    await slack.stop();
    await redis.quit().catch(() => redis.disconnect());
  }
}
