/**
 * End to end (issue 9, items 1 and 2): the compiled bot (`node dist/src/main.js`, built first if
 * missing or older than src/) as a child process, configured only through environment variables,
 * against local HTTP fakes of Slack, GitLab, AWS (EC2/SSM/ECR) and SQS, with real Redis under a
 * unique prefix. Driven only through signed HTTP requests and SQS messages; asserted on what the
 * fakes saw, what Slack received, the bot's logs and what it left in Redis.
 *
 * Time: the bot runs with its production settings (it has no test knobs), so every thread reply
 * is paced at one per second per channel, and BullMQ picks a SIGKILLed job up again only after its
 * lock (30 s) expired and a stalled check (every 15 s) saw it: about 16 s after the kill here. To
 * stay short, the suite overlaps what is independent, one environment per queue and channel:
 * - the crash case runs first, in `beforeAll`, on `stage`: killed while SSM runs a bootstrap
 *   phase, started again; while the stalled job waits, the `prod` tests run; its own test further
 *   down awaits the resumed operation and asserts on it;
 * - AWS throttling (on prod's verify-ecr) and a Slack 429 storm (on stage's reregister) run at the
 *   same time, each asserted by its own test, with the faults scoped to their operation/channel.
 * Every count is scoped to its operation, instance or environment, so interleaved requests of the
 * other environment cannot make a test pass or fail.
 */
import { eventBody } from '../fakes/spot-world';
import type { AwsRequest } from './aws-http-fake';
import { ensureBuilt } from './bot-process';
import {
  AWS_SECRET, BASE_ACCESS_KEY_ID, BOT_TOKEN, GITLAB_TOKEN, PROD_ROLE, SIGNING_SECRET, startE2eWorld, waitFor, type E2eWorld,
} from './e2e-world';

const PROD_PARAM = '/runner-ops/prod/runner-token';
const PHASES = ['phase-host', 'phase-tools', 'phase-keypair', 'phase-runner'];
const SUCCEEDED = /^:white_check_mark: \*Succeeded\*/;

interface CrashRun {
  id: string;
  instanceId: string;
  commandId: string;
  killedAt: number;
  restartedAt: number;
  /** Resolves with the final reply once the resumed operation has finished (or rejects). */
  outcome: Promise<{ text: string; at: number }>;
}

