/**
 * One bot replica started in-process against real Redis (own prefix), real HTTP into Bolt, and the
 * Slack fake. Tests register their own operations; the product registers none of these.
 */
import pino from 'pino';
import { startBot, type Bot, type BotOptions } from '../../src/app';
import { parseEnv, loadFleetFile } from '../../src/config/load';
import type { OperationRegistry } from '../../src/operations/framework/registry';
import { SlackFake } from '../fakes/slack-fake';
import { actionBody, commandBody, postSigned, type HttpAnswer } from './slack-requests';
import { testRedisUrl, uniquePrefix } from './redis';
import { writeTestFleet } from './fleet';

export const SIGNING_SECRET = 'test-signing-secret';

export interface Harness {
  bot: Bot;
  slack: SlackFake;
  prefix: string;
  fleetPath: string;
  url: string;
  command(text: string, userId: string, opts?: { channelId?: string; responseId?: string; timestamp?: number; signature?: string }): Promise<HttpAnswer>;
  click(actionId: string, operationId: string, userId: string, opts?: { messageTs?: string; channelId?: string; responseId?: string }): Promise<HttpAnswer>;
  /** The thread root message posted for an operation id (from the fake's record). */
  rootOf(operationId: string): { channel: string; ts: string } | undefined;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  name: string;
  fleetYaml?: string;
  register?: (registry: OperationRegistry) => void;
  prefix?: string;
  slack?: SlackFake;
  botOptions?: Partial<BotOptions>;
  env?: Record<string, string>;
}

export async function startHarness(opts: HarnessOptions): Promise<Harness> {
  const slack = opts.slack ?? await new SlackFake().start();
  const prefix = opts.prefix ?? uniquePrefix(opts.name);
  const fleetFile = writeTestFleet(opts.fleetYaml);
  const env = parseEnv({
    SLACK_BOT_TOKEN: 'xoxb-test-token',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    RUNNER_OPS_CONFIG: fleetFile.path,
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  const bot = await startBot({
    env,
    fleet: loadFleetFile(fleetFile.path),
    log: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    register: (registry) => opts.register?.(registry),
    queueSettings: { attempts: 3, backoffMs: 50, lockDurationMs: 1_500, stalledIntervalMs: 500 },
    pacerIntervalMs: 5,
    slackRetryConfig: { retries: 5, factor: 1, minTimeout: 10, maxTimeout: 50 },
    expirySweepMs: 200,
    reaperIntervalMs: 0,
    ...opts.botOptions,
  });
  const url = `http://127.0.0.1:${bot.port}/slack/events`;
  let n = 0;
  return {
    bot, slack, prefix, fleetPath: fleetFile.path, url,
    command: (text, userId, o = {}) => {
      const body = commandBody({ text, userId, channelId: o.channelId ?? 'C0CMD', responseUrl: slack.responseUrl(o.responseId ?? `cmd-${n += 1}`) });
      return postSigned(url, body, { secret: SIGNING_SECRET, ...(o.timestamp === undefined ? {} : { timestamp: o.timestamp }), ...(o.signature === undefined ? {} : { signature: o.signature }) });
    },
    click: (actionId, operationId, userId, o = {}) => {
      const root = findRoot(slack, operationId);
      const body = actionBody({
        actionId, value: operationId, userId,
        channelId: o.channelId ?? root?.channel ?? 'C0PROD',
        messageTs: o.messageTs ?? root?.ts ?? '0.0',
        responseUrl: slack.responseUrl(o.responseId ?? `click-${n += 1}`),
      });
      return postSigned(url, body, { secret: SIGNING_SECRET });
    },
    rootOf: (operationId) => findRoot(slack, operationId),
    stop: async () => {
      await bot.stop();
      if (opts.slack === undefined) await slack.stop();
    },
  };
}

/** The root is the first chat.postMessage without thread_ts that names the operation id. */
export function findRoot(slack: SlackFake, operationId: string): { channel: string; ts: string } | undefined {
  const calls = slack.callsOf('chat.postMessage');
  for (const [i, c] of calls.entries()) {
    if (c.args.thread_ts === undefined && JSON.stringify(c.args).includes(operationId)) {
      // The fake numbers ts in call order; recompute it from the recorded answer is not possible,
      // so the fake's ts sequence is mirrored here through the recorded index.
      return { channel: String(c.args.channel), ts: slack.tsOfCall(c) ?? String(i) };
    }
  }
  return undefined;
}

/** The operation id named in an ephemeral answer. */
export function operationIdIn(text: string): string | undefined {
  return /\bop-[0-9a-z]{6}\b/.exec(text)?.[0];
}
