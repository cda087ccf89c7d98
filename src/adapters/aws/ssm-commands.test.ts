import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  CancelCommandCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, InvalidInstanceId, InvocationDoesNotExist,
  SendCommandCommand, SSMClient, type GetCommandInvocationCommandOutput,
} from '@aws-sdk/client-ssm';
import { SimulatedClock } from '../../domain/clock';
import { RunnerOpsError } from '../../domain/errors';
import {
  SCRIPT_MAX_BYTES, cancelCommand, commandFailed, runScript, sendScript, waitForCommand, waitForSsmOnline, type CommandResult, type ScriptSpec,
} from './ssm-commands';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-central-1' });
beforeEach(() => ssmMock.reset());

const ID = 'i-0123456789abcdef0';
const CMD = '0b7c9f2e-1111-2222-3333-444455556666';
const SCRIPT = '#!/bin/bash\nset -euo pipefail\necho "::phase host done"\n';
const spec = (extra: Partial<ScriptSpec> = {}): ScriptSpec => ({ instanceId: ID, script: SCRIPT, comment: 'runner-ops op-k3x9qa bootstrap phase host', executionTimeoutSeconds: 1800, ...extra });
const notYet = () => new InvocationDoesNotExist({ message: 'not yet', $metadata: { httpStatusCode: 400 } });
const invocation = (Status: string, extra: Partial<GetCommandInvocationCommandOutput> = {}): GetCommandInvocationCommandOutput =>
  ({ $metadata: {}, CommandId: CMD, InstanceId: ID, Status: Status as GetCommandInvocationCommandOutput['Status'], StatusDetails: Status, ...extra });
const noSave = { saved: undefined, save: async () => undefined };

describe('waitForSsmOnline', () => {
  it('polls until Online, through unknown and ConnectionLost', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'ConnectionLost' }] })
      .resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'Online' }] });
    await waitForSsmOnline(ssm, ID, { clock, timeoutMs: 300_000 });
    expect(ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 3);
    expect(clock.now()).toBe(2_000 + 3_000);
  });

  it('times out naming the instance, the last status and what to check', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'ConnectionLost' }] });
    const err = await waitForSsmOnline(ssm, ID, { clock, timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerOpsError);
    expect(err).toMatchObject({ code: 'timeout' });
    expect((err as Error).message).toEqual(expect.stringContaining(ID));
    expect((err as Error).message).toMatch(/ConnectionLost.*AmazonSSMManagedInstanceCore.*SSM endpoints/);
    expect(clock.now()).toBe(120_000);
  });
});

describe('sendScript', () => {
  it('sends AWS-RunShellScript with the script, timeouts, comment and output bucket', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    const id = await sendScript(ssm, spec({ outputBucket: 'ops-logs', outputKeyPrefix: 'runner-ops/prod', comment: 'x'.repeat(150) }));
    expect(id).toBe(CMD);
    expect(ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'AWS-RunShellScript',
      InstanceIds: [ID],
      Parameters: { commands: [SCRIPT], executionTimeout: ['1800'] },
      TimeoutSeconds: 600,
      Comment: 'x'.repeat(100),
      OutputS3BucketName: 'ops-logs',
      OutputS3KeyPrefix: 'runner-ops/prod',
    });
  });

  it('leaves the output bucket out when none is configured', async () => {
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    await sendScript(ssm, spec({ deliveryTimeoutSeconds: 120 }));
    const input = ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ TimeoutSeconds: 120 });
    expect(input).not.toHaveProperty('OutputS3BucketName');
  });

  it.each([
    ['no shebang', 'set -e\necho hi\n'],
    ['a sh shebang', '#!/bin/sh\necho hi\n'],
    ['a look-alike shebang', '#!/bin/bashful\necho hi\n'],
    ['a shebang after a blank line', '\n#!/bin/bash\necho hi\n'],
  ])('refuses a script with %s', async (_name, script) => {
    await expect(sendScript(ssm, spec({ script }))).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('#!/bin/bash') });
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });

  it('refuses a script over the SendCommand document size limit', async () => {
    const script = `#!/bin/bash\n${'echo 0123456789abcdef\n'.repeat(Math.ceil(SCRIPT_MAX_BYTES / 20))}`;
    await expect(sendScript(ssm, spec({ script }))).rejects.toMatchObject({ code: 'internal', message: expect.stringContaining('64 KB') });
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });

  it('maps InvalidInstanceId to unavailable and other errors through fromAwsError', async () => {
    ssmMock.on(SendCommandCommand).rejectsOnce(new InvalidInstanceId({ message: 'Instances not in a valid state', $metadata: { httpStatusCode: 400 } }));
    await expect(sendScript(ssm, spec())).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining(ID) });
    ssmMock.on(SendCommandCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    await expect(sendScript(ssm, spec())).rejects.toMatchObject({ code: 'external', message: expect.stringContaining('SSM SendCommand failed: AccessDeniedException') });
  });
});

