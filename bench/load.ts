/** Runs one load (see load-worker.ts) in a worker thread and returns its result. */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LoadResult, LoadSpec } from './load-worker';

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise<LoadResult>((resolve, reject) => {
    const worker = new Worker(join(__dirname, 'load-worker.js'), { workerData: spec });
    let settled = false;
    const killer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(new Error('load worker did not finish in time'));
    }, spec.deadlineMs + spec.timeoutMs + 5_000);
    worker.once('message', (msg: { ok: true; result: LoadResult } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      void worker.terminate();
      if (msg.ok) resolve(msg.result); else reject(new Error(msg.error));
    });
    worker.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      reject(err);
    });
  });
}
