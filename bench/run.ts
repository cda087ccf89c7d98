/**
 * `npm run bench`: latency and footprint figures for runner-ops, measured on this machine. Not a
 * test: nothing here asserts on timings; it prints a table and writes bench/results.json.
 *
 *  1. Slash-command ack latency (send → HTTP answer) of a bare Bolt app (HTTPReceiver, a
 *     `/runner` listener that only acks) and of the real bot (`startBot`, HTTP mode) for
 *     `/runner help` (answered in the ack) and `/runner history prod` (acks, then reads Redis and
 *     answers through response_url). Load comes from a worker thread over keep-alive loopback
 *     connections.
 *  2. Enqueue → job start latency on the bot's queue path (see queue-bench.ts).
 *  3. startBot start-up time and the bench process's resident memory.
 *
 * Everything is on loopback; Redis keys live under `runner-ops-bench:<pid>-<rand>:` and only
 * those are deleted at the end.
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startBot, type Bot } from '../src/app';
import { loadFleetFile, parseEnv } from '../src/config/load';
import { BenchSlackFake } from './fake-slack';
import { writeBenchFleet } from './fleet';
import { runLoad } from './load';
import type { LoadResult, LoadSpec } from './load-worker';
import { benchQueue } from './queue-bench';
import { round, summarize, type Summary } from './stats';

const SIGNING_SECRET = 'bench-signing-secret';
const BOT_TOKEN = 'xoxb-bench-token';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WARMUP = 200;
const COUNT = 2_000;
const CONCURRENCY = 50;
const QUEUE_WARMUP = 20;
const QUEUE_COUNT = 300;

const rssMiB = (): number => round(process.memoryUsage().rss / 2 ** 20, 1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface AckResult extends Summary { errors: number; statuses: Record<string, number>; wallMs: number; reqPerSec: number; stoppedByDeadline: boolean }

function ackResult(r: LoadResult): AckResult {
  return {
    ...summarize(r.latencies), errors: r.errors, statuses: r.statuses, wallMs: round(r.wallMs, 1),
    reqPerSec: round(r.latencies.length / (r.wallMs / 1000), 0), stoppedByDeadline: r.stoppedByDeadline,
  };
}

function spec(url: string, text: string, responseUrlBase: string): LoadSpec {
  return {
    url, secret: SIGNING_SECRET, text, userId: 'U0ALICE', responseUrlBase,
    warmup: WARMUP, count: COUNT, concurrency: CONCURRENCY, timeoutMs: 10_000, deadlineMs: 120_000,
  };
}

async function startBareBolt(apiUrl: string): Promise<{ url: string; stop(): Promise<void> }> {
  const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.ERROR });
  const app = new App({ token: BOT_TOKEN, receiver, logLevel: LogLevel.ERROR, clientOptions: { slackApiUrl: apiUrl } });
  app.command('/runner', async ({ ack }) => { await ack(); });
  const server = await receiver.start({ port: 0, host: '127.0.0.1' });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    stop: async () => { server.closeAllConnections(); await receiver.stop(); },
  };
}

async function deleteKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      const ours = keys.filter((k) => k.startsWith(prefix));
      if (ours.length > 0) deleted += await redis.del(...ours);
    } while (cursor !== '0');
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}

async function waitForCount(read: () => number, target: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (read() < target && Date.now() < deadline) await sleep(20);
  return read();
}

function ms(x: number): string { return x.toFixed(2).padStart(9); }
function ratio(a: number, b: number): string { return (a / b).toFixed(2); }

async function main(): Promise<void> {
  const rssAtLaunch = rssMiB();
  const runId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const base = `runner-ops-bench:${runId}`;
  const keyPrefix = `${base}:`;
  const fake = await new BenchSlackFake().start();
  const fleetFile = writeBenchFleet();
  let bot: Bot | undefined;
  let bare: { url: string; stop(): Promise<void> } | undefined;
  let deleted = 0;

  try {
    const fleet = loadFleetFile(fleetFile.path);
    const log = pino({ level: 'silent' });
    const env = parseEnv({
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: fake.apiUrl,
      PORT: '0',
      REDIS_URL,
      REDIS_PREFIX: `${base}:bot`,
      RUNNER_OPS_CONFIG: fleetFile.path,
      LOG_LEVEL: 'silent',
    });

    bare = await startBareBolt(fake.apiUrl);
    const t0 = performance.now();
    bot = await startBot({ env, fleet, log });
    const startBotMs = round(performance.now() - t0, 1);
    const botUrl = `http://127.0.0.1:${bot.port}/slack/events`;
    await sleep(1_000);
    const rssIdle = rssMiB();

    process.stderr.write('bench: ack latency, bare Bolt /runner (ack only)…\n');
    const bareHelp = ackResult(await runLoad(spec(bare.url, 'help', fake.responseUrl('bare-'))));
    process.stderr.write('bench: ack latency, bot /runner help…\n');
    const botHelp = ackResult(await runLoad(spec(botUrl, 'help', fake.responseUrl('help-'))));
    process.stderr.write('bench: ack latency, bot /runner history prod…\n');
    const before = fake.counts.get('response_url') ?? 0;
    const botHistory = ackResult(await runLoad(spec(botUrl, 'history prod', fake.responseUrl('hist-'))));
    const expected = before + WARMUP + COUNT;
    const responses = (await waitForCount(() => fake.counts.get('response_url') ?? 0, expected, 15_000)) - before;

    process.stderr.write('bench: enqueue → job start…\n');
    const qRaw = await benchQueue({ redisUrl: REDIS_URL, prefix: `${base}:qraw`, fleet, log, mode: 'raw', warmup: QUEUE_WARMUP, count: QUEUE_COUNT });
    const qRunner = await benchQueue({ redisUrl: REDIS_URL, prefix: `${base}:qrun`, fleet, log, mode: 'runner', warmup: QUEUE_WARMUP, count: QUEUE_COUNT });
    const rssAfterLoad = rssMiB();

    await bot.stop();
    bot = undefined;
    await bare.stop();
    bare = undefined;
    deleted = await deleteKeys(keyPrefix);

    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      totalMemGiB: round(totalmem() / 2 ** 30, 1),
      node: process.version,
    };
    const results = {
      ackLatencyMs: {
        note: `per request, from just before http.request to the end of the answer; ${COUNT} measured after ${WARMUP} warm-up, ${CONCURRENCY} in flight, keep-alive, loopback, load from a worker thread`,
        bareBolt: bareHelp,
        botHelp,
        botHistory: { ...botHistory, responseUrlPostsReceived: responses, responseUrlPostsExpected: WARMUP + COUNT },
        ratioBotHelpToBare: { p50: round(botHelp.p50 / bareHelp.p50, 2), p99: round(botHelp.p99 / bareHelp.p99, 2) },
        ratioBotHistoryToBare: { p50: round(botHistory.p50 / bareHelp.p50, 2), p99: round(botHistory.p99 / bareHelp.p99, 2) },
      },
      enqueueToStartMs: {
        note: `OperationQueues.enqueue (DEFAULT_QUEUE_SETTINGS) → BullMQ Worker from startWorkers; ${QUEUE_COUNT} jobs one at a time after ${QUEUE_WARMUP} warm-up, each enqueued 5 ms after the previous completed`,
        rawProcessor: { fromCall: summarize(qRaw.fromCall), fromReturn: summarize(qRaw.fromReturn), enqueueCall: summarize(qRaw.enqueueMs) },
        runnerFirstStep: { fromCall: summarize(qRunner.fromCall), fromReturn: summarize(qRunner.fromReturn), enqueueCall: summarize(qRunner.enqueueMs) },
      },
      startBotMs,
      rssMiB: { atLaunch: rssAtLaunch, idleAfterStartup: rssIdle, afterLoad: rssAfterLoad },
      redisKeysDeleted: deleted,
    };

    const rows: string[] = [];
    rows.push(`runner-ops bench — ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemGiB} GiB, node ${machine.node}`);
    rows.push('');
    rows.push(`Ack latency (ms), ${COUNT} requests at concurrency ${CONCURRENCY} after ${WARMUP} warm-up`);
    rows.push('                              p50       p99       max   req/s  errors');
    const ackRow = (name: string, r: AckResult): string => `${name.padEnd(24)}${ms(r.p50)} ${ms(r.p99)} ${ms(r.max)} ${String(r.reqPerSec).padStart(7)} ${String(r.errors).padStart(7)}`;
    rows.push(ackRow('bare Bolt (ack only)', bareHelp));
    rows.push(ackRow('bot /runner help', botHelp));
    rows.push(ackRow('bot /runner history', botHistory));
    rows.push(`ratio bot help / bare      p50 ${ratio(botHelp.p50, bareHelp.p50)}   p99 ${ratio(botHelp.p99, bareHelp.p99)}`);
    rows.push(`ratio bot history / bare   p50 ${ratio(botHistory.p50, bareHelp.p50)}   p99 ${ratio(botHistory.p99, bareHelp.p99)}`);
    rows.push(`history answers via response_url: ${responses} of ${WARMUP + COUNT}`);
    rows.push('');
    rows.push(`Enqueue → start (ms), ${QUEUE_COUNT} jobs one at a time`);
    rows.push('                                          p50       p99       max');
    const qRow = (name: string, s: Summary): string => `${name.padEnd(36)}${ms(s.p50)} ${ms(s.p99)} ${ms(s.max)}`;
    rows.push(qRow('processor start, from enqueue call', results.enqueueToStartMs.rawProcessor.fromCall));
    rows.push(qRow('processor start, from enqueue return', results.enqueueToStartMs.rawProcessor.fromReturn));
    rows.push(qRow('enqueue() call itself', results.enqueueToStartMs.rawProcessor.enqueueCall));
    rows.push(qRow('runner step 1 start, from enqueue call', results.enqueueToStartMs.runnerFirstStep.fromCall));
    rows.push('');
    rows.push(`startBot: ${startBotMs} ms   RSS MiB: launch ${rssAtLaunch}, idle after start-up ${rssIdle}, after load ${rssAfterLoad}`);
    rows.push(`Redis keys deleted under ${keyPrefix}*: ${deleted}`);
    process.stdout.write(`${rows.join('\n')}\n`);

    const out = resolve(__dirname, '..', '..', 'bench', 'results.json');
    writeFileSync(out, `${JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2)}\n`);
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    if (bot !== undefined) await bot.stop().catch(() => undefined);
    if (bare !== undefined) await bare.stop().catch(() => undefined);
    if (deleted === 0) await deleteKeys(keyPrefix).catch(() => 0);
    await fake.stop();
    fleetFile.remove();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 1;
});
