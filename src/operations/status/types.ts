/**
 * What `/runner status <env>` reports (CONTRACT §4). Every source is gathered independently: a
 * source that fails or times out is marked `failed` with a message a person can act on, and the
 * rest of the report still comes.
 */
import type { ErrorCode } from '../../domain/errors';
import type { ManagerInstance } from '../../adapters/aws/ec2-instances';
import type { SsmInstanceInfo } from '../../adapters/aws/ssm-ping';
import type { Runner } from '../../adapters/gitlab/runners';

/** An operation that is pending approval, queued or running in this environment. */
export interface OpenOperationSummary {
  id: string;
  verb: string;
  state: string;
  /** Slack user id of the requester. */
  requester: string;
  createdAt: Date;
}

export type SpotEventKind = 'interruption-warning' | 'rebalance-recommendation' | 'state-change';

/** A Spot notice or state change seen for an instance of this environment. */
export interface SpotEventSummary {
  at: Date;
  instanceId: string;
  kind: SpotEventKind;
  /** For state changes: the new state (`terminated`, …). */
  detail?: string;
}

export type SourceResult<T> =
  | { state: 'ok'; value: T }
  | { state: 'failed'; code: ErrorCode; message: string; cause?: unknown }
  | { state: 'skipped'; reason: string };

export interface RunnerReport {
  runner: Runner;
  /** stale in GitLab, or offline/never contacted for longer than gitlab.staleAfterDays. */
  stale: boolean;
  /** The stale-runner clean-up would delete it (isRemovableStale: stale, not online, not the current manager's). */
  removable: boolean;
  /** Whole days until the token expires (negative when expired); undefined when GitLab does not say. */
  tokenExpiresInDays: number | undefined;
  /** The token expires within TOKEN_EXPIRY_WARNING_DAYS (or has expired). */
  tokenExpiringSoon: boolean;
  /** The runner names a manager in its description and that is not the current manager. */
  onOtherManager: boolean;
}

export interface StatusReport {
  environment: string;
  region: string;
  generatedAt: Date;
  /** `ok` with undefined value: no manager is running. */
  manager: SourceResult<ManagerInstance | undefined>;
  ssm: SourceResult<SsmInstanceInfo>;
  runners: SourceResult<RunnerReport[]>;
  workers: SourceResult<number>;
  operations: SourceResult<OpenOperationSummary[]>;
  spotEvents: SourceResult<SpotEventSummary[]>;
  /** Plain-text warnings for a person, most important first. */
  warnings: string[];
}
