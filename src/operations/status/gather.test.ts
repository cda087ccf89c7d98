import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DescribeInstancesCommand, EC2Client, type DescribeInstancesCommandInput, type Instance as SdkInstance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { ECRClient } from '@aws-sdk/client-ecr';
import { Gitlab } from '@gitbeaker/rest';
import { environmentSchema, type EnvironmentConfig } from '../../config/fleet-schema';
import { closedPortUrl, startGitlabFake, type GitlabFake } from '../../../test/fakes/gitlab-fake';
import type { AwsClients } from '../../adapters/aws/clients';
import type { Runner } from '../../adapters/gitlab/runners';
import { gatherStatus, isRemovableStale, isStale, type StatusDeps } from './gather';
import type { OpenOperationSummary, SpotEventSummary } from './types';

const TOKEN = 'glpat-status-test';
const NOW = new Date('2030-06-15T12:00:00Z');
const DAY = 24 * 3600 * 1000;

const env: EnvironmentConfig = environmentSchema.parse({
  region: 'eu-central-1',
  manager: { instanceType: 't4g.micro', ami: 'ami-0123456789abcdef0', subnetId: 'subnet-0aaa', securityGroupIds: ['sg-0aaa'], instanceProfile: 'mgr' },
  workers: {
    executor: 'docker+machine', instanceTypes: ['c8g.medium'], ami: 'ami-0123456789abcdef0', vpcId: 'vpc-0aaa', subnetId: 'subnet-0bbb',
    zone: 'a', securityGroup: 'gitlab-runner-workers', instanceProfile: 'wrk',
  },
  gitlab: { runnerType: 'group_type', groupId: 42, tags: ['docker'], description: 'prod runner', tokenParameter: '/runner-ops/prod/runner-token', staleAfterDays: 14 },
  ecr: { registries: ['123456789012.dkr.ecr.eu-central-1.amazonaws.com'], verifyImage: '123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest' },
});

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const aws: AwsClients = { ec2: new EC2Client({ region: 'eu-central-1' }), ssm: new SSMClient({ region: 'eu-central-1' }), ecr: new ECRClient({ region: 'eu-central-1' }) };

let fake: GitlabFake;
let gitlab: Gitlab;
beforeAll(async () => {
  fake = await startGitlabFake({ token: TOKEN });
  gitlab = new Gitlab({ host: fake.url, token: TOKEN, queryTimeout: 5000 });
});
afterAll(() => fake.close());
beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});
afterEach(() => {
  fake.assertNoUnexpected();
  fake.reset();
});

const MANAGER_ID = 'i-0123456789abcdef0';
const tagged = (id: string, tags: Record<string, string>): SdkInstance => ({
  InstanceId: id, InstanceType: 't4g.micro', State: { Name: 'running' }, Placement: { AvailabilityZone: 'eu-central-1a' },
  LaunchTime: new Date(NOW.getTime() - 3 * DAY), Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

function roleOf(input: DescribeInstancesCommandInput): string | undefined {
  return input.Filters?.find((f) => f.Name === 'tag:runner-ops:role')?.Values?.[0];
}

function healthyAws(opts: { manager?: boolean } = {}) {
  ec2Mock.on(DescribeInstancesCommand).callsFake((input: DescribeInstancesCommandInput) => {
    if (roleOf(input) === 'manager') {
      return { Reservations: opts.manager === false ? [] : [{ Instances: [tagged(MANAGER_ID, { 'runner-ops:environment': 'prod', 'runner-ops:role': 'manager', 'runner-ops:generation': '3' })] }] };
    }
    if (roleOf(input) === 'worker') {
      return { Reservations: [{ Instances: [tagged('i-0000000000000000a', {}), tagged('i-0000000000000000b', {})] }] };
    }
    throw new Error('unexpected DescribeInstances');
  });
  ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: MANAGER_ID, PingStatus: 'Online', LastPingDateTime: new Date(NOW.getTime() - 60_000) }] });
}

const iso = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
function healthyGitlab() {
  fake.on('GET', '/groups/42/runners', {
    body: [
      { id: 11, description: `prod runner [runner-ops:prod manager:${MANAGER_ID}]`, paused: false, online: true, status: 'online', runner_type: 'group_type' },
      { id: 10, description: 'prod runner [runner-ops:prod manager:i-0aaaaaaaaaaaaaaaa]', paused: false, online: false, status: 'offline', runner_type: 'group_type' },
      { id: 99, description: 'somebody else', paused: false, online: true, status: 'online', runner_type: 'group_type' },
    ],
  });
  fake.on('GET', '/runners/11', { body: { id: 11, description: `prod runner [runner-ops:prod manager:${MANAGER_ID}]`, paused: false, online: true, status: 'online', contacted_at: iso(-30_000), token_expires_at: iso(3 * DAY), tag_list: ['docker'] } });
  fake.on('GET', '/runners/10', { body: { id: 10, description: 'prod runner [runner-ops:prod manager:i-0aaaaaaaaaaaaaaaa]', paused: false, online: false, status: 'offline', contacted_at: iso(-30 * DAY), tag_list: ['docker'] } });
}

