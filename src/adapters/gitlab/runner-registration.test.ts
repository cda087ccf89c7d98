import { inspect } from 'node:util';
import { Gitlab } from '@gitbeaker/rest';
import { SimulatedClock } from '../../domain/clock';
import { RunnerOpsError, isRetryable } from '../../domain/errors';
import { Secret } from '../../domain/secret';
import { startGitlabFake, type GitlabFake } from '../../../test/fakes/gitlab-fake';
import { createRunner, deleteRunner, waitForRunnerOnline, withGitlabRetry, type RunnerRegistrationConfig } from './runner-registration';

const TOKEN = 'glpat-test-token';
const RUNNER_TOKEN = 'glrt-t1_SuperSecretRunnerToken123';
const MANAGER = 'i-0abc12345def67890';
let fake: GitlabFake;
let gitlab: Gitlab;

beforeAll(async () => {
  fake = await startGitlabFake({ token: TOKEN });
  gitlab = new Gitlab({ host: fake.url, token: TOKEN, queryTimeout: 5000 });
});
afterEach(() => {
  fake.assertNoUnexpected();
  fake.reset();
});
afterAll(() => fake.close());

const groupCfg: RunnerRegistrationConfig = {
  runnerType: 'group_type', groupId: 42, tags: ['docker', 'aws', 'arm64'], runUntagged: false, description: 'prod autoscaling runner',
};
const created = { id: 77, token: RUNNER_TOKEN, token_expires_at: '2030-03-01T00:00:00.000Z' };

function details(id: number, status: string) {
  return { id, description: `prod autoscaling runner [runner-ops:prod manager:${MANAGER}]`, paused: false, runner_type: 'group_type', online: status === 'online', status, contacted_at: null, tag_list: ['docker'] };
}

/** The rejection, checked to be a RunnerOpsError that does not carry the runner token anywhere. */
async function expectError(p: Promise<unknown>): Promise<RunnerOpsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RunnerOpsError);
    const e = err as RunnerOpsError;
    expect(e.message).not.toContain(RUNNER_TOKEN);
    expect(e.detail ?? '').not.toContain(RUNNER_TOKEN);
    expect(inspect(e, { depth: 8 })).not.toContain(RUNNER_TOKEN);
    return e;
  }
  throw new Error('expected a rejection');
}

describe('createRunner', () => {
  it('POSTs /user/runners with the scope, marker, tags and run_untagged and returns the id and a Secret', async () => {
    fake.on('POST', '/user/runners', { status: 201, body: created });

    const runner = await createRunner(gitlab, 'prod', groupCfg, MANAGER);

    expect(runner.id).toBe(77);
    expect(runner.token).toBeInstanceOf(Secret);
    expect(runner.token.reveal()).toBe(RUNNER_TOKEN);
    expect(runner.tokenExpiresAt).toEqual(new Date('2030-03-01T00:00:00.000Z'));
    expect(JSON.stringify(runner)).not.toContain(RUNNER_TOKEN);
    expect(String(runner.token)).not.toContain(RUNNER_TOKEN);
    expect(inspect(runner)).not.toContain(RUNNER_TOKEN);

    const [req] = fake.requests;
    expect(req?.method).toBe('POST');
    expect(JSON.parse(req?.body ?? '{}')).toEqual({
      runner_type: 'group_type',
      group_id: 42,
      description: `prod autoscaling runner [runner-ops:prod manager:${MANAGER}]`,
      tag_list: ['docker', 'aws', 'arm64'],
      run_untagged: false,
      paused: false,
    });
  });

  it('sends project_id for project runners and maximum_timeout when configured', async () => {
    fake.on('POST', '/user/runners', { status: 201, body: { ...created, token_expires_at: null } });
    const runner = await createRunner(gitlab, 'prod', { ...groupCfg, runnerType: 'project_type', groupId: undefined, projectId: 7, maximumTimeout: 3600 }, MANAGER);
    expect(runner.tokenExpiresAt).toBeUndefined();
    expect(JSON.parse(fake.requests[0]?.body ?? '{}')).toMatchObject({ runner_type: 'project_type', project_id: 7, maximum_timeout: 3600 });
    expect(JSON.parse(fake.requests[0]?.body ?? '{}')).not.toHaveProperty('group_id');
  });

  it('refuses a group runner without gitlab.groupId before calling GitLab', async () => {
    const err = await expectError(createRunner(gitlab, 'prod', { ...groupCfg, groupId: undefined }, MANAGER));
    expect(err.code).toBe('config_invalid');
    expect(fake.requests).toHaveLength(0);
  });

  it('401: the token is invalid or expired', async () => {
    const bad = new Gitlab({ host: fake.url, token: 'glpat-wrong' });
    const err = await expectError(createRunner(bad, 'prod', groupCfg, MANAGER));
    expect(err.message).toMatch(/GITLAB_TOKEN is invalid, expired or revoked/);
    expect(err.message).not.toContain('glpat-wrong');
  });

  it('403 names the create_runner scope and the role', async () => {
    fake.on('POST', '/user/runners', { status: 403, body: { message: '403 Forbidden' } });
    const err = await expectError(createRunner(gitlab, 'prod', groupCfg, MANAGER));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/the `create_runner` scope/);
    expect(err.message).toMatch(/Owner role in group 42/);
    expect(isRetryable(err)).toBe(false);
  });

  it('404 names gitlab.groupId', async () => {
    fake.on('POST', '/user/runners', { status: 404, body: { message: '404 Group Not Found' } });
    const err = await expectError(createRunner(gitlab, 'prod', groupCfg, MANAGER));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/group 42 was not found.*gitlab\.groupId/);
  });

  it('an answer whose token is not a glrt- token is refused without echoing it', async () => {
    fake.on('POST', '/user/runners', { status: 201, body: { id: 78, token: `x${RUNNER_TOKEN}` } });
    const err = await expectError(createRunner(gitlab, 'prod', groupCfg, MANAGER));
    expect(err.message).toMatch(/unexpected shape at token; runner #78 may have been created/);
    expect(inspect(err, { depth: 8 })).not.toContain(`x${RUNNER_TOKEN}`);
  });

  it('a 503 burst is retried by withGitlabRetry with backoff on the clock', async () => {
    let calls = 0;
    fake.on('POST', '/user/runners', () => {
      calls += 1;
      return calls <= 2 ? { status: 503, body: { message: 'maintenance' } } : { status: 201, body: created };
    });
    const clock = new SimulatedClock(0);
    const runner = await withGitlabRetry(() => createRunner(gitlab, 'prod', groupCfg, MANAGER), { clock });
    expect(runner.id).toBe(77);
    expect(fake.requests).toHaveLength(3);
    expect(clock.now()).toBe(1_000 + 2_000);
  });

  it('a 400 is not retried', async () => {
    fake.on('POST', '/user/runners', { status: 400, body: { message: { tag_list: ['is invalid'] } } });
    const clock = new SimulatedClock(0);
    const err = await expectError(withGitlabRetry(() => createRunner(gitlab, 'prod', groupCfg, MANAGER), { clock }));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/HTTP 400.*tag_list/);
    expect(fake.requests).toHaveLength(1);
    expect(clock.now()).toBe(0);
  });
});

