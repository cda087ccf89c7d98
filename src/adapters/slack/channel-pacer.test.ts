import { ChannelPacer } from './channel-pacer';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('ChannelPacer', () => {
  it('runs one channel in submission order, one at a time, spaced by the interval', async () => {
    const pacer = new ChannelPacer({ intervalMs: 40 });
    const starts: number[] = [];
    const order: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const tasks = [30, 0, 10, 0, 5].map((work, i) => pacer.run('C1', async () => {
      running += 1; maxRunning = Math.max(maxRunning, running);
      starts.push(Date.now()); order.push(i);
      await sleep(work);
      running -= 1;
      return i;
    }));
    expect(await Promise.all(tasks)).toEqual([0, 1, 2, 3, 4]);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(maxRunning).toBe(1);
    for (let i = 1; i < starts.length; i += 1) expect((starts[i] ?? 0) - (starts[i - 1] ?? 0)).toBeGreaterThanOrEqual(38);
  });

  it('lets different channels, and edits vs posts, proceed independently', async () => {
    const pacer = new ChannelPacer({ intervalMs: 300 });
    const t0 = Date.now();
    const at: Record<string, number> = {};
    await Promise.all([
      pacer.run('C1', async () => { at.c1a = Date.now() - t0; }),
      pacer.run('C1', async () => { at.c1b = Date.now() - t0; }),
      pacer.run('C2', async () => { at.c2 = Date.now() - t0; }),
      pacer.run('C1', async () => { at.edit = Date.now() - t0; }, 'edit'),
    ]);
    expect(at.c2).toBeLessThan(150);
    expect(at.edit).toBeLessThan(150);
    expect(at.c1b).toBeGreaterThanOrEqual(290);
  });

  it('passes a rejection to its caller only; the lane goes on', async () => {
    const pacer = new ChannelPacer({ intervalMs: 1 });
    const failed = pacer.run('C1', async () => { throw new Error('boom'); });
    const next = pacer.run('C1', async () => 'ok');
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });

  it('idle() waits for every lane', async () => {
    const pacer = new ChannelPacer({ intervalMs: 1 });
    let done = 0;
    void pacer.run('C1', async () => { await sleep(20); done += 1; });
    void pacer.run('C2', async () => { await sleep(30); done += 1; });
    expect(pacer.pending).toBe(2);
    await pacer.idle();
    expect(done).toBe(2);
    expect(pacer.pending).toBe(0);
  });
});
