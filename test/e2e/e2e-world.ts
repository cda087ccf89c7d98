/**
 * Everything the end-to-end suite runs the bot against, on loopback: the Slack Web API fake, the
 * GitLab runner API world, the AWS HTTP fake (EC2, SSM, ECR, STS) and the SQS fake, a fleet file
 * (test/support/fleet.ts, with `roleArn` on prod) whose `alerts.queues` is the SQS fake's queue, real Redis under a unique prefix (deleted afterwards,
 * nothing else), and the compiled bot as a child process configured only through environment
 * variables, as an operator would run it (CONTRACT §2).
 *
 * The bot's own timings are the production ones (it has no test knobs); the fakes are made quick
 * instead: a command is unknown to GetCommandInvocation once, then finished; an instance is
 * `pending` until first described; the SSM agent needs one ping.
 */
import { Redis } from 'ioredis';
import { SlackFake, type SlackCall } from '../fakes/slack-fake';
import { SqsFake } from '../fakes/sqs-fake';
import { startGitlabFake, type GitlabFake } from '../fakes/gitlab-fake';
import { GitlabWorld } from '../fakes/gitlab-world';
import { testFleetYaml, writeTestFleet } from '../support/fleet';
import { deletePrefix, testRedisUrl, uniquePrefix } from '../support/redis';
import { actionBody, commandBody, postSigned, type HttpAnswer } from '../support/slack-requests';
import { AwsHttpFake } from './aws-http-fake';
import { BotProcess, freePort } from './bot-process';

export const SIGNING_SECRET = 'e2e-signing-secret';
export const BOT_TOKEN = 'xoxb-e2e-bot-token';
export const GITLAB_TOKEN = 'glpat-e2e-gitlab-token';
export const AWS_SECRET = 'e2e-aws-secret-access-key';
export const PROD_ROLE = 'arn:aws:iam::210987654321:role/runner-ops';
export const BASE_ACCESS_KEY_ID = 'AKIDE2EFAKEFAKEFAKE';

/** The final reply of an operation's thread. */
const FINAL = /^(:white_check_mark: \*Succeeded\*|:x: \*Failed\*|:octagonal_sign: \*Cancelled\*)/;

export interface E2eWorld {
  slack: SlackFake;
  gitlabFake: GitlabFake;
  gitlab: GitlabWorld;
  aws: AwsHttpFake;
  sqs: SqsFake;
  queueUrl: string;
  bot: BotProcess;
  prefix: string;
  /** A signed slash command (`/runner <text>`); the ephemeral answers go to response URL `responseId`. */
  command(text: string, userId: string, opts?: { channelId?: string; responseId?: string }): Promise<HttpAnswer>;
  /** A changing command; resolves with the operation id named in its ephemeral acknowledgement. */
  request(text: string, userId?: string): Promise<string>;
  /** A signed button click on the operation's thread root (as Slack sends it, with the root's channel and ts). */
  click(actionId: string, operationId: string, userId: string): Promise<HttpAnswer>;
  rootOf(operationId: string): { channel: string; ts: string } | undefined;
  /** The thread replies of an operation (texts, with blocks), in order. */
  replies(operationId: string): string[];
  /** The texts the root was edited to (chat.update), in order. */
  rootEdits(operationId: string): string[];
  /** Waits for the thread's final reply (Succeeded / Failed / Cancelled) and returns it. */
  outcome(operationId: string, timeoutMs?: number): Promise<string>;
  /** Every Slack Web API call and response_url post, as one string. */
  everythingSlackSaw(): string;
  /** Every value under this run's Redis prefix (job data, records, audit), as one string. */
  everythingInRedis(): Promise<string>;
  /** Everything sent to GitLab (paths, queries and bodies), as one string. */
  everythingGitlabSaw(): string;
  stop(): Promise<void>;
}

