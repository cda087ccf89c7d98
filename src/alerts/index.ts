/**
 * Spot interruption and rebalance alerts (CONTRACT §4, §6): EventBridge -> SQS -> alert threads.
 *
 *   QueueConsumer (one per alerts.queues URL)  --handleMessage-->  AlertStore (Redis, deduped)
 *        |  kick after each receive                                       |
 *        v                                                                v
 *   AlertFlusher (every replica; per-thread lock)  --SlackWriter-->  Slack (paced per channel)
 *
 * `startAlerts` is called by the composition root only; it gets every client it uses.
 * `stop()` stops the consumers first (the long polls end, batches in hand are recorded and
 * deleted), then the flusher; the caller closes Redis after it.
 */
import type { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AwsClientFactory, SqsClientFactory } from '../adapters/aws/clients';
import type { GitlabClient } from '../adapters/gitlab/client';
import type { ChannelPacer } from '../adapters/slack/channel-pacer';
import type { FleetConfig } from '../config/fleet-schema';
import type { SpotEventSummary } from '../operations/status/types';
import { AlertStore } from './alert-store';
import { acknowledgeAlert, retryAlertJob, type ButtonDeps } from './buttons';
import { DEFAULT_ALERT_TIMINGS, type AlertContext, type AlertTimings, type SpotOutcome } from './context';
import type { SpotEventKind } from './events';
import { AlertFlusher } from './flusher';
import { handleMessage } from './intake';
import { InstanceResolver } from './instance-resolver';
import { QueueConsumer, type ConsumerErrorStage } from './queue-consumer';
import { queueLocation } from './queue-url';
import { SlackWriter } from './slack-writer';

export { DEFAULT_ALERT_TIMINGS, type AlertTimings } from './context';

export interface AlertsDeps {
  fleet: () => FleetConfig;
  aws: AwsClientFactory;
  sqs: SqsClientFactory;
  gitlab: GitlabClient | undefined;
  /** A producer connection (fails fast while Redis is away: the message then stays in SQS). */
  redis: Redis;
  prefix: string;
  client: WebClient;
  pacer: ChannelPacer;
  log: Logger;
  count?: (kind: SpotEventKind | 'unknown', outcome: SpotOutcome) => void;
  onQueueError?: (stage: ConsumerErrorStage) => void;
  onSlackError?: (method: string) => void;
  expected?: AlertContext['expected'];
  timings?: Partial<AlertTimings>;
  consumer?: { waitTimeSeconds?: number; minBackoffMs?: number; maxBackoffMs?: number };
  /** Cache of instance lookups (ms). */
  resolverTtlMs?: number;
  now?: () => number;
}

export interface Alerts {
  readonly flusher: AlertFlusher;
  readonly store: AlertStore;
  acknowledge(input: { instanceId: string; userId: string }): Promise<string>;
  retryJob(input: { projectId: number; jobId: number; userId: string }): Promise<string>;
  /** The environment's latest Spot events, newest first (for `status`). */
  recentEvents(envName: string, limit?: number): Promise<SpotEventSummary[]>;
  stop(): Promise<void>;
}

export function startAlerts(deps: AlertsDeps): Alerts {
  const log = deps.log.child({ component: 'alerts' });
  const now = deps.now ?? Date.now;
  const timings: AlertTimings = { ...DEFAULT_ALERT_TIMINGS, ...deps.timings };
  const store = new AlertStore(deps.redis, deps.prefix);
  const count = deps.count ?? (() => undefined);
  const ctx: AlertContext = {
    store, fleet: deps.fleet, gitlab: deps.gitlab, log, now, timings, count,
    slack: new SlackWriter(deps.client, deps.pacer, log, (method) => deps.onSlackError?.(method)),
    ...(deps.expected === undefined ? {} : { expected: deps.expected }),
  };
  const flusher = new AlertFlusher(ctx);
  const resolver = new InstanceResolver({ fleet: deps.fleet, aws: deps.aws, ...(deps.resolverTtlMs === undefined ? {} : { ttlMs: deps.resolverTtlMs }) });
  const intake = { store, resolver, fleet: deps.fleet, log, now, settleMs: timings.settleMs, count };

  const urls = [...new Set(deps.fleet().alerts.queues)];
  const consumers = urls.map((queueUrl) => new QueueConsumer({
    sqs: deps.sqs.sqsFor({ region: queueLocation(queueUrl).region }),
    queueUrl, log,
    handle: (m) => handleMessage(intake, m),
    afterBatch: () => flusher.kick(),
    onError: (stage) => deps.onQueueError?.(stage),
    ...deps.consumer,
  }));
  if (consumers.length > 0) {
    flusher.start();
    for (const c of consumers) c.start();
    log.info({ queues: urls.length }, 'Spot alerts started');
  }

  const buttons: ButtonDeps = { store, fleet: deps.fleet, gitlab: deps.gitlab, log, now, kick: () => flusher.kick() };
  let stopping: Promise<void> | undefined;
  return {
    flusher,
    store,
    acknowledge: (input) => acknowledgeAlert(buttons, input),
    retryJob: (input) => retryAlertJob(buttons, input),
    recentEvents: (envName, limit = 10) => store.recentEvents(envName, limit),
    stop: () => {
      stopping ??= (async () => {
        await Promise.all(consumers.map((c) => c.stop()));
        await flusher.stop();
      })();
      return stopping;
    },
  };
}