describe('end to end: the built bot as a process against local Slack, GitLab and AWS', () => {
  let w: E2eWorld;
  let crash: CrashRun;

  /** Requests the world answered (not injected faults) for one action, optionally filtered. */
  const served = (action: string, pred: (r: AwsRequest) => boolean = () => true): AwsRequest[] => w.aws.served(action).filter(pred);
  const instanceOf = (r: AwsRequest): string => String((r.input.InstanceIds as string[] | undefined)?.[0] ?? r.input.InstanceId ?? '');
  const prodManager = (): string => w.aws.world.live('manager').find((i) => i.tags['runner-ops:environment'] === 'prod')?.id ?? 'none';

  /**
   * Everything the token could have leaked into, except the PutParameter requests that store it:
   * every other AWS request body, Slack (calls, response_url posts, uploads), GitLab requests,
   * the bot's logs (stdout and stderr of every run), and every value under the Redis prefix.
   */
  async function everywhereButPutParameter(): Promise<string> {
    const aws = w.aws.requests.filter((r) => r.action !== 'PutParameter').map((r) => r.body);
    return [...aws, w.everythingSlackSaw(), w.everythingGitlabSaw(), w.bot.output, await w.everythingInRedis()].join('\n');
  }

  /** Step replies `k/total … done` for every k, the final reply last, and the root edited to Succeeded. */
  async function expectCompleteThread(id: string, total: number): Promise<void> {
    const replies = w.replies(id);
    for (let k = 1; k <= total; k += 1) {
      expect(replies.filter((r) => r.startsWith(`:white_check_mark: *Step ${k}/${total}*`) && r.includes(': done in '))).toHaveLength(1);
    }
    expect(replies.at(-1)).toMatch(SUCCEEDED);
    // Root edits travel in their own lane: the last one may land just after the final reply.
    await w.slack.waitFor(() => w.rootEdits(id).at(-1)?.includes('Succeeded') === true, 15_000, `the root of ${id} to show Succeeded`);
  }

  async function approve(id: string): Promise<void> {
    await w.slack.waitFor(() => w.rootOf(id) !== undefined, 15_000, `the approval request of ${id}`);
    const res = await w.click('runner_approve', id, 'U0CAROL');
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    ensureBuilt();
    w = await startE2eWorld('e2e');
    // What the Spot alert's affected-jobs lookup asks GitLab (token scopes, running jobs, a job log).
    w.gitlabFake.on('GET', '/personal_access_tokens/self', { body: { id: 1, name: 'runner-ops', scopes: ['api'], active: true } });
    w.gitlabFake.on('GET', /^\/runners\/\d+\/jobs$/, { body: [{ id: 555, name: 'build-image', status: 'running', web_url: 'https://gitlab.example.com/group/app/-/jobs/555', project: { id: 7, path_with_namespace: 'group/app' } }] });
    w.gitlabFake.on('GET', '/projects/7/jobs/555/trace', { body: 'Running with gitlab-runner 18.5.0\nRunning on runner-abcd1234-prod-1700000000-0a1b2c3d via runner-abcd1234-prod-1700000000-0a1b2c3d...\n' });

    // The crash case: a bootstrap of `stage` (no approval needed), the bot SIGKILLed while SSM
    // runs its first phase (the fake holds that command InProgress), then started again; the
    // command keeps running on the instance and finishes while the bot is away.
    w.aws.world.hold('phase-host');
    try {
      const id = await w.request('bootstrap stage', 'U0ALICE');
      await waitFor(() => w.aws.world.commands.some((c) => c.kind === 'phase-host' && c.comment.includes(id) && c.polls >= 2), 45_000, 'the first bootstrap phase of stage to be InProgress');
      const cmd = w.aws.world.commands.find((c) => c.kind === 'phase-host' && c.comment.includes(id));
      if (cmd === undefined) throw new Error('no phase-host command');
      const killedAt = Date.now();
      await w.bot.kill();
      await w.bot.start();
      const restartedAt = Date.now();
      const outcome = w.outcome(id, 100_000).then((text) => ({ text, at: Date.now() }));
      outcome.catch(() => undefined); // asserted in its own test
      crash = { id, instanceId: cmd.instanceId, commandId: cmd.id, killedAt, restartedAt, outcome };
    } finally {
      w.aws.world.release('phase-host');
    }
  }, 120_000);

  afterAll(async () => {
    await crash?.outcome.catch(() => undefined);
    await w?.stop();
  }, 60_000);

  afterEach(() => {
    expect(w.aws.unexpected.map((r) => `${r.service} ${r.action}`)).toEqual([]);
    expect(w.gitlabFake.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('bootstrap prod with approval: one IMDSv2 manager, four bash SSM phases, the token only in PutParameter, the thread ends Succeeded', async () => {
    const id = await w.request('bootstrap prod', 'U0ALICE');
    await w.slack.waitFor(() => w.rootOf(id) !== undefined, 15_000, 'the approval request');
    const root = w.rootOf(id);
    expect(root?.channel).toBe('C0PROD');
    const request = JSON.stringify(w.slack.callsOf('chat.postMessage').find((c) => w.slack.tsOfCall(c) === root?.ts)?.args);
    expect(request).toContain('runner_approve');
    // Nothing happens before the approval.
    expect(served('RunInstances', (r) => r.body.includes(id))).toHaveLength(0);

    await approve(id);
    expect(await w.outcome(id)).toMatch(/Succeeded\*: Bootstrapped: launched manager `i-[0-9a-f]+`, created runner #\d+; the runner is online in GitLab/);
    expect(w.rootEdits(id).join('\n')).toMatch(/Approved.*U0CAROL/);
    await expectCompleteThread(id, 9);

    // EC2: exactly one RunInstances for this operation, IMDSv2 required, hop limit 2, on-demand.
    const launches = w.aws.requests.filter((r) => r.action === 'RunInstances' && r.body.includes(id));
    expect(launches).toHaveLength(1);
    expect(launches[0]?.input).toMatchObject({ ClientToken: expect.stringContaining(id), MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 }, MinCount: 1, MaxCount: 1 });
    expect(launches[0]?.input.InstanceMarketOptions).toBeUndefined();
    const manager = prodManager();
    expect(w.aws.launched().filter((i) => i.tags['runner-ops:environment'] === 'prod')).toHaveLength(1);
    expect(w.aws.world.instances.get(manager)?.tags).toMatchObject({ ManagedBy: 'runner-ops', 'runner-ops:role': 'manager', 'runner-ops:operation': id, 'runner-ops:generation': '1' });

    // SSM: four commands, one per phase, each a bash script through AWS-RunShellScript.
    const sends = served('SendCommand', (r) => instanceOf(r) === manager);
    expect(sends).toHaveLength(4);
    for (const s of sends) {
      expect(s.input.DocumentName).toBe('AWS-RunShellScript');
      expect(String((s.input.Parameters as { commands: string[] }).commands[0])).toMatch(/^#!\/bin\/bash\n/);
    }
    expect(w.aws.world.commands.filter((c) => c.instanceId === manager).map((c) => c.kind)).toEqual(PHASES);

    // The token: created by GitLab, stored as a SecureString, and nowhere else.
    const runners = w.gitlab.created.filter((r) => r.description.includes('runner-ops:prod'));
    expect(runners).toHaveLength(1);
    expect(w.gitlabFake.requests.filter((r) => r.method === 'POST' && r.path === '/user/runners' && r.body.includes('runner-ops:prod'))).toHaveLength(1);
    const token = runners[0]?.token ?? 'missing';
    expect(token).toMatch(/^glrt-/);
    const puts = served('PutParameter', (r) => r.input.Name === PROD_PARAM);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.input).toMatchObject({ Name: PROD_PARAM, Type: 'SecureString', Value: token });
    expect(puts[0]?.body).toContain(token);
    expect(await everywhereButPutParameter()).not.toContain(token);
    expect(w.bot.output).toContain('runner-ops started'); // the logs are there to search
    // Nor does any configured secret appear in the logs (debug level), CONTRACT §2.
    for (const secret of [BOT_TOKEN, SIGNING_SECRET, GITLAB_TOKEN, AWS_SECRET]) expect(w.bot.output).not.toContain(secret);

    // prod names a roleArn: its calls use credentials from AssumeRole, in a session named after the operation.
    const sessions = w.aws.assumedRoles.filter((r) => r.sessionName === `runner-ops-${id}`);
    expect(sessions.length).toBeGreaterThanOrEqual(1);
    expect(sessions.every((r) => r.roleArn === PROD_ROLE)).toBe(true);
    const assumedKeys = new Set(sessions.map((r) => r.accessKeyId));
    const mine = [...launches, ...sends, ...puts];
    expect(mine.filter((r) => !assumedKeys.has(r.accessKeyId ?? ''))).toEqual([]);
    expect(w.aws.requests.filter((r) => r.action === 'AssumeRole').every((r) => r.accessKeyId === BASE_ACCESS_KEY_ID)).toBe(true);
  }, 90_000);

  it('reregister prod through GitLab 5xx bursts: one new runner, old one deleted, no step retried', async () => {
    const old = w.gitlab.created.find((r) => r.description.includes('runner-ops:prod'));
    if (old === undefined) throw new Error('needs the prod runner from the bootstrap test');
    const id = await w.request('reregister prod', 'U0ALICE');
    const posts = () => w.gitlabFake.requests.filter((r) => r.method === 'POST' && r.path === '/user/runners').length;
    const postsBefore = posts();
    // Bursts on every kind of GitLab call the operation makes; the creation is not idempotent.
    w.gitlab.failNext('GET', /^\/groups\/42\/runners$/, 503);
    w.gitlab.failNext('POST', /^\/user\/runners$/, 500);
    w.gitlab.failNext('POST', /^\/user\/runners$/, 502);
    w.gitlab.failNext('DELETE', new RegExp(`^/runners/${old.id}$`), 500);
    await approve(id);
    const outcome = await w.outcome(id);
    expect(outcome).toMatch(new RegExp(`Succeeded\\*: Reregistered: new runner #\\d+ is online; deleted old runner\\(s\\) #${old.id}`));
    await expectCompleteThread(id, 6);
    expect(w.replies(id).join('\n')).not.toMatch(/retrying|:x:/);

    const created = w.gitlab.created.filter((r) => r.description.includes('runner-ops:prod'));
    expect(created).toHaveLength(2); // exactly one new runner despite the failed creations
    expect(posts() - postsBefore).toBeGreaterThanOrEqual(3);
    expect(w.gitlab.deleted).toContain(old.id);
    expect(w.gitlabFake.requests.filter((r) => r.method === 'DELETE' && r.path === `/runners/${old.id}`).length).toBeGreaterThanOrEqual(2);
    const fresh = created[1];
    expect(fresh?.status).toBe('online');
    expect(w.aws.world.parameterValue(PROD_PARAM)).toBe(fresh?.token);
    // One more command on the manager: the runner phase, re-rendering config.toml from the parameter.
    expect(w.aws.world.commands.filter((c) => c.instanceId === prodManager()).map((c) => c.kind)).toEqual([...PHASES, 'phase-runner']);
    expect(await everywhereButPutParameter()).not.toContain(fresh?.token ?? 'missing');
  }, 90_000);

  it('a Spot interruption warning for a prod worker, put on the SQS queue, becomes an alert thread in the prod channel', async () => {
    const manager = prodManager();
    const name = 'runner-abcd1234-prod-1700000000-0a1b2c3d';
    const worker = w.aws.world.addInstance({
      tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': 'prod', 'runner-ops:role': 'worker', 'runner-ops:manager': manager, Name: name },
      type: 'c8g.medium', spot: true, az: 'eu-central-1a',
    });
    const roots = () => w.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined && JSON.stringify(c.args).includes(worker.id));
    w.sqs.send(w.queueUrl, eventBody('interruption', worker.id));
    await w.slack.waitFor(() => roots().length > 0, 30_000, 'the alert thread');
    const [root] = roots();
    expect(root?.args.channel).toBe('C0PROD');
    const text = JSON.stringify(root?.args);
    expect(text).toContain('Spot interruption');
    expect(text).toContain('c8g.medium');
    expect(text).toContain(manager);
    // The running CI job whose log names the machine is reported in the thread.
    const ts = root === undefined ? undefined : w.slack.tsOfCall(root);
    await w.slack.waitFor(() => w.slack.callsOf('chat.postMessage').some((c) => c.args.thread_ts === ts && JSON.stringify(c.args).includes('build-image')), 20_000, 'the affected job');
    // The event was taken off the queue once handled.
    await waitFor(() => w.sqs.remaining(w.queueUrl).length === 0, 10_000, 'the SQS message to be deleted');
    expect(served('DescribeInstances', (r) => r.body.includes(worker.id)).length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('SIGKILL mid-operation and a restart: the bootstrap resumes and completes; one instance, each phase sent once', async () => {
    const { id, instanceId, commandId, restartedAt } = crash;
    const { text } = await crash.outcome;
    expect(text).toMatch(new RegExp(`Succeeded\\*: Bootstrapped: launched manager \`${instanceId}\`, created runner #\\d+`));
    expect(w.bot.runs).toBe(2);
    expect(w.bot.output).toMatch(/--- exit SIGKILL ---/);
    const replies = w.replies(id);
    expect(replies).toContain(':arrows_counterclockwise: Resuming from the last checkpoint.');
    await expectCompleteThread(id, 9);

    // One instance: RunInstances for this operation once, one stage manager.
    expect(w.aws.requests.filter((r) => r.action === 'RunInstances' && r.body.includes(id))).toHaveLength(1);
    expect(w.aws.launched().filter((i) => i.tags['runner-ops:environment'] === 'stage')).toHaveLength(1);
    // Every command accounted for: each phase sent exactly once; the interrupted one re-attached to.
    const sends = served('SendCommand', (r) => instanceOf(r) === instanceId);
    expect(sends).toHaveLength(4);
    expect(w.aws.world.commands.filter((c) => c.instanceId === instanceId).map((c) => c.kind)).toEqual(PHASES);
    const polls = served('GetCommandInvocation', (r) => r.input.CommandId === commandId);
    expect(polls.some((r) => r.at < crash.killedAt)).toBe(true);
    expect(polls.some((r) => r.at > restartedAt)).toBe(true);
    expect(w.gitlab.created.filter((r) => r.description.includes('runner-ops:stage'))).toHaveLength(1);
  }, 120_000);

  /**
   * Two chaos cases at once, one per environment (own queue, own channel), to keep the suite
   * short: each scenario only records what happened; its own test asserts on it. The AWS faults are
   * scoped to the verify-ecr operation's requests, the 429s to the stage channel.
   */
  describe('AWS throttling in prod and a Slack 429 storm in stage, at the same time', () => {
    interface Throttled { id: string; outcome: string; injected: number; from: number }
    interface Storm { id: string; outcome: string; before: number }
    let throttled: Promise<Throttled>;
    let storm: Promise<Storm>;

    beforeAll(async () => {
      await crash.outcome.catch(() => undefined); // stage is free again
      throttled = (async () => {
        const id = await w.request('verify-ecr prod', 'U0ALICE');
        // The verify worker's agent is Online and its user data done at the first look.
        w.aws.world.launchPings = 0;
        w.aws.world.workerReadyProbes = 0;
        // Bursts of the services' throttling errors (and a 500) on calls the operation makes.
        w.aws.throttle('ecr', 1, 'DescribeImages');
        w.aws.throttle('ssm', 2, { action: 'SendCommand', bodyIncludes: id });
        w.aws.throttle('ec2', 2, { action: 'RunInstances', bodyIncludes: id });
        w.aws.serverError('ec2', 1, 'TerminateInstances');
        const injected = w.aws.pendingFaults;
        const from = w.aws.requests.length;
        await approve(id);
        const outcome = await w.outcome(id, 75_000);
        w.aws.world.launchPings = 1;
        return { id, outcome, injected, from };
      })();
      storm = (async () => {
        const id = await w.request('reregister stage', 'U0ALICE');
        const before = w.slack.rateLimited.length;
        w.slack.rateLimit('chat.postMessage', 4, 1, 'C0STAGE');
        w.slack.rateLimit('chat.update', 4, 1, 'C0STAGE');
        return { id, outcome: await w.outcome(id, 75_000), before };
      })();
      throttled.catch(() => undefined);
      storm.catch(() => undefined);
    }, 120_000);

    it('verify-ecr prod through AWS throttling bursts: the SDK absorbs them; one verify worker, launched once, terminated', async () => {
      const { id, outcome, injected, from } = await throttled;
      expect(outcome).toMatch(/Succeeded\*: ECR pulls of `123456789012\.dkr\.ecr\.eu-central-1\.amazonaws\.com\/ci\/base:latest` work at every level/);
      await expectCompleteThread(id, 7);
      // Absorbed by the SDK's retries inside each call: no step failed, no job retry.
      expect(w.replies(id).join('\n')).not.toMatch(/retrying|:x:/);

      const during = w.aws.requests.slice(from);
      expect(w.aws.pendingFaults).toBe(0);
      expect(during.filter((r) => r.injected)).toHaveLength(injected);
      expect(new Set(during.filter((r) => r.injected).map((r) => r.error))).toEqual(new Set(['RequestLimitExceeded', 'ThrottlingException', 'InternalError']));
      // RunInstances was sent three times with one ClientToken: one instance.
      const launches = during.filter((r) => r.action === 'RunInstances' && r.body.includes(id));
      expect(launches).toHaveLength(3);
      expect(new Set(launches.map((r) => r.input.ClientToken)).size).toBe(1);
      const workers = w.aws.launched().filter((i) => i.tags['runner-ops:operation'] === id);
      expect(workers).toHaveLength(1);
      expect(workers[0]?.tags['runner-ops:role']).toBe('verify-worker');
      expect(workers[0]?.launchInput?.MetadataOptions).toMatchObject({ HttpTokens: 'required', HttpPutResponseHopLimit: 2 });
      expect(workers[0]?.state).toBe('terminated');
      // Each level's command sent once, although the first SendCommand was throttled twice.
      expect(w.aws.world.commands.filter((c) => c.comment.includes(id)).map((c) => c.kind)).toEqual(['manager-ecr', 'worker-ready', 'verify-ecr']);
    }, 90_000);

    it('a Slack 429 storm during reregister stage: the operation completes and its thread is complete, in order', async () => {
      const { id, outcome, before } = await storm;
      expect(outcome).toMatch(/Succeeded\*: Reregistered: new runner #\d+ is online; deleted old runner\(s\) #\d+/);
      const limited = w.slack.rateLimited.slice(before);
      expect(limited.filter((r) => r.method === 'chat.postMessage' && r.channel === 'C0STAGE')).toHaveLength(4);
      expect(limited.filter((r) => r.method === 'chat.update' && r.channel === 'C0STAGE')).toHaveLength(4);
      // Every reply arrived once and in order: started/done for each of the six steps, then the end.
      const steps = w.replies(id).map((r) => /^:(?:arrow_forward|white_check_mark): \*Step (\d)\/6\*.*: (started|done)/.exec(r)?.slice(1).join(' ')).filter((x) => x !== undefined);
      expect(steps).toEqual([1, 2, 3, 4, 5, 6].flatMap((k) => [`${k} started`, `${k} done`]));
      await expectCompleteThread(id, 6);
      expect(w.bot.output).not.toContain('slack write failed');
    }, 90_000);
  });
});
