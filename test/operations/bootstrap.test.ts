/**
 * `/runner bootstrap` end to end: an empty environment, a healthy one, crash safety (a lost
 * RunInstances answer, a restart during an SSM wait), a failure injected at every step, a failed
 * command's redacted output, cancellation, and where the runner token may (not) go.
 */
import { RunInstancesCommand, type RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { CancelCommandCommand, GetCommandInvocationCommand, PutParameterCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import 'aws-sdk-client-mock-jest';
import { awsError } from '../fakes/aws-world';
import { deletePrefix } from '../support/redis';
import { waitUntil } from '../support/test-operations';
import { startManagerHarness, type ManagerHarness } from './manager-harness';

const PARAM = '/runner-ops/stage/runner-token';

describe('bootstrap', () => {
  let m: ManagerHarness;
  beforeAll(async () => { m = await startManagerHarness('bootstrap'); });
  afterEach(() => { m.resetWorlds(); });
  afterAll(async () => {
    await m.stop();
    await deletePrefix(m.h.prefix);
  });

  /** Every secret-bearing thing the operation touched, except the PutParameter call itself. */
  async function everywhereButPutParameter(): Promise<string> {
    const sends = m.aws.ssm.commandCalls(SendCommandCommand).map((c) => JSON.stringify(c.args[0].input));
    const ec2 = m.aws.ec2.calls().map((c) => JSON.stringify(c.args[0].input));
    const ssmOther = m.aws.ssm.calls().filter((c) => !(c.args[0] instanceof PutParameterCommand) && !(c.args[0].input as { WithDecryption?: boolean }).WithDecryption)
      .map((c) => JSON.stringify(c.args[0].input));
    return [...sends, ...ec2, ...ssmOther, m.everythingSlackSaw(), await m.everythingInRedis(), ...m.logs].join('\n');
  }

  it('bootstraps an empty environment: one manager, one runner, four SSM phases, online', async () => {
    const id = await m.request('bootstrap stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Succeeded.*launched manager `i-[0-9a-f]+`, created runner #\d+/);

    const managers = m.aws.live('manager');
    expect(managers).toHaveLength(1);
    const mgr = managers[0];
    expect(mgr?.tags).toMatchObject({ ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'manager', 'runner-ops:operation': id, 'runner-ops:generation': '1' });
    const launch = m.aws.ec2.commandCalls(RunInstancesCommand)[0]?.args[0].input as RunInstancesCommandInput;
    expect(launch.MetadataOptions?.HttpTokens).toBe('required');
    expect(launch.InstanceMarketOptions).toBeUndefined();
    expect(launch.ClientToken).toContain(id);

    const sends = m.aws.commands;
    expect(sends.map((c) => c.kind)).toEqual(['phase-host', 'phase-tools', 'phase-keypair', 'phase-runner']);
    for (const c of sends) {
      expect(c.script.startsWith('#!/bin/bash\n')).toBe(true);
      expect(c.input.DocumentName).toBe('AWS-RunShellScript');
    }
    // InvocationDoesNotExist came first for every command and was tolerated.
    expect(m.aws.ssm.commandCalls(GetCommandInvocationCommand).length).toBeGreaterThan(sends.length * 2);

    const [runner] = m.gitlab.created;
    expect(runner?.status).toBe('online');
    expect(runner?.description).toBe(`stage runner [runner-ops:stage manager:${mgr?.id ?? ''}]`);
    expect(m.aws.parameterValue(PARAM)).toBe(runner?.token);
    const put = m.aws.ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Name: PARAM, Type: 'SecureString' });

    // The token went to PutParameter and nowhere else.
    expect(await everywhereButPutParameter()).not.toContain(runner?.token ?? 'x');
    expect(m.thread(id).join('\n')).toContain('Step 9/9');
  });

  it('bootstrapping a healthy environment changes nothing and says so', async () => {
    const first = await m.request('bootstrap stage');
    await m.outcome(first);
    const launches = m.aws.ec2.commandCalls(RunInstancesCommand).length;
    const created = m.gitlab.created.length;
    const second = await m.request('bootstrap stage');
    expect(await m.outcome(second)).toMatch(/Nothing changed: manager `i-[0-9a-f]+` already matched the fleet file and runner #\d+ is online/);
    expect(m.aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(launches);
    expect(m.gitlab.created).toHaveLength(created);
    expect(m.aws.live('manager')).toHaveLength(1);
  });

  it('a RunInstances whose answer was lost is retried with the same ClientToken and launches nothing more', async () => {
    // EC2 launched the instance, then the answer failed (a retryable 503): the step is retried.
    m.aws.fault('ec2:RunInstances:after', awsError('ServiceUnavailable', 'Service Unavailable', 503));
    const id = await m.request('bootstrap stage');
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    const calls = m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => (c.args[0].input as RunInstancesCommandInput).ClientToken);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(calls).size).toBe(1);
    expect(m.aws.live('manager')).toHaveLength(1);
  });

  it('a process that stops after RunInstances and before the checkpoint: the resumed job gets the same instance', async () => {
    let stopping: Promise<void> | undefined;
    m.aws.afterRunInstances = async () => {
      // The instance exists; the bot goes down before the answer reaches the checkpoint.
      stopping = m.h.stop();
      await new Promise((r) => setTimeout(r, 500));
      throw awsError('RequestAborted', 'connection closed while the bot was stopping', 500);
    };
    const id = await m.request('bootstrap stage');
    await waitUntil(() => stopping !== undefined, 10_000, 'RunInstances');
    await stopping;
    expect(m.aws.live('manager')).toHaveLength(1);
    await m.restart();
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    const tokens = m.aws.ec2.commandCalls(RunInstancesCommand).map((c) => (c.args[0].input as RunInstancesCommandInput).ClientToken);
    expect(tokens).toHaveLength(2);
    expect(new Set(tokens).size).toBe(1);
    expect(m.aws.instances.size).toBe(1);
    expect(m.thread(id).join('\n')).toContain('Resuming from the last checkpoint');
  });

  it('a restart during an SSM wait re-attaches to the same CommandId', async () => {
    m.aws.commandPolls = 1e9; // commands run "forever" until released
    const id = await m.request('bootstrap stage');
    await waitUntil(() => m.aws.commands.length === 1, 10_000, 'the first phase to be sent');
    const commandId = m.aws.commands[0]?.id;
    await m.h.stop(); // SIGTERM: the job pauses at its checkpoint
    m.aws.commandPolls = 2;
    await m.restart();
    expect(await m.outcome(id)).toMatch(/Succeeded/);
    expect(m.aws.commands.filter((c) => c.kind === 'phase-host')).toHaveLength(1);
    const polled = new Set(m.aws.ssm.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input.CommandId));
    expect(polled).toContain(commandId);
    expect(m.aws.ssm.commandCalls(CancelCommandCommand)).toHaveLength(0);
    expect(m.thread(id).join('\n')).toContain('Resuming from the last checkpoint');
  });

  it('a failed command shows its redacted output tail and the launched manager is removed', async () => {
    m.aws.fault('command:phase-tools');
    const id = await m.request('bootstrap stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed.*bootstrap phase tools failed on i-[0-9a-f]+/);
    const thread = m.thread(id).join('\n');
    expect(thread).toContain('[redacted]');
    expect(thread).not.toContain('glrt-LEAKED');
    expect(thread).toMatch(/Undone:[\s\S]*terminated manager/);
    expect(m.aws.live('manager')).toHaveLength(0);
    expect(m.gitlab.runners.size).toBe(0);
    expect(m.aws.parameters.has(PARAM)).toBe(false);
  });

  const faults: [string, (mh: ManagerHarness) => void][] = [
    ['RunInstances refused', (mh) => { mh.aws.fault('ec2:RunInstances', awsError('UnauthorizedOperation', 'You are not authorized', 403)); }],
    ['runner creation refused (403)', (mh) => { mh.gitlab.failNext('POST', /^\/user\/runners$/, 403); }],
    ['PutParameter refused', (mh) => { mh.aws.fault('ssm:PutParameter', awsError('AccessDeniedException', 'not allowed: ssm:PutParameter', 400)); }],
    ['SendCommand refused', (mh) => { mh.aws.fault('ssm:SendCommand', awsError('AccessDeniedException', 'not allowed: ssm:SendCommand', 400)); }],
    ['phase host fails', (mh) => { mh.aws.fault('command:phase-host'); }],
    ['phase keypair fails', (mh) => { mh.aws.fault('command:phase-keypair'); }],
    ['phase runner fails', (mh) => { mh.aws.fault('command:phase-runner'); }],
    ['the runner never comes online', (mh) => { mh.gitlab.neverComesOnline = true; }],
  ];

  it.each(faults)('%s: nothing is left behind and the thread says what happened', async (_name, inject) => {
    inject(m);
    const id = await m.request('bootstrap stage');
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Failed/);
    expect(m.aws.live()).toHaveLength(0);
    expect(m.gitlab.runners.size).toBe(0);
    expect(m.aws.keyPairs.size).toBe(0);
    expect(m.aws.parameters.has(PARAM)).toBe(false);
    const thread = m.thread(id).join('\n');
    expect(thread).toMatch(/:x: \*Step \d+\/9\*/);
    // Every instance that was launched was terminated through the API.
    for (const launched of m.aws.instances.values()) expect(launched.state).toMatch(/terminated|shutting-down/);
    m.gitlab.neverComesOnline = false;
  });

  it('on a manager that existed, a failed new runner is undone and config.toml rendered from the previous token', async () => {
    const mgr = m.aws.addInstance({ tags: { ManagedBy: 'runner-ops', 'runner-ops:environment': 'stage', 'runner-ops:role': 'manager', 'runner-ops:operation': 'op-old001', 'runner-ops:generation': '1' }, configured: new Set(['host', 'tools', 'keypair', 'runner']) });
    // The parameter holds the token of a runner someone deleted in GitLab: bootstrap makes a new one.
    m.aws.parameters.set(PARAM, { values: ['glrt-of-a-deleted-runner-000'], tags: {} });
    mgr.configuredToken = 'glrt-of-a-deleted-runner-000';
    m.gitlab.neverComesOnline = true;
    const id = await m.request('bootstrap stage');
    expect(await m.outcome(id)).toMatch(/Failed.*did not come online/);
    expect(mgr.state).toBe('running');
    expect(m.gitlab.runners.size).toBe(0);
    expect(m.aws.parameterValue(PARAM)).toBe('glrt-of-a-deleted-runner-000');
    expect(mgr.configuredToken).toBe('glrt-of-a-deleted-runner-000');
    expect(m.aws.commands.map((c) => c.kind)).toEqual(['phase-host', 'phase-tools', 'phase-keypair', 'phase-runner', 'phase-runner']);
    expect(m.thread(id).join('\n')).toMatch(/rendered config.toml on `i-[0-9a-f]+` from the previous token again/);
  });

  it('cancel during an SSM wait sends CancelCommand and cleans up', async () => {
    m.aws.commandPolls = 1e9;
    const id = await m.request('bootstrap stage');
    await waitUntil(() => m.aws.commands.length === 1, 10_000, 'the first phase to be sent');
    await m.request(`cancel ${id}`).catch(() => undefined); // the answer names the id too
    const outcome = await m.outcome(id);
    expect(outcome).toMatch(/Cancelled/);
    expect(m.aws.ssm).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: m.aws.commands[0]?.id });
    expect(m.aws.live()).toHaveLength(0);
    expect(m.gitlab.runners.size).toBe(0);
    expect(m.aws.parameters.has(PARAM)).toBe(false);
  });

  it('--dry-run answers with the plan, the phase scripts and config.toml, and changes nothing', async () => {
    const responseId = `dry-${Math.random()}`;
    await m.h.command('bootstrap stage --dry-run', 'U0ALICE', { responseId });
    await m.h.slack.waitFor((f) => f.responses.filter((r) => r.id === responseId).length >= 2, 10_000, 'plan answers');
    await new Promise((r) => setTimeout(r, 200));
    const text = JSON.stringify(m.h.slack.responses.filter((r) => r.id === responseId).map((r) => r.body));
    expect(text).toContain('Launch an on-demand `t4g.micro` manager (generation 1)');
    expect(text).toContain('manager-bootstrap-host.sh');
    expect(text).toContain('config.toml');
    expect(m.aws.ec2.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(m.aws.ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(m.gitlab.created).toHaveLength(0);
  });
});
