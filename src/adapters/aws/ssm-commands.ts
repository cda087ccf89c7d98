/**
 * SSM Run Command executor (DESIGN §2): wait for the agent, send one bash script with
 * AWS-RunShellScript, poll its invocation with our own loop (the SDK waiter hides a failed
 * command's output in an error message), cancel, and re-attach after a restart.
 *
 * Idempotency: SendCommand has no idempotency token, so sending is the one non-repeatable step.
 * `runScript` saves the CommandId before its first poll and, on resume, only polls. Everything
 * else here (DescribeInstanceInformation, GetCommandInvocation, CancelCommand) is read-only or
 * harmless to repeat.
 */
import {
  CancelCommandCommand, GetCommandInvocationCommand, SendCommandCommand, type GetCommandInvocationCommandOutput, type SSMClient,
} from '@aws-sdk/client-ssm';
import { abortError, type Clock } from '../../domain/clock';
import { RunnerOpsError, isRetryable, isRunnerOpsError } from '../../domain/errors';
import { pollUntil } from '../../domain/poll';
import { redact, tail } from '../../domain/redact';
import { awsErrorCode, fromAwsError } from './errors';
import { getSsmInstanceInfo, type PingStatus } from './ssm-ping';

export interface WaitOptions { clock: Clock; signal?: AbortSignal; timeoutMs: number; initialDelayMs?: number; maxDelayMs?: number }

export interface ScriptSpec {
  instanceId: string;
  /** A complete bash script; MUST start with '#!/bin/bash' (AWS-RunShellScript runs `sh`, dash on Ubuntu). */
  script: string;
  /** SendCommand Comment, truncated to SSM's 100 characters. */
  comment: string;
  executionTimeoutSeconds: number;
  /** SendCommand TimeoutSeconds (delivery timeout). Default 600. */
  deliveryTimeoutSeconds?: number;
  outputBucket?: string;
  outputKeyPrefix?: string;
}

export type CommandStatus = 'Success' | 'Failed' | 'Cancelled' | 'TimedOut' | 'DeliveryTimedOut' | 'ExecutionTimedOut' | 'Undeliverable' | 'Terminated' | 'InvalidPlatform' | 'AccessDenied';
export interface CommandResult {
  commandId: string;
  instanceId: string;
  status: CommandStatus;
  ok: boolean;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  truncated: boolean;
  outputUrl?: string;
  reason: string;
}

export interface SendOptions { signal?: AbortSignal }

export interface PollCommandOptions {
  clock: Clock; signal?: AbortSignal;
  /** absolute clock time */
  deadline: number;
  initialDelayMs?: number; maxDelayMs?: number;
  /** When the command was sent (clock time); bounds how long InvocationDoesNotExist is tolerated. Default: now. */
  sentAt?: number;
  /** For the reason texts of ExecutionTimedOut / DeliveryTimedOut. */
  executionTimeoutSeconds?: number; deliveryTimeoutSeconds?: number;
  /** To build outputUrl when SSM does not return StandardOutputUrl. */
  outputBucket?: string; outputKeyPrefix?: string;
}