describe('waitForCommand', () => {
  it('tolerates InvocationDoesNotExist, keeps polling while InProgress, returns on Success', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand)
      .rejectsOnce(notYet())
      .resolvesOnce(invocation('InProgress'))
      .resolves(invocation('Success', { ResponseCode: 0, StandardOutputContent: '{"ok":true}\n' }));
    const r = await waitForCommand(ssm, CMD, ID, { clock, deadline: 600_000 });
    expect(r).toMatchObject({ commandId: CMD, instanceId: ID, status: 'Success', ok: true, exitCode: 0, stdout: '{"ok":true}\n', truncated: false });
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 3);
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: CMD, InstanceId: ID });
  });

  it('fails external when the command stays unknown long after it was sent', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand).rejects(notYet());
    await expect(waitForCommand(ssm, CMD, ID, { clock, deadline: 3_600_000 }))
      .rejects.toMatchObject({ code: 'external', message: expect.stringContaining('InvocationDoesNotExist') });
    expect(clock.now()).toBeGreaterThan(120_000);
    expect(clock.now()).toBeLessThanOrEqual(125_000);
  });

  it('gives up at the deadline with a timeout error', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('InProgress'));
    await expect(waitForCommand(ssm, CMD, ID, { clock, deadline: 30_000 }))
      .rejects.toMatchObject({ code: 'timeout', message: expect.stringMatching(new RegExp(`${CMD} on ${ID}.*last status: InProgress`)) });
    expect(clock.now()).toBe(30_000);
  });

  it.each([
    ['Success', 'Success', 'Success', 0, /succeeded/],
    ['Failed', 'Failed', 'Failed', 2, /exited with an error/],
    ['Failed', 'Failed', 'Failed', -1, /failed before the script ran/],
    ['Cancelled', 'Cancelled', 'Cancelled', -1, /cancelled/],
    ['TimedOut', 'TimedOut', 'TimedOut', -1, /timed out/],
    ['TimedOut', 'ExecutionTimedOut', 'ExecutionTimedOut', -1, /did not finish within 1800 s \(ExecutionTimedOut\)/],
    ['TimedOut', 'Execution Timed Out', 'ExecutionTimedOut', -1, /ExecutionTimedOut/],
    ['TimedOut', 'DeliveryTimedOut', 'DeliveryTimedOut', -1, /did not pick the command up within 600 s/],
    ['Failed', 'Undeliverable', 'Undeliverable', -1, /could not deliver/],
    ['Failed', 'Terminated', 'Terminated', -1, /Terminated/],
    ['Failed', 'InvalidPlatform', 'InvalidPlatform', -1, /platform/],
    ['Failed', 'AccessDenied', 'AccessDenied', -1, /denied/],
  ] as const)('maps Status %s / StatusDetails %s to %s (ResponseCode %d)', async (Status, StatusDetails, expected, ResponseCode, reason) => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation(Status, { StatusDetails, ResponseCode }));
    const r = await waitForCommand(ssm, CMD, ID, { clock, deadline: 60_000, executionTimeoutSeconds: 1800, deliveryTimeoutSeconds: 600 });
    expect(r).toMatchObject({ status: expected, ok: expected === 'Success', exitCode: ResponseCode === -1 ? undefined : ResponseCode });
    expect(r.reason).toMatch(reason);
  });

  it.each(['Pending', 'Delayed', 'Cancelling'])('keeps polling while %s', async (status) => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand).resolvesOnce(invocation(status)).resolves(invocation('Cancelled'));
    expect((await waitForCommand(ssm, CMD, ID, { clock, deadline: 60_000 })).status).toBe('Cancelled');
    expect(ssmMock).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 2);
  });

  it('marks truncated output and builds the S3 location when SSM returns no URL', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('Success', { ResponseCode: 0, StandardOutputContent: 'x'.repeat(24_000) }));
    const r = await waitForCommand(ssm, CMD, ID, { clock, deadline: 60_000, outputBucket: 'ops-logs', outputKeyPrefix: 'runner-ops/prod/' });
    expect(r.truncated).toBe(true);
    expect(r.outputUrl).toBe(`https://s3.console.aws.amazon.com/s3/buckets/ops-logs?prefix=${encodeURIComponent(`runner-ops/prod/${CMD}/${ID}/`)}`);
  });
});

