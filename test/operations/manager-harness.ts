/**
 * The product's manager operations (bootstrap, rotate, reregister, destroy) run by a real bot
 * replica (real Redis, Bolt over HTTP, the Slack fake), against the AWS world (aws-sdk-client-mock)
 * and the GitLab world (HTTP fake that fails on any unexpected request). Everything the operation
 * writes anywhere is recorded, so tests can assert that the runner token went nowhere but
 * PutParameter.
 */
import { Gitlab } from '@gitbeaker/rest';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createAwsClientFactory } from '../../src/adapters/aws/clients';
import { systemClock } from '../../src/domain/clock';
import { productOperations } from '../../src/operations/catalogue';
import type { OperationDefinition } from '../../src/operations/framework/types';
import { DEFAULT_TIMINGS, type ManagerOpsDeps } from '../../src/operations/manager/deps';
import { AwsWorld } from '../fakes/aws-world';
import { startGitlabFake, type GitlabFake } from '../fakes/gitlab-fake';
import { GitlabWorld } from '../fakes/gitlab-world';
import { SlackFake } from '../fakes/slack-fake';
import { operationIdIn, startHarness, type Harness } from '../support/bot-harness';
import { testRedisUrl, uniquePrefix } from '../support/redis';
import { sandboxCatalogue } from '../fleet/sandbox';

export const GITLAB_TOKEN = 'glpat-manager-ops-test';

export const FAST_TIMINGS = {
  ...DEFAULT_TIMINGS,
  instanceRunningMs: 5_000,
  ssmOnlineMs: 5_000,
  runnerOnlineMs: 1_500,
  terminatedMs: 5_000,
  poll: { initialDelayMs: 5, maxDelayMs: 20 },
};

export interface ManagerHarness {
  h: Harness;
  aws: AwsWorld;
  gitlab: GitlabWorld;
  gitlabFake: GitlabFake;
  deps: ManagerOpsDeps;
  logs: string[];
  /** Requests a changing operation; returns its id. */
  request(text: string, userId?: string): Promise<string>;
  /** Waits for the operation's last thread reply (Succeeded / Failed / Cancelled) and returns it. */
  outcome(id: string, timeoutMs?: number): Promise<string>;
  /** Every thread reply and root text for the operation, in order. */
  thread(id: string): string[];
  /** Every Slack call and response_url post, as one string. */
  everythingSlackSaw(): string;
  /** Every value under this test's Redis prefix, as one string (job data, records, audit). */
  everythingInRedis(): Promise<string>;
  /** Starts another replica on the same prefix (after `h.stop()`), keeping the worlds. */
  restart(): Promise<void>;
  /** Between tests: fails on unexpected GitLab requests, then empties both worlds and the fakes. */
  resetWorlds(): void;
  stop(): Promise<void>;
  /**
   * Clicks a button whose value is not an operation id (e.g. `runner_remove_stale`, value = the
   * environment), from an ephemeral message in `C0CMD`; returns the first ephemeral answer's text.
   */
  click(actionId: string, value: string, userId?: string): Promise<string>;
}

export interface ManagerHarnessOptions {
  /** Operations registered besides the product's (a verb the product already registers is skipped). */
  extra?: (deps: ManagerOpsDeps) => OperationDefinition[];
}

export async function startManagerHarness(name: string, opts: ManagerHarnessOptions = {}): Promise<ManagerHarness> {
  const aws = new AwsWorld();
  const gitlabFake = await startGitlabFake({ token: GITLAB_TOKEN });
  const gitlab = new GitlabWorld(gitlabFake);
  aws.onRunnerConfigured = (token) => gitlab.connect(token);
  const deps: ManagerOpsDeps = {
    // Static test credentials: the mocks intercept every call; nothing leaves the process.
    aws: createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } }),
    gitlab: new Gitlab({ host: gitlabFake.url, token: GITLAB_TOKEN, queryTimeout: 5_000 }),
    gitlabUrl: 'https://gitlab.example.com',
    clock: systemClock,
    timings: FAST_TIMINGS,
    catalogue: sandboxCatalogue(),
  };
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, new Writable({ write(chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb(); } }));
  const slack = await new SlackFake().start();
  const prefix = uniquePrefix(name);
  const boot = () => startHarness({
    name, prefix, slack,
    register: (registry) => {
      for (const def of productOperations(deps)) registry.register(def);
      for (const def of opts.extra?.(deps) ?? []) if (registry.get(def.verb) === undefined) registry.register(def);
    },
    botOptions: { log },
    env: { GITLAB_URL: 'https://gitlab.example.com' },
  });
  let h = await boot();
  const m: ManagerHarness = {
    get h() { return h; },
    aws, gitlab, gitlabFake, deps, logs,
    async request(text, userId = 'U0ALICE') {
      const responseId = `req-${Math.random()}`;
      await h.command(text, userId, { responseId });
      await slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 10_000, 'request answer');
      const body = slack.responses.find((r) => r.id === responseId)?.body;
      const id = operationIdIn(String(body?.text));
      if (id === undefined) throw new Error(`no operation id in the answer: ${JSON.stringify(body)}`);
      return id;
    },
    async outcome(id, timeoutMs = 20_000) {
      const finalOf = () => m.thread(id).find((t) => /^(:white_check_mark: \*Succeeded\*|:x: \*Failed\*|:octagonal_sign: \*Cancelled\*)/.test(t));
      await slack.waitFor(() => finalOf() !== undefined, timeoutMs, `the outcome of ${id}`);
      return finalOf() ?? '';
    },
    thread(id) {
      const root = h.rootOf(id);
      if (root === undefined) return [];
      return slack.calls
        .filter((c) => (c.method === 'chat.postMessage' && c.args.thread_ts === root.ts) || (c.method === 'chat.update' && c.args.ts === root.ts))
        .map((c) => `${String(c.args.text ?? '')}${c.args.blocks === undefined ? '' : ` ${JSON.stringify(c.args.blocks)}`}`);
    },
    everythingSlackSaw() {
      return JSON.stringify([slack.calls.map((c) => c.args), slack.responses.map((r) => r.body)]);
    },
    async everythingInRedis() {
      const redis = new Redis(testRedisUrl());
      try {
        const keys = await redis.keys(`${prefix}*`);
        const parts: string[] = [];
        for (const k of keys) {
          const type = await redis.type(k);
          if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(k)));
          else if (type === 'string') parts.push(String(await redis.get(k)));
          else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(k, 0, -1)));
          else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(k, '0', '-1')));
          else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(k, '-', '+')));
        }
        return parts.join('\n');
      } finally {
        redis.disconnect();
      }
    },
    async restart() { h = await boot(); },
    resetWorlds() {
      aws.reset();
      const unexpected = [...gitlabFake.unexpected];
      gitlabFake.reset();
      gitlab.reset();
      if (unexpected.length > 0) throw new Error(`gitlab-fake received unexpected requests: ${unexpected.map((r) => `${r.method} ${r.path}`).join(', ')}`);
    },
    async stop() {
      await h.stop().catch(() => undefined);
      await slack.stop();
      await gitlabFake.close();
      aws.restore();
    },
    async click(actionId, value, userId = 'U0ALICE') {
      const responseId = `click-${Math.random()}`;
      const res = await h.click(actionId, value, userId, { channelId: 'C0CMD', messageTs: '1700000000.000100', responseId });
      if (res.status !== 200) throw new Error(`the click was answered ${res.status}: ${res.body}`);
      await slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 10_000, `the answer to ${actionId}`);
      return String(slack.responses.find((r) => r.id === responseId)?.body.text);
    },
  };
  return m;
}