export interface RunScriptOptions {
  clock: Clock;
  signal?: AbortSignal;
  saved: { commandId: string; instanceId: string; sentAt: number } | undefined;
  save(state: { commandId: string; instanceId: string; sentAt: number }): Promise<void>;
  /** Default: sentAt + (executionTimeoutSeconds + deliveryTimeoutSeconds) * 1000 + 60 s. */
  deadline?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

export const DOCUMENT_NAME = 'AWS-RunShellScript';
const DEFAULT_DELIVERY_TIMEOUT_S = 600;
const COMMENT_MAX = 100; // SendCommand Comment: "Maximum length of 100" (API reference)
const STDOUT_LIMIT = 24_000; // GetCommandInvocation StandardOutputContent: "the first 24,000 characters"
const STDERR_LIMIT = 8_000; // StandardErrorContent: "the first 8,000 characters"
// The agent appends these markers when it cuts output (amazon-ssm-agent, agent/contracts).
const TRUNCATION_MARKER = /---(?:Output|Error) truncated-+/;
/**
 * SendCommand's size limit: it fails with MaxDocumentSizeExceeded, "The size limit of a document is
 * 64 KB" (SSM API reference, errors of SendCommand), and per CreateDocument's `Content` the 64 KB
 * "also includes the content specified for input parameters at runtime". So the script, as it
 * travels (JSON-escaped), plus AWS-RunShellScript's own content (~1.5 KB) must stay under
 * 64 KB. We keep 4 KB for the document and count KB as 1,000 bytes to stay on the safe side.
 */
export const SCRIPT_MAX_BYTES = 64_000 - 4_000;
/** ExecutionTimeout of AWS-RunShellScript: 1 s to 48 h; SendCommand TimeoutSeconds: 30 s to 30 days. */
const EXECUTION_TIMEOUT_RANGE = [1, 172_800] as const;
const DELIVERY_TIMEOUT_RANGE = [30, 2_592_000] as const;
/** InvocationDoesNotExist right after SendCommand is normal (eventual consistency); 2 min later it is not. */
export const UNKNOWN_COMMAND_GRACE_MS = 120_000;
/** The SDK already retried each call (adaptive mode); tolerate this many more failed polls in a row. */
const TRANSIENT_POLL_ERRORS = 3;

const NON_TERMINAL = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);
const STATUSES: readonly CommandStatus[] = ['Success', 'Failed', 'Cancelled', 'TimedOut', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied'];
const TIMEOUT_STATUSES = new Set<CommandStatus>(['TimedOut', 'ExecutionTimedOut', 'DeliveryTimedOut']);

/** Runs `check`; a retryable error counts towards `budget` and yields undefined (poll again); an abort is a cancel. */
function tolerant<T>(signal: AbortSignal | undefined, check: () => Promise<T | undefined>): () => Promise<T | undefined> {
  let failures = 0;
  return async () => {
    try {
      const value = await check();
      failures = 0;
      return value;
    } catch (err) {
      if (signal?.aborted === true) throw abortError(signal);
      failures += 1;
      if (isRetryable(err) && failures <= TRANSIENT_POLL_ERRORS) return undefined;
      throw err;
    }
  };
}

export async function waitForSsmOnline(ssm: SSMClient, instanceId: string, opts: WaitOptions): Promise<void> {
  let last: PingStatus = 'unknown';
  const started = opts.clock.now();
  const check = tolerant(opts.signal, async () => {
    last = (await getSsmInstanceInfo(ssm, instanceId, { abortSignal: opts.signal })).pingStatus;
    return last === 'Online' ? true : undefined;
  });
  try {
    // 2 s then up to 15 s: a fresh instance registers in ~20-90 s; finer polling only burns API quota.
    await pollUntil(check, {
      clock: opts.clock, signal: opts.signal, deadline: started + opts.timeoutMs,
      initialDelayMs: opts.initialDelayMs ?? 2_000, maxDelayMs: opts.maxDelayMs ?? 15_000, label: `the SSM agent on ${instanceId} to come online`,
    });
  } catch (err) {
    if (!isRunnerOpsError(err) || err.code !== 'timeout') throw err;
    const seconds = Math.round((opts.clock.now() - started) / 1000);
    throw new RunnerOpsError('timeout',
      `the SSM agent on ${instanceId} did not come online within ${seconds} s (last PingStatus: ${last}); check that its instance profile has AmazonSSMManagedInstanceCore and that it can reach the SSM endpoints (ssm, ssmmessages, ec2messages: a NAT/internet route or VPC endpoints)`,
      { cause: err });
  }
}

export async function sendScript(ssm: SSMClient, spec: ScriptSpec, opts: SendOptions = {}): Promise<string> {
  if (!/^#!\/bin\/bash(?:[ \t]|\r?\n|$)/.test(spec.script)) {
    throw new RunnerOpsError('internal', `script for ${spec.instanceId} does not start with '#!/bin/bash' (AWS-RunShellScript runs it with sh, which is dash on Ubuntu)`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(spec.script), 'utf8');
  if (bytes > SCRIPT_MAX_BYTES) {
    throw new RunnerOpsError('internal', `script for ${spec.instanceId} is ${bytes} bytes JSON-encoded; SendCommand allows 64 KB for the document and its parameters (kept to ${SCRIPT_MAX_BYTES} bytes): split it into phases or ship the payload another way`);
  }
  const delivery = spec.deliveryTimeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_S;
  const inRange = (n: number, [lo, hi]: readonly [number, number]) => Number.isInteger(n) && n >= lo && n <= hi;
  if (!inRange(spec.executionTimeoutSeconds, EXECUTION_TIMEOUT_RANGE) || !inRange(delivery, DELIVERY_TIMEOUT_RANGE)) {
    throw new RunnerOpsError('internal', `invalid SSM timeouts for ${spec.instanceId}: execution ${spec.executionTimeoutSeconds} s (1-172800), delivery ${delivery} s (30-2592000)`);
  }
  let out;
  try {
    out = await ssm.send(new SendCommandCommand({
      DocumentName: DOCUMENT_NAME,
      InstanceIds: [spec.instanceId],
      Parameters: { commands: [spec.script], executionTimeout: [String(spec.executionTimeoutSeconds)] },
      TimeoutSeconds: delivery,
      Comment: spec.comment.slice(0, COMMENT_MAX),
      ...(spec.outputBucket !== undefined ? { OutputS3BucketName: spec.outputBucket } : {}),
      ...(spec.outputBucket !== undefined && spec.outputKeyPrefix !== undefined ? { OutputS3KeyPrefix: spec.outputKeyPrefix } : {}),
    }), { abortSignal: opts.signal });
  } catch (err) {
    if (awsErrorCode(err) === 'InvalidInstanceId') {
      throw new RunnerOpsError('unavailable', `SSM cannot reach ${spec.instanceId} yet (InvalidInstanceId): its agent is not Online, or the instance is not running`, { cause: err });
    }
    throw fromAwsError(err, 'SSM', 'SendCommand');
  }
  const id = out.Command?.CommandId;
  if (id === undefined || id === '') throw new RunnerOpsError('external', `SSM SendCommand for ${spec.instanceId} returned no CommandId`);
  return id;
}

function toStatus(status: string | undefined, details: string | undefined): CommandStatus | undefined {
  if (status === undefined || NON_TERMINAL.has(status)) return undefined;
  if (status === 'Success') return 'Success';
  // StatusDetails is finer ('Execution Timed Out', 'Undeliverable', …); its spelling varies with spaces.
  const d = (details ?? '').replace(/\s+/g, '');
  return STATUSES.find((s) => s === d) ?? STATUSES.find((s) => s === status);
}

function reasonFor(status: CommandStatus, exitCode: number | undefined, opts: PollCommandOptions): string {
  const exec = opts.executionTimeoutSeconds !== undefined ? ` within ${opts.executionTimeoutSeconds} s` : '';
  const delivery = opts.deliveryTimeoutSeconds !== undefined ? ` within ${opts.deliveryTimeoutSeconds} s` : '';
  switch (status) {
    case 'Success': return 'the script succeeded';
    case 'Failed': return exitCode === undefined ? 'the command failed before the script ran (Failed)' : 'the script exited with an error';
    case 'Cancelled': return 'the command was cancelled (Cancelled)';
    case 'TimedOut': return 'the command timed out (TimedOut)';
    case 'ExecutionTimedOut': return `the command did not finish${exec} (ExecutionTimedOut)`;
    case 'DeliveryTimedOut': return `the SSM agent did not pick the command up${delivery} (DeliveryTimedOut): is the agent Online?`;
    case 'Undeliverable': return 'SSM could not deliver the command: the instance may be gone, stopped or its agent unresponsive (Undeliverable)';
    case 'Terminated': return 'SSM stopped the command (Terminated)';
    case 'InvalidPlatform': return 'the instance platform does not support AWS-RunShellScript (InvalidPlatform)';
    case 'AccessDenied': return 'the command was denied on the instance (AccessDenied): check the instance profile and SSM permissions';
  }
}

function toResult(out: GetCommandInvocationCommandOutput, status: CommandStatus, commandId: string, instanceId: string, opts: PollCommandOptions): CommandResult {
  const stdout = out.StandardOutputContent ?? '';
  const stderr = out.StandardErrorContent ?? '';
  const exitCode = out.ResponseCode === undefined || out.ResponseCode === -1 ? undefined : out.ResponseCode;
  let outputUrl = out.StandardOutputUrl !== undefined && out.StandardOutputUrl !== '' ? out.StandardOutputUrl : undefined;
  if (outputUrl === undefined && opts.outputBucket !== undefined) {
    // SSM writes <prefix>/<commandId>/<instanceId>/awsrunShellScript/0.awsrunShellScript/{stdout,stderr}.
    const prefix = [opts.outputKeyPrefix?.replace(/^\/+|\/+$/g, ''), commandId, instanceId].filter((p) => p !== undefined && p !== '').join('/');
    outputUrl = `https://s3.console.aws.amazon.com/s3/buckets/${encodeURIComponent(opts.outputBucket)}?prefix=${encodeURIComponent(`${prefix}/`)}`;
  }
  return {
    commandId, instanceId, status, ok: status === 'Success', exitCode, stdout, stderr,
    truncated: stdout.length >= STDOUT_LIMIT || stderr.length >= STDERR_LIMIT || TRUNCATION_MARKER.test(stdout) || TRUNCATION_MARKER.test(stderr),
    ...(outputUrl !== undefined ? { outputUrl } : {}),
    reason: reasonFor(status, exitCode, opts),
  };
}

export async function waitForCommand(ssm: SSMClient, commandId: string, instanceId: string, opts: PollCommandOptions): Promise<CommandResult> {
  const sentAt = opts.sentAt ?? opts.clock.now();
  const started = opts.clock.now();
  let last = 'not yet known';
  const check = tolerant(opts.signal, async () => {
    let out;
    try {
      out = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }), { abortSignal: opts.signal });
    } catch (err) {
      if (awsErrorCode(err) !== 'InvocationDoesNotExist') throw fromAwsError(err, 'SSM', 'GetCommandInvocation');
      if (opts.clock.now() - sentAt <= UNKNOWN_COMMAND_GRACE_MS) return undefined;
      throw new RunnerOpsError('external', `SSM does not know command ${commandId} on ${instanceId} (InvocationDoesNotExist ${Math.round((opts.clock.now() - sentAt) / 1000)} s after it was sent): the id is wrong or SSM no longer keeps it; the script's outcome is unknown`, { cause: err });
    }
    last = out.StatusDetails ?? out.Status ?? last;
    const status = toStatus(out.Status, out.StatusDetails);
    return status === undefined ? undefined : toResult(out, status, commandId, instanceId, opts);
  });
  try {
    // 1 s × 1.5 up to 5 s: a finished command is seen within 5 s of its end (the thread's progress
    // line stays live), and a 90 s command costs ~22 GetCommandInvocation calls.
    return await pollUntil(check, {
      clock: opts.clock, signal: opts.signal, deadline: opts.deadline, factor: 1.5,
      initialDelayMs: opts.initialDelayMs ?? 1_000, maxDelayMs: opts.maxDelayMs ?? 5_000, label: `command ${commandId} on ${instanceId} to finish`,
    });
  } catch (err) {
    if (!isRunnerOpsError(err) || err.code !== 'timeout' || opts.signal?.aborted === true) throw err;
    const seconds = Math.round((opts.clock.now() - started) / 1000);
    throw new RunnerOpsError('timeout', `command ${commandId} on ${instanceId} did not finish by its deadline (waited ${seconds} s; last status: ${last})`, { cause: err });
  }
}

