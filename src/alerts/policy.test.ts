import fc from 'fast-check';
import { deadlineOf, isCritical, joinsStorm, opensThread, phaseOf, planReplies, sortEvents, type StoredEvent } from './policy';

const ev = (id: string, kind: StoredEvent['kind'], time: number, extra: Partial<StoredEvent> = {}): StoredEvent => ({ id, kind, time, arrived: 0, status: 'pending', ...extra });

describe('alert policy', () => {
  it('orders by event time, then lifecycle, whatever the arrival order', () => {
    const events = [
      ev('d', 'state-change', 200, { state: 'terminated' }),
      ev('c', 'state-change', 200, { state: 'shutting-down' }),
      ev('b', 'interruption-warning', 60),
      ev('a', 'rebalance-recommendation', 60),
    ];
    fc.assert(fc.property(fc.shuffledSubarray(events, { minLength: 4, maxLength: 4 }), (shuffled) => {
      expect(sortEvents(shuffled).map((e) => e.id)).toEqual(['a', 'b', 'c', 'd']);
    }));
  });

  it('plans replies in event order and marks those older than a posted one as late', () => {
    const events = [
      ev('w', 'interruption-warning', 100, { status: 'posted' }),
      ev('t', 'state-change', 300, { state: 'terminated' }),
      ev('s', 'state-change', 250, { state: 'shutting-down' }),
      ev('r', 'rebalance-recommendation', 50),
    ];
    expect(planReplies(events).map((p) => [p.event.id, p.late])).toEqual([['r', true], ['s', false], ['t', false]]);
    expect(phaseOf(events)).toBe('terminated');
    expect(deadlineOf(events)?.getTime()).toBe(100 + 120_000);
  });

  it.each([
    ['worker', 'interruption-warning', undefined, false, true, false],
    ['worker', 'rebalance-recommendation', undefined, false, true, false],
    ['worker', 'state-change', 'terminated', false, false, false],
    ['manager', 'state-change', 'stopping', false, true, true],
    ['manager', 'state-change', 'terminated', true, false, true],
    ['manager', 'interruption-warning', undefined, false, true, true],
    ['manager', 'rebalance-recommendation', undefined, false, true, false],
  ] as const)('%s %s %s (expected %s): opens %s, critical %s', (role, kind, state, expected, opens, critical) => {
    const e = ev('x', kind, 0, state === undefined ? {} : { state });
    expect(opensThread(role, e, expected)).toBe(opens);
    expect(isCritical(role, e)).toBe(critical);
  });

  it('storms past the threshold, or while a storm is on, never for a critical alert', () => {
    expect(joinsStorm({ critical: false, stormActive: false, recentInterruptions: 5, threshold: 5 })).toBe(false);
    expect(joinsStorm({ critical: false, stormActive: false, recentInterruptions: 6, threshold: 5 })).toBe(true);
    expect(joinsStorm({ critical: false, stormActive: true, recentInterruptions: 0, threshold: 5 })).toBe(true);
    expect(joinsStorm({ critical: true, stormActive: true, recentInterruptions: 60, threshold: 5 })).toBe(false);
  });
});
