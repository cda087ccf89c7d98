import { Gitlab } from '@gitbeaker/rest';
import { inspect } from 'node:util';
import { RunnerOpsError, isRetryable } from '../../domain/errors';
import { closedPortUrl, paged, startGitlabFake, type GitlabFake } from '../../../test/fakes/gitlab-fake';
import { isEnvironmentRunner, listEnvironmentRunners, listScopeRunners, parseRunnerDescription, runnerDescription, showRunner } from './runners';

const TOKEN = 'glpat-test-token';
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

const group = { runnerType: 'group_type' as const, groupId: 42 };

function listed(id: number, description: string, status = 'online') {
  return { id, description, paused: false, is_shared: false, runner_type: 'group_type', online: status === 'online', status, ip_address: '' };
}
function details(id: number, description: string, extra: Record<string, unknown> = {}) {
  return { ...listed(id, description), contacted_at: '2030-01-01T10:00:00.000Z', tag_list: ['docker', 'aws'], version: '18.5.0', ...extra };
}

async function expectError(p: Promise<unknown>): Promise<RunnerOpsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(RunnerOpsError);
    return err as RunnerOpsError;
  }
  throw new Error('expected a rejection');
}

describe('runner descriptions', () => {
  it('names the environment and, when known, the manager', () => {
    expect(runnerDescription('prod', { description: 'prod autoscaling runner' }, 'i-0abc12345')).toBe('prod autoscaling runner [runner-ops:prod manager:i-0abc12345]');
    expect(runnerDescription('prod', { description: 'x' })).toBe('x [runner-ops:prod]');
  });

  it.each([
    ['prod autoscaling runner [runner-ops:prod manager:i-0abc12345]', 'prod', true],
    ['x [runner-ops:prod]', 'prod', true],
    ['x [runner-ops:prod-eu]', 'prod', false],
    ['x [runner-ops:prod] trailing', 'prod', false],
    ['someone else [runner-ops:staging]', 'prod', false],
    ['plain runner', 'prod', false],
  ])('%s belongs to %s: %s', (desc, env, yes) => {
    expect(isEnvironmentRunner(desc, env)).toBe(yes);
  });

  it('round-trips through the parser', () => {
    expect(parseRunnerDescription(runnerDescription('a-1', { description: 'd' }, 'i-0123456789abcdef0'))).toEqual({ environment: 'a-1', managerId: 'i-0123456789abcdef0' });
  });
});

describe('listEnvironmentRunners', () => {
  it('lists the group scope (not /runners/all), keeps only this environment and fetches details', async () => {
    fake.on('GET', '/groups/42/runners', {
      body: [listed(1, 'prod runner [runner-ops:prod manager:i-0abc12345]'), listed(2, 'other [runner-ops:staging]'), listed(3, 'hand-made')],
    });
    fake.on('GET', '/runners/1', { body: details(1, 'prod runner [runner-ops:prod manager:i-0abc12345]', { token_expires_at: '2030-02-01T00:00:00Z' }) });

    const runners = await listEnvironmentRunners(gitlab, 'prod', group);

    expect(runners).toHaveLength(1);
    expect(runners[0]).toMatchObject({
      id: 1, status: 'online', paused: false, environment: 'prod', managerId: 'i-0abc12345', tags: ['docker', 'aws'],
      contactedAt: new Date('2030-01-01T10:00:00.000Z'), tokenExpiresAt: new Date('2030-02-01T00:00:00Z'),
    });
    const list = fake.requests.find((r) => r.path === '/groups/42/runners');
    expect(list?.query.get('type')).toBe('group_type');
  });

  it('follows pagination', async () => {
    const items = Array.from({ length: 130 }, (_, i) => listed(i + 1, i === 120 ? 'late [runner-ops:prod]' : `r${i}`));
    fake.on('GET', '/groups/42/runners', paged(fake.url, items));
    fake.on('GET', '/runners/121', { body: details(121, 'late [runner-ops:prod]') });

    const runners = await listEnvironmentRunners(gitlab, 'prod', group);

    expect(runners.map((r) => r.id)).toEqual([121]);
    expect(fake.requests.filter((r) => r.path === '/groups/42/runners').map((r) => r.query.get('page') ?? '1')).toEqual(['1', '2']);
  });

  it('uses the project endpoint for project runners and /runners/all for instance runners', async () => {
    fake.on('GET', '/projects/7/runners', { body: [] });
    fake.on('GET', '/runners/all', { body: [] });
    await listEnvironmentRunners(gitlab, 'prod', { runnerType: 'project_type', projectId: 7 });
    await listEnvironmentRunners(gitlab, 'prod', { runnerType: 'instance_type' });
    expect(fake.requests.map((r) => `${r.path}?type=${r.query.get('type') ?? ''}`)).toEqual([
      '/projects/7/runners?type=project_type',
      '/runners/all?type=instance_type',
    ]);
  });

  it('leaves out a runner deleted between list and details', async () => {
    fake.on('GET', '/groups/42/runners', { body: [listed(1, 'a [runner-ops:prod]'), listed(2, 'b [runner-ops:prod]')] });
    fake.on('GET', '/runners/1', { status: 404, body: { message: '404 Not found' } });
    fake.on('GET', '/runners/2', { body: details(2, 'b [runner-ops:prod]') });
    expect((await listEnvironmentRunners(gitlab, 'prod', group)).map((r) => r.id)).toEqual([2]);
  });

  it('maps legacy statuses and missing fields', async () => {
    fake.on('GET', '/groups/42/runners', { body: [{ id: 5, description: null, active: false, online: false, status: 'paused' }] });
    const [r] = await listScopeRunners(gitlab, group);
    expect(r).toMatchObject({ id: 5, description: '', status: 'offline', paused: true, tags: [] });
    expect(r?.contactedAt).toBeUndefined();
  });
});

