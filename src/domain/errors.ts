/**
 * The error taxonomy. Every error the bot raises on purpose is a RunnerOpsError with a stable
 * code; `isRetryable` is the one place that decides whether a retry may help; `userMessage` is the
 * one place that renders an error for a person (src/adapters/slack renders it into Slack).
 */
export type ErrorCode =
  | 'config_invalid' // the fleet file or the environment is malformed
  | 'usage' // a command a person typed does not parse
  | 'forbidden' // the person may not do this
  | 'not_found' // an operation, environment or resource does not exist
  | 'conflict' // the state changed under us (already decided, fleet file changed, …)
  | 'expired' // an approval request timed out
  | 'cancelled' // someone cancelled the operation
  | 'unavailable' // a dependency (Redis, AWS, GitLab, Slack) did not answer; retrying may help
  | 'throttled' // rate limited; retrying later will help
  | 'external' // a dependency answered with a definite failure; retrying will not help
  | 'timeout' // a bounded wait ran out
  | 'internal'; // a bug

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['unavailable', 'throttled', 'timeout']);

export class RunnerOpsError extends Error {
  readonly code: ErrorCode;
  /** Safe to show to a person: never carries a secret. */
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; detail?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunnerOpsError';
    this.code = code;
    this.detail = options?.detail;
  }
}

export function isRunnerOpsError(err: unknown): err is RunnerOpsError {
  return err instanceof RunnerOpsError;
}

/** Whether trying the same thing again later may succeed. Unknown errors are not retried. */
export function isRetryable(err: unknown): boolean {
  return isRunnerOpsError(err) && RETRYABLE.has(err.code);
}

/** A one-line message for a person. Unknown errors are not echoed (they may carry anything). */
export function userMessage(err: unknown): string {
  if (isRunnerOpsError(err)) return err.message;
  return 'internal error (see the bot logs)';
}
