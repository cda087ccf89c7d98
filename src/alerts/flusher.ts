/**
 * Turns recorded alerts into Slack messages. Every replica runs one; they share the due set in
 * Redis, so work recorded by one replica (or left by one that crashed) is done by whichever gets
 * to it first, and exactly one works on a thread at a time: a member is taken with a lock
 * (SET NX PX, refreshed while the work runs, released by token), and a replica that does not get
 * the lock skips it. That is how several replicas on one queue post each alert once.
 *
 * When it runs: right after the intake recorded a receive (`kick`), at the next due time (settle
 * windows, coalesced storm edits, retries), and every `pollMs` for work other replicas recorded.
 */
import type { AlertContext } from './context';
import { workInstance } from './instance-thread';
import { workJobs } from './jobs-reply';
import { workStorm } from './storm-summary';

const MAX_ROUNDS = 20;

export class AlertFlusher {
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private poll: NodeJS.Timeout | undefined;
  private wake: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<string>();

  constructor(private readonly ctx: AlertContext) {}

  start(): void {
    if (this.poll !== undefined) return;
    this.poll = setInterval(() => this.kick(), this.ctx.timings.pollMs);
    this.poll.unref();
    this.kick();
  }

  /** Runs a pass now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.pass !== undefined) { this.again = true; return; }
    this.pass = this.runPasses().finally(() => {
      this.pass = undefined;
      if (this.again && !this.stopped) this.kick();
    });
  }

  /** Resolves when no pass is running (tests, bench). */
  async idle(): Promise<void> {
    while (this.pass !== undefined) await this.pass;
  }

  /** Stops scheduling; waits up to `graceMs` for the pass in hand (its locks expire otherwise). */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.wake);
    if (this.pass === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.pass, new Promise<void>((r) => { timer = setTimeout(r, graceMs); timer.unref(); })]);
    clearTimeout(timer);
  }

  private async runPasses(): Promise<void> {
    try {
      let rounds = 0;
      while (!this.stopped) {
        this.again = false;
        const worked = await this.onePass();
        rounds += 1;
        if (worked && rounds < MAX_ROUNDS) continue;
        await this.scheduleWake();
        // A kick while this pass (or its wake-up computation) ran may have found the work
        // already listed: look again rather than leave it to the poll.
        if (!this.again) break;
        rounds = 0;
      }
    } catch (err) {
      this.ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'alerts flush pass failed');
    }
  }

  /** Works every due member it can lock; true when it did any work. */
  private async onePass(): Promise<boolean> {
    const due = (await this.ctx.store.dueMembers(this.ctx.now(), 200)).filter((m) => !this.inFlight.has(m));
    if (due.length === 0) return false;
    let worked = false;
    let next = 0;
    const worker = async () => {
      while (next < due.length && !this.stopped) {
        const member = due[next];
        next += 1;
        if (member !== undefined && await this.work(member)) worked = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.ctx.timings.concurrency, due.length) }, worker));
    return worked;
  }

  private async work(member: string): Promise<boolean> {
    const { store, timings } = this.ctx;
    const token = await store.lock(member, timings.lockMs);
    if (token === undefined) return false;
    this.inFlight.add(member);
    const heartbeat = setInterval(() => { store.refresh(member, token, timings.lockMs).catch(() => undefined); }, Math.max(100, timings.lockMs / 3));
    heartbeat.unref();
    try {
      const id = member.slice(2);
      if (member.startsWith('i:')) await workInstance(this.ctx, id);
      else if (member.startsWith('s:')) await workStorm(this.ctx, id);
      else if (member.startsWith('j:')) await workJobs(this.ctx, id);
      else await store.remove(member);
    } catch (err) {
      // Redis trouble mid-way: the member stays due; this or another replica tries again.
      this.ctx.log.warn({ member, err: err instanceof Error ? err.message : String(err) }, 'alert work failed; it stays due');
      await store.schedule(member, this.ctx.now() + timings.retryMs, 'XX').catch(() => undefined);
    } finally {
      clearInterval(heartbeat);
      this.inFlight.delete(member);
      await store.unlock(member, token).catch(() => undefined);
    }
    return true;
  }

  /** Wakes up for the next due member when it comes before the next poll. */
  private async scheduleWake(): Promise<void> {
    if (this.stopped) return;
    const at = await this.ctx.store.nextDueAt();
    if (at === undefined) return;
    const inMs = at - this.ctx.now();
    // Due already but not taken (another replica holds it): the poll comes back for it.
    if (inMs <= 0 || inMs >= this.ctx.timings.pollMs) return;
    clearTimeout(this.wake);
    this.wake = setTimeout(() => this.kick(), inMs);
    this.wake.unref();
  }
}
