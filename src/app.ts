/**
 * The composition root: the only place that constructs clients (Slack, AWS, GitLab, Redis) and
 * wires them. `startBot` runs one bot replica: HTTP server, Bolt listeners, queue workers, the
 * approval-expiry sweep and the Spot alert consumers; `stop` stops intake first (Slack, then the
 * alert queues), pauses running operations at their next safe point (checkpointed, back in the
 * queue for any replica), closes workers, then connections.
 */
import { Gitlab } from '@gitbeaker/rest';
import { isValidSlackRequest } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Env } from './config/env';
import type { FleetConfig } from './config/fleet-schema';
import { createFleetSource, type FleetSource } from './config/fleet-source';
import { createAwsClientFactory, type AwsClientFactory, type SqsClientFactory } from './adapters/aws/clients';
import { sdkLoggerFrom } from './adapters/aws/sdk-logger';
import { startAlerts, type AlertTimings } from './alerts';
import { GITLAB_CLIENT_OPTIONS, type GitlabClient } from './adapters/gitlab/client';
import { createSlackApp } from './adapters/slack/app';
import { ChannelPacer } from './adapters/slack/channel-pacer';
import { registerActions } from './adapters/slack/listeners/actions';
import { registerAlertActions } from './adapters/slack/listeners/alert-actions';
import { registerCommand } from './adapters/slack/listeners/command';
import { OperationThreads } from './adapters/slack/operation-threads';
import { createUserGroupResolver } from './adapters/slack/usergroups';
import { createWebClient, type SlackClientSettings, slackClientOptions } from './adapters/slack/web-client';
import { withDeadline } from './domain/deadline';
import { createHttpServer, type HealthResult } from './http/server';
import { createMetrics } from './metrics';
import { OperationRegistry } from './operations/framework/registry';
import { createOperationProcessor, SHUTDOWN } from './operations/framework/runner';
import { historyAnswer } from './operations/history';
import { startReaper } from './operations/reaper-schedule';
import { OperationService } from './operations/service';
import { statusAnswer } from './operations/status-answer';
import { createCancelBus } from './queue/cancel-bus';
import { DEFAULT_QUEUE_SETTINGS, OperationQueues, type QueueSettings } from './queue/operation-queues';
import { AuditLog } from './store/audit-log';
import { OperationStore } from './store/operation-store';
import { createRedisFactory } from './store/redis';

export interface BotOptions {
  env: Env;
  fleet: FleetConfig;
  log: Logger;
  /** Registers the changing operations this build offers. */
  register?: (registry: OperationRegistry, clients: { aws: AwsClientFactory; gitlab: GitlabClient | undefined; gitlabUrl: string }) => void;
  /** Tests: tighter timings. */
  queueSettings?: QueueSettings;
  pacerIntervalMs?: number;
  slackRetryConfig?: SlackClientSettings['retryConfig'];
  expirySweepMs?: number;
  /** How often the reaper runs (default 5 minutes; 0 turns it off, for tests that do not want it). */
  reaperIntervalMs?: number;
  aws?: AwsClientFactory;
  /** SQS clients for the Spot alert queues (default: built like the other AWS clients). */
  sqs?: SqsClientFactory;
  /** Tests: tighter Spot alert timings and consumer backoff. */
  alertTimings?: Partial<AlertTimings>;
  alertConsumer?: { waitTimeSeconds?: number; minBackoffMs?: number; maxBackoffMs?: number };
}

export interface Bot {
  port: number;
  registry: OperationRegistry;
  stop(): Promise<void>;
}