export async function cancelCommand(ssm: SSMClient, commandId: string, instanceId: string): Promise<boolean> {
  try {
    await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
    return true;
  } catch {
    return false; // best effort: the command may already be finished, or SSM may be unreachable
  }
}

export async function runScript(ssm: SSMClient, spec: ScriptSpec, opts: RunScriptOptions): Promise<CommandResult> {
  const delivery = spec.deliveryTimeoutSeconds ?? DEFAULT_DELIVERY_TIMEOUT_S;
  let state = opts.saved;
  // A checkpoint for another instance (the instance was replaced) is stale: send to the new one.
  if (state === undefined || state.instanceId !== spec.instanceId) {
    const sentAt = opts.clock.now();
    const commandId = await sendScript(ssm, spec, { signal: opts.signal });
    state = { commandId, instanceId: spec.instanceId, sentAt };
    try {
      await opts.save(state);
    } catch (err) {
      // Unsaved, a retry would send the script again while this copy runs: stop this copy.
      await cancelCommand(ssm, commandId, spec.instanceId);
      throw err;
    }
  }
  const { commandId, sentAt } = state;
  try {
    return await waitForCommand(ssm, commandId, spec.instanceId, {
      clock: opts.clock, signal: opts.signal, sentAt,
      deadline: opts.deadline ?? sentAt + (spec.executionTimeoutSeconds + delivery) * 1000 + 60_000,
      initialDelayMs: opts.initialDelayMs, maxDelayMs: opts.maxDelayMs,
      executionTimeoutSeconds: spec.executionTimeoutSeconds, deliveryTimeoutSeconds: delivery,
      outputBucket: spec.outputBucket, outputKeyPrefix: spec.outputKeyPrefix,
    });
  } catch (err) {
    // Cancelled by the caller, or past a deadline beyond SSM's own timeouts: stop it on the instance.
    // A process shutdown (abort reason 'shutdown', src/operations/framework/runner.ts) is not a
    // cancellation: the command keeps running and the resumed job re-attaches to it.
    const shutdown = opts.signal?.aborted === true && opts.signal.reason === 'shutdown';
    if (!shutdown && (opts.signal?.aborted === true || (isRunnerOpsError(err) && (err.code === 'cancelled' || err.code === 'timeout')))) {
      await cancelCommand(ssm, commandId, spec.instanceId);
    }
    throw err;
  }
}