describe('withGitlabRetry', () => {
  it('gives up after the attempts and throws the last error', async () => {
    const clock = new SimulatedClock(0);
    let calls = 0;
    const err = await expectError(withGitlabRetry(async () => { calls += 1; throw new RunnerOpsError('throttled', `t${calls}`); }, { clock, attempts: 3, baseDelayMs: 100 }));
    expect(err.message).toBe('t3');
    expect(clock.now()).toBe(100 + 200);
  });

  it('passes a non-RunnerOpsError through at once', async () => {
    const clock = new SimulatedClock(0);
    await expect(withGitlabRetry(async () => { throw new Error('bug'); }, { clock })).rejects.toThrow('bug');
    expect(clock.now()).toBe(0);
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort('cancelled');
    const err = await expectError(withGitlabRetry(async () => 1, { clock: new SimulatedClock(0), signal: controller.signal }));
    expect(err.code).toBe('cancelled');
  });
});

describe('deleteRunner', () => {
  it('DELETEs /runners/:id and answers true on 204', async () => {
    fake.on('DELETE', '/runners/77', { status: 204 });
    expect(await deleteRunner(gitlab, 77)).toBe(true);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['DELETE /runners/77']);
  });

  it('answers false when the runner is already gone (404)', async () => {
    fake.on('DELETE', '/runners/77', { status: 404, body: { message: '404 Not found' } });
    expect(await deleteRunner(gitlab, 77)).toBe(false);
  });

  it('403 names the manage_runner scope', async () => {
    fake.on('DELETE', '/runners/77', { status: 403, body: { message: '403 Forbidden' } });
    const err = await expectError(deleteRunner(gitlab, 77));
    expect(err.message).toMatch(/the `manage_runner` scope/);
  });
});

describe('waitForRunnerOnline', () => {
  it('polls from never_contacted to online and returns the runner', async () => {
    const statuses = ['never_contacted', 'never_contacted', 'online'];
    fake.on('GET', '/runners/77', () => ({ body: details(77, statuses.shift() ?? 'online') }));
    const clock = new SimulatedClock(0);
    const runner = await waitForRunnerOnline(gitlab, 77, { clock, timeoutMs: 10 * 60_000 });
    expect(runner).toMatchObject({ id: 77, status: 'online', environment: 'prod', managerId: MANAGER });
    expect(fake.requests).toHaveLength(3);
    expect(clock.now()).toBe(5_000 + 7_500);
  });

  it('tolerates a 503 during the wait', async () => {
    const answers = [{ status: 503, body: { message: 'down' } }, { body: details(77, 'online') }];
    fake.on('GET', '/runners/77', () => answers.shift() ?? { body: details(77, 'online') });
    const runner = await waitForRunnerOnline(gitlab, 77, { clock: new SimulatedClock(0), timeoutMs: 60_000 });
    expect(runner.status).toBe('online');
  });

  it('times out with the runner, the minutes, the last status and a hint', async () => {
    fake.on('GET', '/runners/77', { body: details(77, 'never_contacted') });
    const clock = new SimulatedClock(0);
    const err = await expectError(waitForRunnerOnline(gitlab, 77, { clock, timeoutMs: 2 * 60_000 }));
    expect(err.code).toBe('timeout');
    expect(err.message).toMatch(/^runner #77 did not come online in GitLab within 2 min \(last status: never_contacted\)/);
    expect(err.message).toMatch(/gitlab-runner verify/);
    expect(err.message).toMatch(/GITLAB_URL/);
    expect(clock.now()).toBe(2 * 60_000);
  });

  it('a 404 during the wait means the runner was deleted', async () => {
    const answers = [{ body: details(77, 'never_contacted') }, { status: 404, body: { message: '404 Not found' } }];
    fake.on('GET', '/runners/77', () => answers.shift() ?? { status: 404, body: {} });
    const err = await expectError(waitForRunnerOnline(gitlab, 77, { clock: new SimulatedClock(0), timeoutMs: 60_000 }));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/runner 77 was deleted while waiting/);
  });
});
