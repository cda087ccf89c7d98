/**
 * The alert buttons through the whole bot (startBot): signed interactive requests into Bolt, the
 * Spot alerts consuming the local SQS, GitLab over HTTP. Acknowledge edits the root and records
 * who; Rotate starts `rotate` under the environment's normal rules; the affected-jobs reply lists
 * the jobs whose log names the machine, and Retry retries one through the GitLab API, once.
 */
import { createAwsClientFactory } from '../../src/adapters/aws/clients';
import { startGitlabFake, type GitlabFake } from '../fakes/gitlab-fake';
import { SlackFake, type SlackCall } from '../fakes/slack-fake';
import { SqsFake } from '../fakes/sqs-fake';
import { SpotWorld, eventBody } from '../fakes/spot-world';
import { startHarness, type Harness } from '../support/bot-harness';
import { deletePrefix } from '../support/redis';
import { scriptedOperation, waitUntil, type StepRun } from '../support/test-operations';
import { FAST_TIMINGS, alertsFleetYaml } from './alerts-harness';

const TOKEN = 'glpat-alerts-test';

describe('Spot alert buttons', () => {
  const ec2 = new SpotWorld();
  const runs: StepRun[] = [];
  let sqs: SqsFake;
  let gitlab: GitlabFake;
  let h: Harness;
  let queueUrl: string;
  let scopes: string[] = ['api', 'read_api', 'create_runner', 'manage_runner'];

  beforeAll(async () => {
    sqs = await new SqsFake().start();
    gitlab = await startGitlabFake({ token: TOKEN });
    queueUrl = sqs.queueUrl();
    const factory = createAwsClientFactory({ baseCredentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } });
    h = await startHarness({
      name: 'alert-buttons',
      fleetYaml: alertsFleetYaml(queueUrl),
      register: (r) => r.register(scriptedOperation({ runs, verb: 'rotate' })),
      env: { GITLAB_URL: gitlab.url, GITLAB_TOKEN: TOKEN },
      botOptions: { aws: factory, sqs: factory, alertTimings: FAST_TIMINGS, alertConsumer: { minBackoffMs: 10, maxBackoffMs: 50 } },
    });
  });
  beforeEach(() => {
    gitlab.reset();
    gitlab.on('GET', '/personal_access_tokens/self', () => ({ body: { id: 1, name: 'bot', scopes } }));
  });
  afterEach(() => { gitlab.assertNoUnexpected(); });
  afterAll(async () => {
    await h.stop();
    await deletePrefix(h.prefix);
    await sqs.stop();
    await gitlab.close();
    ec2.restore();
  });

  const roots = () => h.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined);
  const rootOf = (needle: string) => roots().find((c) => SlackFake.textOf(c).includes(needle));
  const answer = async (id: string): Promise<string> => {
    await h.slack.waitFor((f) => f.responses.some((r) => r.id === id), 5_000, `answer ${id}`);
    return String(h.slack.responses.find((r) => r.id === id)?.body.text);
  };

  it('acknowledges a critical manager alert once, recording who, and edits its root', async () => {
    const manager = ec2.add({ role: 'manager', type: 't4g.micro' });
    gitlab.on('GET', '/groups/42/runners', { body: [] });
    sqs.send(queueUrl, eventBody('state', manager.id, { state: 'shutting-down' }));
    await h.slack.waitFor(() => rootOf(manager.id) !== undefined, 5_000, 'the manager alert');
    const root = rootOf(manager.id) as SlackCall;
    const ts = h.slack.tsOfCall(root) ?? '';
    expect(SlackFake.textOf(root)).toContain('Critical');

    await h.click('runner_ack_alert', manager.id, 'U0BOB', { responseId: 'ack-1' });
    expect(await answer('ack-1')).toContain('Acknowledged');
    await h.slack.waitFor((f) => f.callsOf('chat.update').some((c) => c.args.ts === ts && SlackFake.textOf(c).includes('Acknowledged by <@U0BOB>')), 5_000, 'the edited root');
    const edit = h.slack.callsOf('chat.update').filter((c) => c.args.ts === ts).at(-1) as SlackCall;
    const buttons = JSON.stringify(edit.args.blocks);
    expect(buttons).toContain('runner_rotate_manager');
    expect(buttons).not.toContain('runner_ack_alert');

    await h.click('runner_ack_alert', manager.id, 'U0ALICE', { responseId: 'ack-2', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('ack-2')).toContain('already acknowledged by <@U0BOB>');
    await h.click('runner_ack_alert', manager.id, 'U0MALLORY', { responseId: 'ack-3', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('ack-3')).toContain('Only operators');
  });

  it('starts a rotate from the alert under the normal approval rules', async () => {
    await h.click('runner_rotate_manager', 'prod', 'U0ALICE', { responseId: 'rot-1', channelId: 'C0PROD', messageTs: '1.1' });
    const text = await answer('rot-1');
    expect(text).toMatch(/Requested `rotate` on \*prod\* as `op-[0-9a-z]{6}`/);
    expect(roots().some((c) => SlackFake.textOf(c).includes('rotate') && c.args.channel === 'C0PROD' && JSON.stringify(c.args.blocks).includes('runner_approve'))).toBe(true);
    expect(runs).toHaveLength(0); // waits for an approver

    await h.click('runner_rotate_manager', 'prod', 'U0MALLORY', { responseId: 'rot-2', channelId: 'C0PROD', messageTs: '1.1' });
    expect(await answer('rot-2')).toContain('not an operator');
  });

  it('links the jobs whose log names the interrupted worker and retries one through GitLab', async () => {
    const worker = ec2.add({ name: 'runner-abcd1234-prod-1700000000-5b9e8a1c' });
    gitlab.on('GET', '/groups/42/runners', { body: [{ id: 7, description: 'prod runner [runner-ops:prod manager:i-0000000000000aaaa]', status: 'online', runner_type: 'group_type' }] });
    gitlab.on('GET', '/runners/7/jobs', (req) => ({
      body: req.query.get('status') === 'running' ? [
        { id: 901, name: 'build', status: 'running', web_url: 'https://gitlab.example.com/team/app/-/jobs/901', project: { id: 55, path_with_namespace: 'team/app' } },
        { id: 902, name: 'test', status: 'running', web_url: 'https://gitlab.example.com/team/app/-/jobs/902', project: { id: 55, path_with_namespace: 'team/app' } },
      ] : [],
    }));
    gitlab.on('GET', '/projects/55/jobs/901/trace', { body: `Preparing the "docker+machine" executor\nRunning on runner-x-project-55-concurrent-0 via ${worker.tags.Name ?? ''}...\n` });
    gitlab.on('GET', '/projects/55/jobs/902/trace', { body: 'Running on runner-x-project-55-concurrent-1 via runner-abcd1234-prod-other...\n' });
    gitlab.on('POST', '/projects/55/jobs/901/retry', { status: 201, body: { id: 950, status: 'pending', web_url: 'https://gitlab.example.com/team/app/-/jobs/950' } });

    sqs.send(queueUrl, eventBody('interruption', worker.id));
    await h.slack.waitFor(() => rootOf(worker.id) !== undefined, 5_000, 'the worker alert');
    const ts = h.slack.tsOfCall(rootOf(worker.id) as SlackCall) ?? '';
    await h.slack.waitFor((f) => f.callsOf('chat.postMessage').some((c) => c.args.thread_ts === ts && SlackFake.textOf(c).includes('Affected CI jobs')), 5_000, 'the jobs reply');
    const reply = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === ts && SlackFake.textOf(c).includes('Affected CI jobs')) as SlackCall;
    const text = SlackFake.textOf(reply);
    expect(text).toContain('team/app · build #901');
    expect(text).not.toContain('#902');
    expect(JSON.stringify(reply.args.blocks)).toContain('"value":"55:901"');

    await h.click('runner_retry_job', '55:901', 'U0ALICE', { responseId: 'retry-1', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('retry-1')).toContain('Retried job #901: the new job is <https://gitlab.example.com/team/app/-/jobs/950|#950>');
    await h.click('runner_retry_job', '55:901', 'U0BOB', { responseId: 'retry-2', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('retry-2')).toContain('already retried');
    await h.click('runner_retry_job', '55:902', 'U0BOB', { responseId: 'retry-3', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('retry-3')).toContain('not listed in a current alert');
    await h.click('runner_retry_job', 'garbage', 'U0BOB', { responseId: 'retry-4', channelId: 'C0PROD', messageTs: ts });
    expect(await answer('retry-4')).toContain('does not name a CI job');
    expect(gitlab.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('shows the environment\'s recent Spot events in status', async () => {
    gitlab.on('GET', '/groups/42/runners', { body: [] });
    await h.command('status prod', 'U0ALICE', { responseId: 'status-1' });
    const text = JSON.stringify(await (async () => {
      await h.slack.waitFor((f) => f.responses.some((r) => r.id === 'status-1'), 10_000, 'the status answer');
      return h.slack.responses.find((r) => r.id === 'status-1')?.body;
    })());
    expect(text).toContain('Recent Spot events');
    expect(text).toMatch(/interruption-warning/);
    expect(text).toMatch(/state-change \(shutting-down\)/);
  });

  it('says what it could not show when the token lacks read_api', async () => {
    scopes = ['create_runner', 'manage_runner'];
    const worker = ec2.add();
    sqs.send(queueUrl, eventBody('interruption', worker.id));
    await h.slack.waitFor(() => rootOf(worker.id) !== undefined, 5_000, 'the worker alert');
    const ts = h.slack.tsOfCall(rootOf(worker.id) as SlackCall) ?? '';
    await waitUntil(() => h.slack.callsOf('chat.postMessage').some((c) => c.args.thread_ts === ts && SlackFake.textOf(c).includes('Affected CI jobs')), 5_000, 'the jobs reply');
    const reply = h.slack.callsOf('chat.postMessage').find((c) => c.args.thread_ts === ts && SlackFake.textOf(c).includes('Affected CI jobs')) as SlackCall;
    expect(SlackFake.textOf(reply)).toContain('lacks the `read_api` scope');
  });
});