export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function startE2eWorld(name: string): Promise<E2eWorld> {
  const slack = await new SlackFake().start();
  const gitlabFake = await startGitlabFake({ token: GITLAB_TOKEN });
  const gitlab = new GitlabWorld(gitlabFake);
  const aws = await new AwsHttpFake().start();
  const sqs = await new SqsFake().start();
  const queueUrl = sqs.queueUrl();
  const world = aws.world;
  world.onRunnerConfigured = (token) => gitlab.connect(token);
  world.invocationLag = 1;
  world.commandPolls = 0;
  world.addImage('123456789012', 'ci/base', 'latest');

  const prefix = uniquePrefix(name);
  // prod lives in "another account": every AWS call for it goes through STS AssumeRole (CONTRACT §6).
  const fleet = writeTestFleet(`alerts:\n  queues: [${queueUrl}]\n  channel: C0ALERTS\n${testFleetYaml({ prodExtra: `    roleArn: ${PROD_ROLE}` })}`);
  const noFile = `${fleet.dir}/no-such-aws-file`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    REDIS_URL: testRedisUrl(),
    REDIS_PREFIX: prefix,
    RUNNER_OPS_CONFIG: fleet.path,
    GITLAB_URL: gitlabFake.url,
    GITLAB_TOKEN,
    LOG_LEVEL: 'debug',
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: BASE_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_ENDPOINT_URL_EC2: aws.url,
    AWS_ENDPOINT_URL_SSM: aws.url,
    AWS_ENDPOINT_URL_ECR: aws.url,
    AWS_ENDPOINT_URL_STS: aws.url,
    AWS_ENDPOINT_URL_SQS: new URL(queueUrl).origin,
    // Nothing from the developer's ~/.aws, no instance metadata lookups.
    AWS_CONFIG_FILE: noFile,
    AWS_SHARED_CREDENTIALS_FILE: noFile,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const bot = new BotProcess(env, await freePort());
  await bot.start();

  const eventsUrl = () => `${bot.baseUrl}/slack/events`;
  let n = 0;
  const rootOf = (operationId: string) => {
    const root = slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === undefined && JSON.stringify(c.args).includes(operationId));
    const ts = root === undefined ? undefined : slack.tsOfCall(root);
    return root === undefined || ts === undefined ? undefined : { channel: String(root.args.channel), ts };
  };
  const text = (c: SlackCall) => `${String(c.args.text ?? '')}${c.args.blocks === undefined ? '' : ` ${JSON.stringify(c.args.blocks)}`}`;
  const replies = (operationId: string) => {
    const root = rootOf(operationId);
    return root === undefined ? [] : slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === root.ts).map(text);
  };

  const w: E2eWorld = {
    slack, gitlabFake, gitlab, aws, sqs, queueUrl, bot, prefix,
    command(cmdText, userId, opts = {}) {
      const body = commandBody({ text: cmdText, userId, channelId: opts.channelId ?? 'C0CMD', responseUrl: slack.responseUrl(opts.responseId ?? `cmd-${n += 1}`) });
      return postSigned(eventsUrl(), body, { secret: SIGNING_SECRET });
    },
    async request(cmdText, userId = 'U0ALICE') {
      const responseId = `req-${n += 1}`;
      const res = await w.command(cmdText, userId, { responseId });
      if (res.status !== 200) throw new Error(`/runner ${cmdText} was answered ${res.status}: ${res.body}`);
      await slack.waitFor((f) => f.responses.some((r) => r.id === responseId && /\bop-[0-9a-z]{6}\b/.test(JSON.stringify(r.body))), 10_000, `the answer to /runner ${cmdText}`);
      const body = slack.responses.find((r) => r.id === responseId && /\bop-[0-9a-z]{6}\b/.test(JSON.stringify(r.body)))?.body;
      const id = /\bop-[0-9a-z]{6}\b/.exec(JSON.stringify(body))?.[0];
      if (id === undefined) throw new Error(`no operation id in the answer to /runner ${cmdText}: ${JSON.stringify(body)}`);
      return id;
    },
    click(actionId, operationId, userId) {
      const root = rootOf(operationId);
      if (root === undefined) throw new Error(`no thread root for ${operationId}`);
      const body = actionBody({ actionId, value: operationId, userId, channelId: root.channel, messageTs: root.ts, responseUrl: slack.responseUrl(`click-${n += 1}`) });
      return postSigned(eventsUrl(), body, { secret: SIGNING_SECRET });
    },
    rootOf,
    replies,
    rootEdits(operationId) {
      const root = rootOf(operationId);
      return root === undefined ? [] : slack.callsOf('chat.update').filter((c) => c.args.ts === root.ts).map(text);
    },
    async outcome(operationId, timeoutMs = 60_000) {
      const final = () => replies(operationId).find((t) => FINAL.test(t));
      await slack.waitFor(() => final() !== undefined, timeoutMs, `the outcome of ${operationId}`);
      return final() ?? '';
    },
    everythingSlackSaw() {
      return JSON.stringify([slack.calls.map((c) => c.args), slack.responses.map((r) => r.body), slack.uploads.map((u) => u.bytes.toString('utf8'))]);
    },
    async everythingInRedis() {
      const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
      try {
        const parts: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          cursor = next;
          for (const k of keys) {
            const type = await redis.type(k);
            if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(k)));
            else if (type === 'string') parts.push(String(await redis.get(k)));
            else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(k, 0, -1)));
            else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(k)));
            else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(k, '0', '-1')));
            else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(k, '-', '+')));
          }
        } while (cursor !== '0');
        return parts.join('\n');
      } finally {
        redis.disconnect();
      }
    },
    everythingGitlabSaw() {
      return JSON.stringify(gitlabFake.requests.map((r) => [r.method, r.path, r.query.toString(), r.body]));
    },
    async stop() {
      await bot.stop().catch(() => undefined);
      await Promise.all([slack.stop(), gitlabFake.close(), aws.stop(), sqs.stop()]);
      await deletePrefix(prefix);
    },
  };
  return w;
}
