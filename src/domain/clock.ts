/**
 * Time as the operations see it. Every wait in an operation (SSM ping, command polling, runner
 * online, drain) goes through a Clock, so tests and `npm run bench` can run a 90-second command on
 * a simulated clock, and every wait can be cancelled.
 */
import { RunnerOpsError } from './errors';

export interface Clock {
  now(): number;
  /** Resolves after `ms`; rejects with a 'cancelled' RunnerOpsError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function abortError(signal: AbortSignal): RunnerOpsError {
  const reason: unknown = signal.reason;
  return new RunnerOpsError('cancelled', `stopped while waiting (${typeof reason === 'string' ? reason : 'aborted'})`);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { reject(abortError(signal)); return; }
    const onAbort = () => { clearTimeout(timer); reject(abortError(signal as AbortSignal)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  }),
};

/**
 * A clock whose time moves only when something sleeps on it: `sleep(ms)` advances `now` by `ms`
 * at once. For tests and the bench (a 90 s command polled on it takes microseconds).
 */
export class SimulatedClock implements Clock {
  private t: number;
  constructor(start = Date.UTC(2026, 0, 1)) { this.t = start; }
  now(): number { return this.t; }
  advance(ms: number): void { this.t += ms; }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) throw abortError(signal);
    this.t += Math.max(0, ms);
    await Promise.resolve();
    // The signal may have aborted while this sleep yielded (TypeScript narrows it to false here).
    if ((signal?.aborted as boolean | undefined) === true && signal !== undefined) throw abortError(signal);
  }
}