export async function startBot(opts: BotOptions): Promise<Bot> {
  const { env, log } = opts;
  const fleet: FleetSource = createFleetSource(env.RUNNER_OPS_CONFIG, opts.fleet, log);
  const envNames = Object.keys(opts.fleet.environments);
  const prefix = env.REDIS_PREFIX;

  const redis = createRedisFactory(env.REDIS_URL);
  const producer = redis.producer('producer');
  await waitForRedis(producer, log);

  const metrics = createMetrics(async () => Promise.all(envNames.map(async (e) => ({ env: e, ...(await queues.depth(e)) }))));
  const slackSettings: SlackClientSettings = { apiUrl: env.SLACK_API_URL, logger: log, ...(opts.slackRetryConfig === undefined ? {} : { retryConfig: opts.slackRetryConfig }) };
  const client = createWebClient(env.SLACK_BOT_TOKEN, slackSettings);
  const pacer = new ChannelPacer({ intervalMs: opts.pacerIntervalMs ?? 1_000 });
  const threads = new OperationThreads(client, pacer, log, (method) => metrics.slackApiErrors.inc({ method }));
  const aws = opts.aws ?? createAwsClientFactory();
  const gitlab: GitlabClient | undefined = env.GITLAB_TOKEN === undefined
    ? undefined
    : new Gitlab({ host: env.GITLAB_URL, token: env.GITLAB_TOKEN, ...GITLAB_CLIENT_OPTIONS });

  const store = new OperationStore(producer, prefix);
  const audit = new AuditLog(producer, prefix);
  const queues = new OperationQueues(producer, () => redis.worker('bullmq-worker'), prefix, opts.queueSettings ?? DEFAULT_QUEUE_SETTINGS);
  await queues.init(envNames);
  const registry = new OperationRegistry();
  opts.register?.(registry, { aws, gitlab, gitlabUrl: env.GITLAB_URL });

  const cancelBus = await createCancelBus(producer, redis.worker('cancel-subscriber'), prefix, (id) => { queues.cancelLocal(id, 'cancelled'); });
  const service = new OperationService({
    store, audit, queues, registry, fleet, threads, log,
    userGroups: createUserGroupResolver(client, producer, prefix),
    publishCancel: (id) => cancelBus.publish(id),
  });

  // Spot alerts (CONTRACT §6): consumers of alerts.queues and the flusher that posts the threads.
  const alerts = startAlerts({
    fleet, aws, gitlab, redis: producer, prefix, client, pacer, log,
    sqs: opts.sqs ?? createAwsClientFactory({ logger: sdkLoggerFrom(log) }),
    count: (type, outcome) => metrics.spotEvents.inc({ type, outcome }),
    onQueueError: (stage) => metrics.alertQueueErrors.inc({ stage }),
    onSlackError: (method) => metrics.slackApiErrors.inc({ method }),
    // A manager that a rotate or destroy is replacing is expected to stop: not a critical alert.
    expected: async (envName) => (await store.listOpen(envName)).find((op) => (op.verb === 'rotate' || op.verb === 'destroy') && op.state === 'running')?.id,
    ...(opts.alertTimings === undefined ? {} : { timings: opts.alertTimings }),
    ...(opts.alertConsumer === undefined ? {} : { consumer: opts.alertConsumer }),
  });

  const processor = createOperationProcessor({
    store, audit, registry, fleet, log,
    thread: (op) => threads.forOperation(op),
    onFinished: (verb, outcome, seconds) => {
      metrics.operations.inc({ verb, outcome });
      metrics.operationDuration.observe({ verb }, seconds);
    },
  });
  queues.startWorkers(envNames, async (job, token, signal) => {
    try {
      return await processor(job, token, signal);
    } finally {
      await threads.release(job.data.operationId).catch(() => undefined);
    }
  });

  const slack = createSlackApp({
    botToken: env.SLACK_BOT_TOKEN,
    ...(env.SLACK_SIGNING_SECRET === undefined ? {} : { signingSecret: env.SLACK_SIGNING_SECRET }),
    ...(env.SLACK_APP_TOKEN === undefined ? {} : { appToken: env.SLACK_APP_TOKEN }),
    clientOptions: slackClientOptions(slackSettings),
    log,
  });
  registerCommand(slack.app, {
    fleet, service, metrics, log,
    status: (envName) => statusAnswer({ fleet, aws, gitlab, store, log, spotEvents: (e) => alerts.recentEvents(e) }, envName),
    history: (envName) => historyAnswer(audit, envName),
  });
  registerActions(slack.app, { service, log });
  registerAlertActions(slack.app, { service, alerts, log });
  slack.app.error(async (err) => { log.error({ err: err.message }, 'bolt listener error'); });

  const http = createHttpServer({
    port: env.PORT,
    ...(slack.httpListener === undefined ? {} : { slack: slack.httpListener }),
    ...(env.SLACK_SIGNING_SECRET === undefined ? {} : { isSigned: signedBy(env.SLACK_SIGNING_SECRET) }),
    registry: metrics.registry,
    health: async (): Promise<HealthResult> => {
      try {
        await withDeadline('redis', Date.now() + 1_000, () => producer.ping());
        return { ok: true, details: { redis: 'ok', mode: env.SLACK_APP_TOKEN === undefined ? 'http' : 'socket' } };
      } catch (err) {
        return { ok: false, details: { reason: err instanceof Error && err.message.startsWith('redis') ? err.message : `redis: ${err instanceof Error ? err.message : 'not answering'}` } };
      }
    },
  });
  const port = await http.listen();
  await slack.start();

  const sweep = setInterval(() => {
    service.sweep().catch((err: unknown) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'housekeeping sweep failed'));
  }, opts.expirySweepMs ?? 30_000);
  sweep.unref();

  const reaperInterval = opts.reaperIntervalMs ?? 5 * 60_000;
  const reaper = reaperInterval > 0
    ? startReaper({
      fleet, aws, redis: producer, prefix, log,
      busy: async (envName) => (await queues.activeOperation(envName)) !== undefined,
      post: async (channel, text) => { await client.chat.postMessage({ channel, text, unfurl_links: false }); },
    }, reaperInterval)
    : undefined;

  log.info({ port, environments: envNames, mode: env.SLACK_APP_TOKEN === undefined ? 'http' : 'socket' }, 'runner-ops started');

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(sweep);
      reaper?.stop();
      await http.close();
      await slack.stop();
      // Alerts before Redis: the long polls end, batches in hand are recorded and deleted.
      await alerts.stop();
      queues.cancelAllLocal(SHUTDOWN);
      await queues.close();
      await threads.flushAll().catch(() => undefined);
      await cancelBus.close();
      await redis.closeAll();
      log.info('runner-ops stopped');
    })();
    return stopping;
  };
  return { port, registry, stop };
}

/** Bolt's own signature check, for the bodies our HTTP server answers itself. */
function signedBy(signingSecret: string) {
  return (req: import('node:http').IncomingMessage, body: Buffer): boolean => {
    const signature = req.headers['x-slack-signature'];
    const timestamp = Number(req.headers['x-slack-request-timestamp']);
    if (typeof signature !== 'string' || !Number.isFinite(timestamp)) return false;
    return isValidSlackRequest({ signingSecret, body: body.toString('utf8'), headers: { 'x-slack-signature': signature, 'x-slack-request-timestamp': timestamp } });
  };
}

async function waitForRedis(redis: import('ioredis').Redis, log: Logger, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await withDeadline('redis', Date.now() + 2_000, () => redis.ping());
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Redis does not answer at REDIS_URL (${err instanceof Error ? err.message : String(err)})`);
      log.warn('waiting for Redis');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