const ops: OpenOperationSummary[] = [{ id: 'op-k3x9qa', verb: 'rotate', state: 'running', requester: 'U0ALICE', createdAt: new Date(NOW.getTime() - 120_000) }];
const spot: SpotEventSummary[] = [{ at: new Date(NOW.getTime() - 600_000), instanceId: 'i-0000000000000000c', kind: 'interruption-warning' }];

function deps(over: Partial<StatusDeps> = {}): StatusDeps {
  return { aws, gitlab, now: () => NOW, openOperations: async () => ops, recentSpotEvents: async () => spot, timeoutMs: 3000, ...over };
}

describe('gatherStatus', () => {
  it('reports every source when everything is healthy', async () => {
    healthyAws();
    healthyGitlab();

    const r = await gatherStatus(deps(), 'prod', env);

    expect(r).toMatchObject({ environment: 'prod', region: 'eu-central-1', generatedAt: NOW });
    expect(r.manager).toMatchObject({ state: 'ok', value: { id: MANAGER_ID, generation: 3 } });
    expect(r.ssm).toMatchObject({ state: 'ok', value: { pingStatus: 'Online' } });
    expect(r.workers).toEqual({ state: 'ok', value: 2 });
    expect(r.operations).toEqual({ state: 'ok', value: ops });
    expect(r.spotEvents).toEqual({ state: 'ok', value: spot });
    if (r.runners.state !== 'ok') throw new Error('runners should be ok');
    expect(r.runners.value.map((x) => [x.runner.id, x.stale, x.tokenExpiringSoon, x.tokenExpiresInDays])).toEqual([
      [11, false, true, 3],
      [10, true, false, undefined],
    ]);
    expect(r.runners.value.map((x) => [x.runner.id, x.removable])).toEqual([[11, false], [10, true]]);
    expect(r.runners.value[0]?.runner.contactedAt).toEqual(new Date(iso(-30_000)));
    expect(r.warnings).toEqual([
      expect.stringMatching(/^Runner #11's token expires in 3 day\(s\).*reregister prod/),
      '1 stale runner(s) in GitLab: #10.',
    ]);
    expect(ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, { Filters: [{ Key: 'InstanceIds', Values: [MANAGER_ID] }] });
  });

  it('still answers when GitLab answers 503, and names the failure', async () => {
    healthyAws();
    fake.on('GET', '/groups/42/runners', { status: 503, body: { message: '503 Service Unavailable' } });

    const r = await gatherStatus(deps(), 'prod', env);
    expect(r.runners).toMatchObject({ state: 'failed', code: 'unavailable', message: expect.stringMatching(/^GitLab: .*unavailable \(HTTP 503\)/) });
    expect(r.manager.state).toBe('ok');
    expect(r.workers.state).toBe('ok');
  });

  it('still answers when nothing listens on the GitLab port', async () => {
    healthyAws();
    const down = new Gitlab({ host: await closedPortUrl(), token: TOKEN });

    const r = await gatherStatus(deps({ gitlab: down }), 'prod', env);
    expect(r.runners).toMatchObject({ state: 'failed', code: 'unavailable', message: expect.stringContaining('unavailable (connection refused)') });
    expect(r.ssm.state).toBe('ok');
  });

  it('answers by the deadline when GitLab hangs', async () => {
    healthyAws();
    fake.on('GET', '/groups/42/runners', { body: [], delayMs: 5000 });

    const r = await gatherStatus(deps({ timeoutMs: 300 }), 'prod', env);
    expect(r.runners).toMatchObject({ state: 'failed', code: 'timeout', message: expect.stringContaining('GitLab') });
    expect(r.manager.state).toBe('ok');
  });

  it('marks the AWS parts failed when EC2 throws, and still reports GitLab', async () => {
    ec2Mock.on(DescribeInstancesCommand).rejects(Object.assign(new Error('not authorized'), { name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } }));
    healthyGitlab();

    const r = await gatherStatus(deps(), 'prod', env);

    expect(r.manager).toMatchObject({ state: 'failed', code: 'external', message: expect.stringContaining('EC2 DescribeInstances failed: UnauthorizedOperation') });
    expect(r.ssm).toEqual({ state: 'skipped', reason: 'the manager lookup failed' });
    expect(r.workers.state).toBe('failed');
    expect(r.runners.state).toBe('ok');
    expect(ssmMock).not.toHaveReceivedAnyCommand();
  });

  it('says so when there is no manager, and skips SSM', async () => {
    healthyAws({ manager: false });
    healthyGitlab();

    const r = await gatherStatus(deps(), 'prod', env);

    expect(r.manager).toEqual({ state: 'ok', value: undefined });
    expect(r.ssm).toEqual({ state: 'skipped', reason: 'no manager' });
    expect(r.warnings[0]).toMatch(/^No manager instance is running: `\/runner bootstrap prod`/);
    if (r.runners.state !== 'ok') throw new Error('runners should be ok');
    expect(r.runners.value.every((x) => !x.onOtherManager)).toBe(true);
  });

  it('warns when the manager is not reachable through SSM and a runner names an old manager', async () => {
    healthyAws();
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    fake.on('GET', '/groups/42/runners', { body: [{ id: 12, description: 'x [runner-ops:prod manager:i-0aaaaaaaaaaaaaaaa]', online: true, status: 'online' }] });
    fake.on('GET', '/runners/12', { body: { id: 12, description: 'x [runner-ops:prod manager:i-0aaaaaaaaaaaaaaaa]', online: true, status: 'online', contacted_at: iso(-5000) } });

    const r = await gatherStatus(deps(), 'prod', env);

    expect(r.ssm).toMatchObject({ state: 'ok', value: { pingStatus: 'unknown' } });
    expect(r.warnings).toEqual([
      expect.stringContaining(`Manager ${MANAGER_ID} is not registered with SSM`),
      expect.stringContaining(`name another manager than the current one (${MANAGER_ID})`),
    ]);
  });

  it('skips GitLab without a token and contains failures of the operation store', async () => {
    healthyAws();
    const r = await gatherStatus(deps({ gitlab: undefined, openOperations: () => Promise.reject(new Error('redis down: secret-ish detail')) }), 'prod', env);

    expect(r.runners).toEqual({ state: 'skipped', reason: 'GITLAB_TOKEN is not set' });
    expect(r.operations).toMatchObject({ state: 'failed', code: 'internal', message: 'Operations: internal error (see the bot logs)' });
    expect(r.spotEvents.state).toBe('ok');
  });
});

