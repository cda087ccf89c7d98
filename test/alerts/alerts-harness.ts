/**
 * Spot alerts wired as the bot wires them (startAlerts), against local fakes: the SQS over HTTP
 * (real SQSClient), EC2 through aws-sdk-client-mock (SpotWorld), Slack over HTTP (SlackFake), real
 * Redis under a unique prefix. Several replicas can share the queue and the Redis prefix; each
 * has its own Slack client and pacer, as separate processes would.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { createAwsClientFactory } from '../../src/adapters/aws/clients';
import { ChannelPacer } from '../../src/adapters/slack/channel-pacer';
import { createWebClient } from '../../src/adapters/slack/web-client';
import { startAlerts, type Alerts, type AlertsDeps } from '../../src/alerts';
import type { FleetConfig } from '../../src/config/fleet-schema';
import { parseFleet } from '../../src/config/load';
import { SlackFake, type SlackCall } from '../fakes/slack-fake';
import { SqsFake } from '../fakes/sqs-fake';
import { SpotWorld } from '../fakes/spot-world';
import { testFleetYaml } from '../support/fleet';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../support/redis';
import { waitUntil } from '../support/test-operations';

export const FAST_TIMINGS = { settleMs: 150, stormEditMs: 120, pollMs: 50, lockMs: 5_000, retryMs: 200, jobsTimeoutMs: 3_000, concurrency: 8 };

export function alertsFleetYaml(queueUrl: string, storm: { threshold?: number; windowSeconds?: number } = {}): string {
  return `alerts:
  queues: [${queueUrl}]
  channel: C0ALERTS
  storm: { threshold: ${storm.threshold ?? 5}, windowSeconds: ${storm.windowSeconds ?? 120} }
${testFleetYaml()}`;
}

export interface AlertsWorld {
  sqs: SqsFake;
  slack: SlackFake;
  ec2: SpotWorld;
  redis: Redis;
  prefix: string;
  queueUrl: string;
  fleet: FleetConfig;
  replicas: Alerts[];
  /** `${type}/${outcome}` -> count, over every replica. */
  counts: Map<string, number>;
  start(extra?: Partial<AlertsDeps>): Alerts;
  send(body: string): void;
  /** The queue is empty, nothing is due, every flusher and Slack lane is idle. */
  drained(timeoutMs?: number): Promise<void>;
  roots(): SlackCall[];
  repliesTo(ts: string): SlackCall[];
  updatesOf(ts: string): SlackCall[];
  stop(): Promise<void>;
}

export async function startAlertsWorld(name: string, ec2: SpotWorld, opts: { storm?: { threshold?: number; windowSeconds?: number }; visibilityMs?: number } = {}): Promise<AlertsWorld> {
  const sqs = await new SqsFake(opts.visibilityMs ?? 30_000).start();
  const slack = await new SlackFake().start();
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  const prefix = uniquePrefix(name);
  const queueUrl = sqs.queueUrl();
  const fleet = parseFleet(alertsFleetYaml(queueUrl, opts.storm));
  const factory = createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' }, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
  const counts = new Map<string, number>();
  const replicas: Alerts[] = [];
  const pacers: ChannelPacer[] = [];
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

  const world: AlertsWorld = {
    sqs, slack, ec2, redis, prefix, queueUrl, fleet, replicas, counts,
    start(extra = {}) {
      const pacer = new ChannelPacer({ intervalMs: 2 });
      pacers.push(pacer);
      const alerts = startAlerts({
        fleet: () => fleet, aws: factory, sqs: factory, gitlab: undefined, redis, prefix, pacer, log,
        client: createWebClient('xoxb-test-token', { apiUrl: slack.apiUrl, retryConfig: { retries: 3, factor: 1, minTimeout: 10, maxTimeout: 30 } }),
        count: (type, outcome) => counts.set(`${type}/${outcome}`, (counts.get(`${type}/${outcome}`) ?? 0) + 1),
        timings: FAST_TIMINGS,
        consumer: { minBackoffMs: 10, maxBackoffMs: 80 },
        ...extra,
      });
      replicas.push(alerts);
      return alerts;
    },
    send(body) { sqs.send(queueUrl, body); },
    async drained(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const due = await redis.zcard(`${prefix}:alerts:due`);
        if (sqs.remaining(queueUrl).length === 0 && due === 0) {
          await Promise.all(replicas.map((r) => r.flusher.idle()));
          await Promise.all(pacers.map((p) => p.idle()));
          if ((await redis.zcard(`${prefix}:alerts:due`)) === 0) return;
        }
        if (Date.now() > deadline) throw new Error(`alerts not drained: ${sqs.remaining(queueUrl).length} messages left, ${due} due`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    roots: () => slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined),
    repliesTo: (ts) => slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === ts),
    updatesOf: (ts) => slack.callsOf('chat.update').filter((c) => c.args.ts === ts),
    async stop() {
      await Promise.all(replicas.map((r) => r.stop()));
      await sqs.stop();
      await slack.stop();
      await deletePrefix(prefix);
      redis.disconnect();
    },
  };
  return world;
}

export { waitUntil };

/** The ts the fake answered for a root whose text names `needle`. */
export function rootTs(world: AlertsWorld, needle: string): string | undefined {
  const call = world.roots().find((c) => SlackFake.textOf(c).includes(needle));
  return call === undefined ? undefined : world.slack.tsOfCall(call);
}

export const count = (world: AlertsWorld, key: string): number => world.counts.get(key) ?? 0;