describe('commandFailed', () => {
  it('names what failed, the instance, the reason and exit code; the detail is a redacted tail', async () => {
    const clock = new SimulatedClock(0);
    const stderr = Array.from({ length: 60 }, (_, i) => `apt noise line ${i}`).join('\n');
    const stdout = '::phase host start\nregistered runner with token glrt-Abc123def456GHI789jkl\n::phase host failed\n';
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('Failed', { ResponseCode: 3, StandardOutputContent: stdout, StandardErrorContent: stderr, StandardOutputUrl: 'https://s3.eu-central-1.amazonaws.com/ops-logs/x/stdout' }));
    const r = await waitForCommand(ssm, CMD, ID, { clock, deadline: 60_000 });
    const err = commandFailed('bootstrap phase host', r);
    expect(err).toMatchObject({ code: 'external', message: `bootstrap phase host failed on ${ID}: the script exited with an error (exit 3)` });
    expect(err.detail).not.toContain('glrt-Abc123');
    expect(err.detail).toContain('[redacted]');
    expect(err.detail).toContain('apt noise line 59');
    expect(err.detail).not.toContain('apt noise line 10\n');
    expect(err.detail).toContain('::phase host failed');
    expect(err.detail).toContain('full output: https://s3.eu-central-1.amazonaws.com/ops-logs/x/stdout');
  });

  it('is a timeout error for the timed-out statuses', () => {
    const base: CommandResult = { commandId: CMD, instanceId: ID, status: 'ExecutionTimedOut', ok: false, exitCode: undefined, stdout: '', stderr: '', truncated: false, reason: 'the command did not finish within 1800 s (ExecutionTimedOut)' };
    const err = commandFailed('bootstrap', base);
    expect(err.code).toBe('timeout');
    expect(err.message).toBe(`bootstrap failed on ${ID}: the command did not finish within 1800 s (ExecutionTimedOut)`);
    expect(err.detail).toBeUndefined();
  });
});

