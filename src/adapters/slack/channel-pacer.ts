/**
 * Paces Slack Web API writes per channel (DESIGN §2: chat.postMessage allows about one message
 * per second per channel). One pacer per process, shared by everything that writes to Slack.
 *
 * Contract:
 * - Tasks submitted for the same channel and kind run one at a time, in submission order; the
 *   next starts no earlier than `intervalMs` after the previous one started, and only after it
 *   settled (so a task that waits out a 429 inside the WebClient holds the lane).
 * - Channels, and the two kinds in one channel, are independent lanes: `post` (new messages and
 *   thread replies) and `edit` (chat.update of existing messages, whose limit is per workspace,
 *   not per channel), so a backlog of replies never delays the live status line.
 * - A task's rejection goes to its caller only; the lane goes on.
 * - Idle lanes are forgotten, so the pacer does not grow with the number of channels.
 */

export type PaceKind = 'post' | 'edit';

export interface ChannelPacerOptions {
  /** Minimum spacing between task starts in one lane, in ms. Default 1,000. */
  intervalMs?: number;
}

interface Job {
  run: () => Promise<void>;
}

interface Lane {
  queue: Job[];
  running: boolean;
  lastStart: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ChannelPacer {
  readonly intervalMs: number;
  private readonly lanes = new Map<string, Lane>();
  private readonly idleWaiters: Array<() => void> = [];

  constructor(options: ChannelPacerOptions = {}) {
    this.intervalMs = Math.max(0, options.intervalMs ?? 1000);
  }

  /** Runs `task` in the lane of `channel`/`kind`; settles as the task does. */
  run<T>(channel: string, task: () => Promise<T>, kind: PaceKind = 'post'): Promise<T> {
    const key = kind === 'post' ? channel : `${channel}\u0000edit`;
    return new Promise<T>((resolve, reject) => {
      const lane = this.lanes.get(key) ?? { queue: [], running: false, lastStart: -Infinity };
      this.lanes.set(key, lane);
      lane.queue.push({
        run: async () => {
          try { resolve(await task()); } catch (err) { reject(err as Error); }
        },
      });
      if (!lane.running) void this.drain(key, lane);
    });
  }

  /** Tasks queued or running, across all lanes. */
  get pending(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.queue.length + (lane.running ? 1 : 0);
    return n;
  }

  /** Resolves when every lane is empty (tasks submitted meanwhile are waited for too). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private async drain(key: string, lane: Lane): Promise<void> {
    lane.running = true;
    try {
      for (let job = lane.queue.shift(); job !== undefined; job = lane.queue.shift()) {
        const wait = lane.lastStart + this.intervalMs - Date.now();
        if (wait > 0) await sleep(wait);
        lane.lastStart = Date.now();
        await job.run();
      }
    } finally {
      lane.running = false;
      // Keep the lane (and its lastStart) until the spacing has passed, then forget it.
      const forgetIn = Math.max(0, lane.lastStart + this.intervalMs - Date.now());
      setTimeout(() => {
        if (!lane.running && lane.queue.length === 0 && this.lanes.get(key) === lane) this.lanes.delete(key);
      }, forgetIn).unref();
      if (this.pending === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }
}