describe('GitLab errors become actionable RunnerOpsErrors', () => {
  it('401: the token is invalid or expired', async () => {
    const bad = new Gitlab({ host: fake.url, token: 'glpat-wrong' });
    const err = await expectError(listScopeRunners(bad, group));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/GITLAB_TOKEN is invalid, expired or revoked/);
    expect(err.message).not.toContain('glpat-wrong');
  });

  it('403 names the scopes', async () => {
    fake.on('GET', '/groups/42/runners', { status: 403, body: { message: '403 Forbidden' } });
    const err = await expectError(listScopeRunners(gitlab, group));
    expect(err.message).toMatch(/`manage_runner` or `read_api` scope/);
    expect(isRetryable(err)).toBe(false);
    // gitbeaker's error carries the request headers; the mapped error must not.
    expect(inspect(err, { depth: 10, showHidden: true })).not.toContain(TOKEN);
    expect((err.cause as { status?: number }).status).toBe(403);
  });

  it('404 on the scope: the group id is wrong', async () => {
    fake.on('GET', '/groups/42/runners', { status: 404, body: { message: '404 Group Not Found' } });
    const err = await expectError(listScopeRunners(gitlab, group));
    expect(err.code).toBe('not_found');
    expect(err.message).toMatch(/group 42 was not found.*gitlab\.groupId/);
  });

  it('404 on a runner', async () => {
    fake.on('GET', '/runners/9', { status: 404, body: { message: '404 Not found' } });
    expect((await expectError(showRunner(gitlab, 9))).code).toBe('not_found');
  });

  it('503 is unavailable and retryable', async () => {
    fake.on('GET', '/groups/42/runners', { status: 503, body: { message: 'maintenance' } });
    const err = await expectError(listScopeRunners(gitlab, group));
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/HTTP 503/);
    expect(isRetryable(err)).toBe(true);
  });

  it('429 after gitbeaker gives up retrying is throttled (retryable)', async () => {
    fake.on('GET', '/groups/42/runners', { status: 429, body: { message: 'slow down' } });
    const err = await expectError(listScopeRunners(gitlab, group));
    expect(err.code).toBe('throttled');
    expect(isRetryable(err)).toBe(true);
    expect(fake.requests.length).toBe(10); // gitbeaker's own retries
  });

  it('connection refused is unavailable and says so', async () => {
    const down = new Gitlab({ host: await closedPortUrl(), token: TOKEN });
    const err = await expectError(listScopeRunners(down, group));
    expect(err.code).toBe('unavailable');
    expect(err.message).toMatch(/connection refused/);
  });

  it('a hung GitLab is cut off by the call timeout', async () => {
    fake.on('GET', '/groups/42/runners', { body: [], delayMs: 2000 });
    const err = await expectError(listScopeRunners(gitlab, group, { timeoutMs: 200 }));
    expect(err.code).toBe('timeout');
  });

  it('an unexpected answer shape is reported, not passed on', async () => {
    fake.on('GET', '/groups/42/runners', { body: [{ id: 'not-a-number' }] });
    const err = await expectError(listScopeRunners(gitlab, group));
    expect(err.code).toBe('external');
    expect(err.message).toMatch(/unexpected shape at 0\.id/);
  });
});