describe('runScript', () => {
  it('saves the CommandId after sending and before the first poll', async () => {
    const clock = new SimulatedClock(0);
    const events: string[] = [];
    ssmMock.on(SendCommandCommand).callsFake(async () => { events.push('send'); return { Command: { CommandId: CMD } }; });
    ssmMock.on(GetCommandInvocationCommand).callsFake(async () => { events.push('get'); return invocation('Success', { ResponseCode: 0 }); });
    const saved: unknown[] = [];
    const r = await runScript(ssm, spec(), { clock, saved: undefined, save: async (s) => { events.push('save'); saved.push(s); } });
    expect(r.ok).toBe(true);
    expect(events).toEqual(['send', 'save', 'get']);
    expect(saved).toEqual([{ commandId: CMD, instanceId: ID, sentAt: 0 }]);
  });

  it('re-attaches to a saved command without sending again', async () => {
    const clock = new SimulatedClock(50_000);
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('Success', { CommandId: 'saved-cmd', ResponseCode: 0 }));
    const save = jest.fn(async () => undefined);
    const r = await runScript(ssm, spec(), { clock, saved: { commandId: 'saved-cmd', instanceId: ID, sentAt: 40_000 }, save });
    expect(r).toMatchObject({ commandId: 'saved-cmd', ok: true });
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 0);
    expect(ssmMock).toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: 'saved-cmd', InstanceId: ID });
    expect(save).not.toHaveBeenCalled();
  });

  it('sends anew when the checkpoint names another instance', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('Success', { ResponseCode: 0 }));
    await runScript(ssm, spec(), { clock, saved: { commandId: 'old', instanceId: 'i-0ffffffffffffffff', sentAt: 0 }, save: async () => undefined });
    expect(ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssmMock).not.toHaveReceivedCommandWith(GetCommandInvocationCommand, { CommandId: 'old' });
  });

  it('sends CancelCommand and rethrows the cancelled error when the signal aborts', async () => {
    const clock = new SimulatedClock(0);
    const controller = new AbortController();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    let calls = 0;
    ssmMock.on(GetCommandInvocationCommand).callsFake(async () => {
      calls += 1;
      if (calls === 3) controller.abort('cancelled by U0ALICE');
      return invocation('InProgress');
    });
    ssmMock.on(CancelCommandCommand).resolves({});
    const err = await runScript(ssm, spec(), { clock, signal: controller.signal, ...noSave }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerOpsError);
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(ssmMock).toHaveReceivedCommandWith(CancelCommandCommand, { CommandId: CMD, InstanceIds: [ID] });
  });

  it('leaves the command running when the process shuts down, for the resumed job to re-attach', async () => {
    const clock = new SimulatedClock(0);
    const controller = new AbortController();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    let calls = 0;
    ssmMock.on(GetCommandInvocationCommand).callsFake(async () => {
      calls += 1;
      if (calls === 2) controller.abort('shutdown');
      return invocation('InProgress');
    });
    ssmMock.on(CancelCommandCommand).resolves({});
    const err = await runScript(ssm, spec(), { clock, signal: controller.signal, ...noSave }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(ssmMock).not.toHaveReceivedCommand(CancelCommandCommand);
  });

  it('times out at sentAt + execution + delivery timeouts + 60 s and cancels the command', async () => {
    const clock = new SimulatedClock(0);
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: CMD } });
    ssmMock.on(GetCommandInvocationCommand).resolves(invocation('InProgress'));
    ssmMock.on(CancelCommandCommand).resolves({});
    await expect(runScript(ssm, spec({ executionTimeoutSeconds: 60, deliveryTimeoutSeconds: 30 }), { clock, ...noSave })).rejects.toMatchObject({ code: 'timeout' });
    expect(clock.now()).toBe(150_000);
    expect(ssmMock).toHaveReceivedCommandTimes(CancelCommandCommand, 1);
  });

  it('detects a 90 s command within 5 s of its end with at most 30 GetCommandInvocation calls', async () => {
    const clock = new SimulatedClock(0);
    let sentAt = 0;
    ssmMock.on(SendCommandCommand).callsFake(async () => { sentAt = clock.now(); return { Command: { CommandId: CMD } }; });
    ssmMock.on(GetCommandInvocationCommand).callsFake(async () => {
      const elapsed = clock.now() - sentAt;
      if (elapsed < 1_500) throw notYet();
      return elapsed < 90_000 ? invocation('InProgress') : invocation('Success', { ResponseCode: 0 });
    });
    const r = await runScript(ssm, spec(), { clock, ...noSave });
    expect(r.ok).toBe(true);
    const after = clock.now() - (sentAt + 90_000);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThanOrEqual(5_000);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand).length).toBeLessThanOrEqual(30);
  });
});

describe('cancelCommand', () => {
  it('returns true on success and false instead of throwing', async () => {
    ssmMock.on(CancelCommandCommand).resolvesOnce({}).rejects(Object.assign(new Error('gone'), { name: 'InvalidCommandId' }));
    expect(await cancelCommand(ssm, CMD, ID)).toBe(true);
    expect(await cancelCommand(ssm, CMD, ID)).toBe(false);
  });
});