const DETAIL_LINES = 40;
const DETAIL_CHARS = 2_400; // fits a Slack section (3,000) with the message and the URL line

export function commandFailed(what: string, result: CommandResult): RunnerOpsError {
  const code = TIMEOUT_STATUSES.has(result.status) ? 'timeout' : 'external';
  const exit = result.exitCode !== undefined ? ` (exit ${result.exitCode})` : '';
  // Redact before tailing: a cut could leave an unrecognisable fragment of a token.
  const stderr = redact(result.stderr).trim();
  const stdout = redact(result.stdout).trim();
  const both = stderr !== '' && stdout !== '';
  const parts: string[] = [];
  if (stderr !== '') parts.push(`stderr:\n${tail(stderr, both ? DETAIL_LINES / 2 : DETAIL_LINES, both ? DETAIL_CHARS / 2 : DETAIL_CHARS)}`);
  if (stdout !== '') parts.push(`stdout:\n${tail(stdout, both ? DETAIL_LINES / 2 : DETAIL_LINES, both ? DETAIL_CHARS / 2 : DETAIL_CHARS)}`);
  if (result.truncated) parts.push('(SSM keeps only the start of the output: the end is in the full output or the log on the instance)');
  if (result.outputUrl !== undefined) parts.push(`full output: ${result.outputUrl}`);
  return new RunnerOpsError(code, `${what} failed on ${result.instanceId}: ${result.reason}${exit}`, {
    detail: parts.length > 0 ? redact(parts.join('\n')) : undefined,
  });
}
