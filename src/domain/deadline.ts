/**
 * Bounds one status source by a deadline. The source gets an AbortSignal (AWS calls pass it to
 * `send`, so the request really stops); the caller gets a 'timeout' error at the deadline even
 * when the source ignores the signal (gitbeaker takes none).
 */
import { RunnerOpsError } from './errors';

export async function withDeadline<T>(label: string, deadline: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ms = Math.max(0, deadline - Date.now());
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new RunnerOpsError('timeout', `${label}: no answer within ${(ms / 1000).toFixed(1)} s`));
    }, ms);
  });
  try {
    return await Promise.race([fn(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}
