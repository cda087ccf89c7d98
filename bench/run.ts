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
import { benchSsmPolling } from './ssm-bench';
import { benchAlerts } from './alerts-bench';
import { awsCallsRows, benchAwsCalls } from './aws-calls-bench';
import { round, summarize, type Summary } from './stats';

const SIGNING_SECRET = 'bench-signing-secret';
const BOT_TOKEN = 'xoxb-bench-token';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const WARMUP = 200;
const COUNT = 2_000;
const CONCURRENCY = 50;
const ROUNDS = 4;
const ROUND_WARMUP = 50;
const UNLOADED_COUNT = 300;
const AUDIT_SEED = 2_000;
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

function mergeLoads(runs: readonly LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {};
  for (const r of runs) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  return {
    latencies: runs.flatMap((r) => r.latencies),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    statuses,
    wallMs: runs.reduce((a, r) => a + r.wallMs, 0),
    stoppedByDeadline: runs.some((r) => r.stoppedByDeadline),
  };
}

/** Audit entries like the bot writes (requested → approved → started → succeeded per operation). */
async function seedAudit(key: string, count: number): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
  redis.on('error', () => undefined);
  try {
    const kinds = ['requested', 'approved', 'started', 'succeeded'] as const;
    const pipe = redis.pipeline();
    const t0 = Date.now() - count * 60_000;
    for (let i = 0; i < count; i += 1) {
      const op = `op-s${Math.floor(i / 4).toString(36).padStart(5, '0')}`;
      const kind = kinds[i % 4] ?? 'requested';
      pipe.xadd(key, '*', 'kind', kind, 'operationId', op, 'verb', 'bootstrap', 'env', 'prod', 'userId', kind === 'approved' ? 'U0CAROL' : 'U0ALICE', 'at', String(t0 + i * 60_000));
    }
    await pipe.exec();
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
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

    // Warm-up: every target first (JIT, connections, Bolt's auth.test cache), then interleaved
    // rounds so that no target is favoured by going later; after each history round the
    // post-ack work (Redis read + response_url POST) is let finish before the next round.
    const targets = [
      { key: 'bare', url: bare.url, text: 'help' },
      { key: 'help', url: botUrl, text: 'help' },
      { key: 'history', url: botUrl, text: 'history prod' },
    ] as const;
    let sent = 0;
    const responseUrlPosts = (): number => fake.counts.get('response_url') ?? 0;
    const settle = async (): Promise<void> => { await waitForCount(responseUrlPosts, sent, 15_000); };
    const load = async (t: (typeof targets)[number], warmup: number, count: number, concurrency: number): Promise<LoadResult> => {
      const r = await runLoad({ ...spec(t.url, t.text, fake.responseUrl(`${t.key}-`)), warmup, count, concurrency });
      if (t.key === 'history') { sent += warmup + count; await settle(); }
      return r;
    };
    process.stderr.write(`bench: warm-up, ${WARMUP} requests per target…\n`);
    for (const t of targets) await load(t, 0, WARMUP, CONCURRENCY);

    process.stderr.write(`bench: ack latency, ${ROUNDS} interleaved rounds of ${COUNT / ROUNDS} per target at concurrency ${CONCURRENCY}…\n`);
    const loaded = new Map<string, LoadResult[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const t of targets) {
        const r = await load(t, ROUND_WARMUP, COUNT / ROUNDS, CONCURRENCY);
        loaded.set(t.key, [...(loaded.get(t.key) ?? []), r]);
      }
    }
    process.stderr.write(`bench: unloaded ack latency, ${UNLOADED_COUNT} per target at concurrency 1…\n`);
    const unloaded = new Map<string, LoadResult>();
    for (const t of targets) unloaded.set(t.key, await load(t, 20, UNLOADED_COUNT, 1));

    const merged = (key: string): AckResult => ackResult(mergeLoads(loaded.get(key) ?? []));
    const bareHelp = merged('bare');
    const botHelp = merged('help');
    const botHistory = merged('history');
    const unloadedOf = (key: string): Summary => summarize(unloaded.get(key)?.latencies ?? []);
    const responses = responseUrlPosts();

    // The same history load against a full audit stream: history() reads the newest 2,000
    // entries and parses each, after the ack but on the same event loop.
    process.stderr.write(`bench: ack latency, bot /runner history prod with ${AUDIT_SEED} audit entries…\n`);
    await seedAudit(`${base}:bot:audit`, AUDIT_SEED);
    const seededRuns: LoadResult[] = [];
    await load(targets[2], 0, WARMUP, CONCURRENCY);
    for (let round = 0; round < ROUNDS; round += 1) seededRuns.push(await load(targets[2], ROUND_WARMUP, COUNT / ROUNDS, CONCURRENCY));
    const botHistorySeeded = ackResult(mergeLoads(seededRuns));
    const responsesTotal = responseUrlPosts();

    process.stderr.write('bench: enqueue → job start…\n');
    const qRaw = await benchQueue({ redisUrl: REDIS_URL, prefix: `${base}:qraw`, fleet, log, mode: 'raw', warmup: QUEUE_WARMUP, count: QUEUE_COUNT });
    const qRunner = await benchQueue({ redisUrl: REDIS_URL, prefix: `${base}:qrun`, fleet, log, mode: 'runner', warmup: QUEUE_WARMUP, count: QUEUE_COUNT });
    process.stderr.write('bench: SSM polling, one 90 s command on a simulated clock…\n');
    const ssmPolling = await benchSsmPolling();
    process.stderr.write('bench: AWS calls per operation, bootstrap → rotate → reregister → verify-ecr → destroy on a simulated clock…\n');
    const awsCalls = await benchAwsCalls();
    process.stderr.write('bench: Spot alerts, message receivable → Slack post…\n');
    const alerts = await benchAlerts({ redisUrl: REDIS_URL, prefix: `${base}:alerts` });
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
        note: `per request, from just before http.request to the end of the answer; per target ${WARMUP} warm-up, then ${COUNT} measured in ${ROUNDS} interleaved rounds (each after ${ROUND_WARMUP} unmeasured), ${CONCURRENCY} in flight, keep-alive, loopback, load from a worker thread`,
        bareBolt: bareHelp,
        botHelp,
        botHistory,
        botHistoryAudit2000: botHistorySeeded,
        responseUrlPosts: { afterEmptyHistoryRuns: responses, afterAllHistoryRuns: responsesTotal, expected: sent },
        unloadedConcurrency1: { note: `${UNLOADED_COUNT} requests one at a time`, bareBolt: unloadedOf('bare'), botHelp: unloadedOf('help'), botHistory: unloadedOf('history') },
        ratioBotHelpToBare: { p50: round(botHelp.p50 / bareHelp.p50, 2), p99: round(botHelp.p99 / bareHelp.p99, 2) },
        ratioBotHistoryToBare: { p50: round(botHistory.p50 / bareHelp.p50, 2), p99: round(botHistory.p99 / bareHelp.p99, 2) },
        ratioBotHistoryAudit2000ToBare: { p50: round(botHistorySeeded.p50 / bareHelp.p50, 2), p99: round(botHistorySeeded.p99 / bareHelp.p99, 2) },
      },
      enqueueToStartMs: {
        note: `OperationQueues.enqueue (DEFAULT_QUEUE_SETTINGS) → BullMQ Worker from startWorkers; ${QUEUE_COUNT} jobs one at a time after ${QUEUE_WARMUP} warm-up, each enqueued 5 ms after the previous completed`,
        rawProcessor: { fromCall: summarize(qRaw.fromCall), fromReturn: summarize(qRaw.fromReturn), enqueueCall: summarize(qRaw.enqueueMs) },
        runnerFirstStep: { fromCall: summarize(qRunner.fromCall), fromReturn: summarize(qRunner.fromReturn), enqueueCall: summarize(qRunner.enqueueMs) },
      },
      ssmPolling: { note: 'simulated clock + aws-sdk-client-mock: agent Online after 20 s (waitForSsmOnline), then runScript with a command that runs 90 s', ...ssmPolling },
      awsCallsPerOperation: awsCalls,
      spotAlertsMs: { note: 'SendMessage into the local SQS (real SQSClient, long poll) → root chat.postMessage at the Slack fake; single: one at a time, pacer off; burstPaced: 10 at once into one channel, 1 msg/s pacer; storm: 50 interruptions at once, production timings', ...alerts },
      startBotMs,
      rssMiB: { atLaunch: rssAtLaunch, idleAfterStartup: rssIdle, afterLoad: rssAfterLoad },
      redisKeysDeleted: deleted,
    };

    const rows: string[] = [];
    rows.push(`runner-ops bench — ${machine.cpus} × ${machine.cpuModel}, ${machine.totalMemGiB} GiB, node ${machine.node}`);
    rows.push('');
    rows.push(`Ack latency (ms), ${COUNT} requests per target at concurrency ${CONCURRENCY} (${ROUNDS} interleaved rounds, after ${WARMUP} warm-up)`);
    rows.push('                              p50       p99       max   req/s  errors');
    const ackRow = (name: string, r: AckResult): string => `${name.padEnd(24)}${ms(r.p50)} ${ms(r.p99)} ${ms(r.max)} ${String(r.reqPerSec).padStart(7)} ${String(r.errors).padStart(7)}`;
    rows.push(ackRow('bare Bolt (ack only)', bareHelp));
    rows.push(ackRow('bot /runner help', botHelp));
    rows.push(ackRow('bot /runner history', botHistory));
    rows.push(ackRow(`bot history, ${AUDIT_SEED} audit`, botHistorySeeded));
    rows.push(`ratio bot help / bare            p50 ${ratio(botHelp.p50, bareHelp.p50)}   p99 ${ratio(botHelp.p99, bareHelp.p99)}`);
    rows.push(`ratio bot history / bare         p50 ${ratio(botHistory.p50, bareHelp.p50)}   p99 ${ratio(botHistory.p99, bareHelp.p99)}`);
    rows.push(`ratio bot history(2000) / bare   p50 ${ratio(botHistorySeeded.p50, bareHelp.p50)}   p99 ${ratio(botHistorySeeded.p99, bareHelp.p99)}`);
    rows.push(`history answers via response_url: ${responsesTotal} of ${sent}`);
    rows.push('');
    rows.push(`Unloaded ack latency (ms), ${UNLOADED_COUNT} requests at concurrency 1`);
    const uRow = (name: string, x: Summary): string => `${name.padEnd(24)}${ms(x.p50)} ${ms(x.p99)} ${ms(x.max)}`;
    rows.push(uRow('bare Bolt (ack only)', unloadedOf('bare')));
    rows.push(uRow('bot /runner help', unloadedOf('help')));
    rows.push(uRow('bot /runner history', unloadedOf('history')));
    rows.push('');
    rows.push(`Enqueue → start (ms), ${QUEUE_COUNT} jobs one at a time`);
    rows.push('                                          p50       p99       max');
    const qRow = (name: string, s: Summary): string => `${name.padEnd(36)}${ms(s.p50)} ${ms(s.p99)} ${ms(s.max)}`;
    rows.push(qRow('processor start, from enqueue call', results.enqueueToStartMs.rawProcessor.fromCall));
    rows.push(qRow('processor start, from enqueue return', results.enqueueToStartMs.rawProcessor.fromReturn));
    rows.push(qRow('enqueue() call itself', results.enqueueToStartMs.rawProcessor.enqueueCall));
    rows.push(qRow('runner step 1 start, from enqueue call', results.enqueueToStartMs.runnerFirstStep.fromCall));
    rows.push('');
    rows.push(`SSM polling (simulated): ${ssmPolling.commandSeconds} s command seen ${ssmPolling.detectedAfterSeconds} s after its end; calls: GetCommandInvocation ${ssmPolling.getCommandInvocationCalls}, DescribeInstanceInformation ${ssmPolling.describeInstanceInformationCalls}, SendCommand ${ssmPolling.sendCommandCalls}`);
    rows.push('');
    rows.push(...awsCallsRows(awsCalls));
    rows.push('');
    rows.push('Spot alert: message receivable → Slack post (ms)');
    rows.push('                                          p50       p99       max');
    rows.push(qRow(`one at a time (n=${alerts.single.n}, pacer off)`, alerts.single));
    rows.push(qRow(`burst of ${alerts.burstPaced.n}, one channel, paced`, alerts.burstPaced));
    rows.push(`storm of ${alerts.storm.interruptions}: summary posted after ${alerts.storm.summaryPostedMs} ms, showing all ${alerts.storm.interruptions} after ${alerts.storm.allCountedMs} ms; ${alerts.storm.posts} posts, ${alerts.storm.edits} edits`);
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
