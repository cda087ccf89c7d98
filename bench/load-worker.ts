/**
 * The load generator, run in a worker thread so that signing requests and reading answers does
 * not share the event loop of the servers being measured. It sends `warmup` then `count` signed
 * slash-command requests over a keep-alive agent with `concurrency` requests in flight, and posts
 * back the latency of each measured request (ms, from just before http.request to the end of the
 * response body). Bounded in count and in time: no new request starts after `deadlineMs`.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { commandBody, sign } from './signing';

export interface LoadSpec {
  url: string;
  secret: string;
  text: string;
  userId: string;
  responseUrlBase: string;
  warmup: number;
  count: number;
  concurrency: number;
  /** Per request. */
  timeoutMs: number;
  /** For the whole run (warm-up and measured). */
  deadlineMs: number;
}

export interface LoadResult {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
  wallMs: number;
  stoppedByDeadline: boolean;
}

interface One { ms: number; status: number | 'error' }

function once(agent: Agent, spec: LoadSpec, i: number): Promise<One> {
  const body = commandBody({ text: spec.text, userId: spec.userId, channelId: 'C0PROD', responseUrl: `${spec.responseUrlBase}${i}` });
  const ts = Math.floor(Date.now() / 1000);
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'content-length': String(Buffer.byteLength(body)),
    'x-slack-request-timestamp': String(ts),
    'x-slack-signature': sign(spec.secret, ts, body),
  };
  return new Promise<One>((resolve) => {
    const started = performance.now();
    const req = request(spec.url, { method: 'POST', agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
      res.on('error', () => resolve({ ms: performance.now() - started, status: 'error' }));
    });
    req.setTimeout(spec.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ms: performance.now() - started, status: 'error' }));
    req.end(body);
  });
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const deadline = performance.now() + spec.deadlineMs;
  let stoppedByDeadline = false;

  const phase = async (n: number, record: boolean, offset: number): Promise<{ latencies: number[]; errors: number; statuses: Record<string, number> }> => {
    const latencies: number[] = [];
    const statuses: Record<string, number> = {};
    let errors = 0;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < n) {
        if (performance.now() > deadline) { stoppedByDeadline = true; return; }
        const i = next;
        next += 1;
        const r = await once(agent, spec, offset + i);
        const key = String(r.status);
        statuses[key] = (statuses[key] ?? 0) + 1;
        if (r.status !== 200) errors += 1;
        if (record) latencies.push(r.ms);
      }
    };
    await Promise.all(Array.from({ length: Math.min(spec.concurrency, n) }, lane));
    return { latencies, errors, statuses };
  };

  await phase(spec.warmup, false, 0);
  const t0 = performance.now();
  const measured = await phase(spec.count, true, spec.warmup);
  const wallMs = performance.now() - t0;
  agent.destroy();
  return { ...measured, wallMs, stoppedByDeadline };
}

if (parentPort !== null) {
  const port = parentPort;
  run(workerData as LoadSpec).then(
    (result) => port.postMessage({ ok: true, result }),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
}
