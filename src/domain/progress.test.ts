import fc from 'fast-check';
import { formatDuration, progressBar } from './progress';

describe('progressBar', () => {
  it.each([
    [3, 6, 6, '▰▰▰▱▱▱ 3/6'],
    [0, 6, 6, '▱▱▱▱▱▱ 0/6'],
    [6, 6, 6, '▰▰▰▰▰▰ 6/6'],
    [1, 3, 6, '▰▰▱▱▱▱ 1/3'],
    [9, 10, 6, '▰▰▰▰▰▱ 9/10'],
    [2, 4, 4, '▰▰▱▱ 2/4'],
    [7, 6, 6, '▰▰▰▰▰▰ 6/6'],
    [-1, 6, 6, '▱▱▱▱▱▱ 0/6'],
    [0, 0, 6, '▱▱▱▱▱▱ 0/0'],
  ])('progressBar(%p, %p, %p) is %p', (done, total, width, expected) => {
    expect(progressBar(done, total, width)).toBe(expected);
  });

  it('uses 6 cells by default and is full only when everything is done', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 500 }), fc.integer({ min: 0, max: 500 }), (total, raw) => {
      const done = raw % (total + 1);
      const bar = progressBar(done, total);
      const cells = bar.split(' ')[0] ?? '';
      expect(Array.from(cells)).toHaveLength(6);
      expect(cells === '▰▰▰▰▰▰').toBe(done === total);
      expect(bar.endsWith(` ${done}/${total}`)).toBe(true);
    }));
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [999.4, '999 ms'],
    [999.6, '1.0 s'],
    [12_345, '12.3 s'],
    [59_949, '59.9 s'],
    [59_950, '1 min 00 s'],
    [245_000, '4 min 05 s'],
    [3_599_400, '59 min 59 s'],
    [3_599_600, '1 h 00 min'],
    [7_620_000, '2 h 07 min'],
    [-5, '0 ms'],
    [Number.NaN, '0 ms'],
  ])('formatDuration(%p) is %p', (ms, expected) => {
    expect(formatDuration(ms)).toBe(expected);
  });
});
