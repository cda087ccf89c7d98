/**
 * The operations framework's contracts. A changing verb is an OperationDefinition: a plan (what
 * the approver sees, what --dry-run answers) and a list of named steps. The runner executes the
 * steps in order, checkpointing each in the BullMQ job, so that a job resumed after a crash skips
 * finished steps and hands a half-done step what it saved (`ctx.saved`) to re-attach to in-flight
 * work (an SSM CommandId, a launched instance id) instead of starting it again.
 */
import type { Logger } from 'pino';
import type { EnvironmentConfig } from '../../config/fleet-schema';
import type { ChangingVerb } from '../../domain/command';
import type { OperationRecord } from '../../domain/operation';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A long part of a plan (a script, a config.toml): shown as a file or a code block. */
export interface PlanDetail { title: string; filename: string; content: string }

export interface Plan {
  /** Short mrkdwn: what will be launched, changed and removed. Shown in the approval request. */
  summary: string;
  /** The step labels, in order. */
  steps: readonly string[];
  details?: readonly PlanDetail[];
  /**
   * Arguments the plan fixed, added to the operation's args (OperationRecord.args) so that the
   * run acts on what the approver saw (e.g. the runner ids a stale-runner clean-up listed).
   */
  args?: Readonly<Record<string, string>>;
}

export interface PlanInput {
  envName: string;
  env: EnvironmentConfig;
  args: Readonly<Record<string, string>>;
  requesterId: string;
  operationId: string;
}

export interface OperationContext {
  readonly operation: OperationRecord;
  readonly envName: string;
  readonly env: EnvironmentConfig;
  readonly log: Logger;
  /** Aborted when the operation is cancelled (reason 'cancelled') or the process stops ('shutdown'). */
  readonly signal: AbortSignal;
  /** Results of the steps finished so far, by step name. */
  readonly results: Readonly<Record<string, Json>>;
  /** A reply in the operation's thread. */
  note(text: string): Promise<void>;
}

export interface StepContext extends OperationContext {
  /** What this step saved with `save` before the process stopped; undefined on a first run. */
  readonly saved: Json | undefined;
  /** Persists in-flight state (checkpointed in the job) before waiting on it. */
  save(state: Json): Promise<void>;
  /** Throws if a cancellation was requested: call it at the step's safe points. */
  throwIfCancelled(): Promise<void>;
}

export interface StepDefinition {
  /** Stable name: the checkpoint key. Never rename a step that may be in flight. */
  name: string;
  /** What the thread shows. */
  label: string;
  /** Returns a JSON result that later steps and the summary can read. */
  run(ctx: StepContext): Promise<Json | undefined | void>;
}

export interface CleanupContext extends OperationContext {
  /** Everything each step saved, including the step that was interrupted. */
  readonly saved: Readonly<Record<string, Json>>;
  readonly outcome: 'failed' | 'cancelled';
}

export interface OperationDefinition {
  verb: ChangingVerb;
  plan(input: PlanInput): Promise<Plan>;
  steps: readonly StepDefinition[];
  /**
   * Runs after a failure or a cancellation: removes whatever the operation created and does not
   * keep (for example a launched instance). Must be idempotent: it may run again after a crash.
   */
  cleanup?(ctx: CleanupContext): Promise<void>;
  /** The final success line. */
  summarize?(results: Readonly<Record<string, Json>>): string;
}

/** The operation's Slack thread, as the runner sees it (implemented by ThreadReporter). */
export interface OperationThread {
  setRoot(patch: Record<string, unknown>): void;
  reply(text: string): Promise<void>;
  stepStarted(index: number, total: number, name: string): void | Promise<void>;
  stepSucceeded(index: number, total: number, name: string, durationMs: number, detail?: string): void | Promise<void>;
  stepFailed(index: number, total: number, name: string, durationMs: number, reason: string): void | Promise<void>;
  finish(outcome: { ok: true; summary: string } | { ok: false; reason: string; outputTail?: string } | { cancelled: true; reason: string }): void | Promise<void>;
  flush(): Promise<unknown>;
}
