import { SimulatedClock, systemClock } from './clock';
import { RunnerOpsError } from './errors';
import { pollUntil } from './poll';

describe('pollUntil', () => {
  it('backs off between checks and returns the first value', async () => {
    const clock = new SimulatedClock(0);
    const seen: number[] = [];
    const value = await pollUntil(async (attempt) => { seen.push(clock.now()); return attempt === 4 ? 'done' : undefined; },
      { clock, deadline: 60_000, initialDelayMs: 1_000, maxDelayMs: 2_000, label: 'x' });
    expect(value).toBe('done');
    expect(seen).toEqual([0, 1_000, 2_500, 4_500]);
  });

  it('gives up at the deadline with a timeout error naming what it waited for', async () => {
    const clock = new SimulatedClock(0);
    let checks = 0;
    const p = pollUntil(async () => { checks += 1; return undefined; }, { clock, deadline: 10_000, initialDelayMs: 1_000, maxDelayMs: 4_000, label: 'the runner to come online' });
    await expect(p).rejects.toMatchObject({ code: 'timeout', message: expect.stringContaining('the runner to come online after 10 s') });
    expect(clock.now()).toBe(10_000);
    expect(checks).toBeGreaterThan(3);
  });

  it('stops with a cancelled error when the signal aborts during a pause', async () => {
    const controller = new AbortController();
    const p = pollUntil(async () => undefined, { clock: systemClock, signal: controller.signal, deadline: Date.now() + 60_000, initialDelayMs: 5_000, maxDelayMs: 5_000, label: 'x' });
    setTimeout(() => controller.abort('cancelled'), 10);
    const err: unknown = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RunnerOpsError);
    expect((err as RunnerOpsError).code).toBe('cancelled');
  });

  it('lets an error from the check end the wait', async () => {
    const clock = new SimulatedClock(0);
    await expect(pollUntil(async () => { throw new RunnerOpsError('external', 'boom'); }, { clock, deadline: 1e9, initialDelayMs: 1, maxDelayMs: 1, label: 'x' }))
      .rejects.toThrow('boom');
  });
});