describe('isStale', () => {
  const base: Runner = { id: 1, description: '', status: 'offline', paused: false, runnerType: 'group_type', environment: 'prod', managerId: undefined, tags: [] };
  it.each<[string, Partial<Runner>, boolean]>([
    ['online', { status: 'online', contactedAt: new Date(NOW.getTime() - 100 * DAY) }, false],
    ['stale in GitLab', { status: 'stale' }, true],
    ['offline 15 days', { contactedAt: new Date(NOW.getTime() - 15 * DAY) }, true],
    ['offline 13 days', { contactedAt: new Date(NOW.getTime() - 13 * DAY) }, false],
    ['never contacted, created 20 days ago', { status: 'never_contacted', createdAt: new Date(NOW.getTime() - 20 * DAY) }, true],
    ['never contacted, created today', { status: 'never_contacted', createdAt: new Date(NOW.getTime() - 3600_000) }, false],
    ['offline, no dates', {}, false],
  ])('%s -> %s', (_name, over, expected) => {
    expect(isStale({ ...base, ...over }, NOW, 14)).toBe(expected);
  });
});

describe('isRemovableStale (what the stale-runner clean-up may delete)', () => {
  const base: Runner = { id: 1, description: '', status: 'offline', paused: false, runnerType: 'group_type', environment: 'prod', managerId: 'i-0aaaaaaaaaaaaaaa1', tags: [] };
  const old = new Date(NOW.getTime() - 30 * DAY);
  it.each<[string, Partial<Runner>, string | undefined, boolean]>([
    ['stale in GitLab', { status: 'stale' }, undefined, true],
    ['offline 30 days, another manager', { contactedAt: old }, 'i-0bbbbbbbbbbbbbbb2', true],
    ['offline 30 days, the current manager\'s', { contactedAt: old }, 'i-0aaaaaaaaaaaaaaa1', false],
    ['stale in GitLab, the current manager\'s', { status: 'stale' }, 'i-0aaaaaaaaaaaaaaa1', false],
    ['unmarked runner, offline 30 days', { contactedAt: old, managerId: undefined }, 'i-0aaaaaaaaaaaaaaa1', true],
    ['online, whatever its dates', { status: 'online', contactedAt: old, createdAt: old }, undefined, false],
    ['offline 13 days', { contactedAt: new Date(NOW.getTime() - 13 * DAY) }, undefined, false],
  ])('%s -> %s', (_name, over, current, expected) => {
    expect(isRemovableStale({ ...base, ...over }, NOW, 14, current)).toBe(expected);
  });
});
