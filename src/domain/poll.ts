/**
 * One polling loop for every bounded wait (SSM PingStatus, GetCommandInvocation, EC2 instance
 * state, a runner coming online in GitLab): exponential backoff between checks, an absolute
 * deadline on the clock, and cancellation through the signal.
 */
import type { Clock } from './clock';
import { abortError } from './clock';
import { RunnerOpsError } from './errors';

export interface PollOptions {
  clock: Clock;
  signal?: AbortSignal;
  /** Absolute time (clock.now()) after which the wait gives up with a 'timeout' error. */
  deadline: number;
  /** First pause between checks; grows by `factor` up to `maxDelayMs`. */
  initialDelayMs: number;
  maxDelayMs: number;
  /** Default 1.5. */
  factor?: number;
  /** What is awaited, for the timeout message: `SSM agent on i-0abc to come online`. */
  label: string;
}

/**
 * Calls `check` until it returns a value other than undefined, and returns that value. An error
 * thrown by `check` ends the wait. The last check happens at or just before the deadline.
 */
export async function pollUntil<T>(check: (attempt: number) => Promise<T | undefined>, opts: PollOptions): Promise<T> {
  const factor = opts.factor ?? 1.5;
  const started = opts.clock.now();
  let delay = opts.initialDelayMs;
  for (let attempt = 1; ; attempt += 1) {
    if (opts.signal?.aborted === true) throw abortError(opts.signal);
    const value = await check(attempt);
    if (value !== undefined) return value;
    const left = opts.deadline - opts.clock.now();
    if (left <= 0) {
      const seconds = Math.round((opts.clock.now() - started) / 1000);
      throw new RunnerOpsError('timeout', `gave up waiting for ${opts.label} after ${seconds} s`);
    }
    await opts.clock.sleep(Math.min(delay, left), opts.signal);
    delay = Math.min(opts.maxDelayMs, Math.ceil(delay * factor));
  }
}
