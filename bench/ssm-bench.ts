/**
 * SSM polling cost of one bootstrap phase, on a SimulatedClock against aws-sdk-client-mock (no
 * AWS, no real waiting): the instance's agent comes Online 20 s after launch, the command answers
 * InvocationDoesNotExist for its first 1.5 s, runs 90 s, then succeeds. Figures: how long after
 * the command's end runScript saw it, and how many SSM calls the waits made (API quota and
 * throttling are what the backoff trades against detection latency).
 */
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeInstanceInformationCommand, GetCommandInvocationCommand, InvocationDoesNotExist, SendCommandCommand, SSMClient,
} from '@aws-sdk/client-ssm';
import { SimulatedClock } from '../src/domain/clock';
import { runScript, waitForSsmOnline } from '../src/adapters/aws/ssm-commands';

export interface SsmBenchResult {
  commandSeconds: number;
  detectedAfterSeconds: number;
  getCommandInvocationCalls: number;
  describeInstanceInformationCalls: number;
  sendCommandCalls: number;
}

const INSTANCE = 'i-0be0c0ffee0000001';
const COMMAND = '5f0c2b9e-bench-4000-8000-000000000001';
const ONLINE_AFTER_MS = 20_000;
const COMMAND_MS = 90_000;
const UNKNOWN_FOR_MS = 1_500;

export async function benchSsmPolling(): Promise<SsmBenchResult> {
  const mock = mockClient(SSMClient);
  const ssm = new SSMClient({ region: 'eu-central-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const clock = new SimulatedClock(0);
  const launchedAt = clock.now();
  let sentAt: number | undefined;
  try {
    mock.on(DescribeInstanceInformationCommand).callsFake(async () => ({
      InstanceInformationList: clock.now() - launchedAt < ONLINE_AFTER_MS ? [] : [{ InstanceId: INSTANCE, PingStatus: 'Online' }],
    }));
    mock.on(SendCommandCommand).callsFake(async () => { sentAt = clock.now(); return { Command: { CommandId: COMMAND } }; });
    mock.on(GetCommandInvocationCommand).callsFake(async () => {
      const elapsed = clock.now() - (sentAt ?? Number.POSITIVE_INFINITY);
      if (!(elapsed >= UNKNOWN_FOR_MS)) throw new InvocationDoesNotExist({ message: 'bench', $metadata: { httpStatusCode: 400 } });
      const done = elapsed >= COMMAND_MS;
      return { CommandId: COMMAND, InstanceId: INSTANCE, Status: done ? 'Success' : 'InProgress', StatusDetails: done ? 'Success' : 'InProgress', ResponseCode: done ? 0 : -1, StandardOutputContent: done ? '{"phase":"host","ok":true}\n' : '' };
    });

    await waitForSsmOnline(ssm, INSTANCE, { clock, timeoutMs: 600_000 });
    const result = await runScript(ssm, {
      instanceId: INSTANCE, script: '#!/bin/bash\nset -euo pipefail\necho \'{"phase":"host","ok":true}\'\n',
      comment: 'runner-ops op-bench bootstrap phase host', executionTimeoutSeconds: 1_800,
    }, { clock, saved: undefined, save: async () => undefined });
    if (!result.ok || sentAt === undefined) throw new Error(`bench command did not succeed: ${result.reason}`);

    return {
      commandSeconds: COMMAND_MS / 1000,
      detectedAfterSeconds: (clock.now() - (sentAt + COMMAND_MS)) / 1000,
      getCommandInvocationCalls: mock.commandCalls(GetCommandInvocationCommand).length,
      describeInstanceInformationCalls: mock.commandCalls(DescribeInstanceInformationCommand).length,
      sendCommandCalls: mock.commandCalls(SendCommandCommand).length,
    };
  } finally {
    mock.restore();
  }
}
