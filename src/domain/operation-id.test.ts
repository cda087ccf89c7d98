import fc from 'fast-check';
import { isRunnerOpsError } from './errors';
import { isOperationId, newOperationId, OPERATION_ID_PATTERN } from './operation-id';

/** A random source that hands out the given chunks in order, then repeats the last one. */
function source(...chunks: number[][]): (n: number) => Buffer {
  let i = 0;
  return () => Buffer.from(chunks[Math.min(i++, chunks.length - 1)] ?? []);
}

describe('isOperationId', () => {
  it.each([
    ['op-k3x9qa', true],
    ['op-aaaaaa', true],
    ['op-00000a', true],
    ['op-a00000', true],
    ['op-123456', false], // no letter
    ['op-k3x9q', false], // too short
    ['op-k3x9qab', false], // too long
    ['OP-K3X9QA', false], // upper case
    ['op-k3x9qA', false],
    ['op_k3x9qa', false],
    [' op-k3x9qa', false],
    ['op-k3x9qa\n', false],
    ['xop-k3x9qa', false],
    ['op-k3x-qa', false],
    ['', false],
  ])('%j → %s', (s, expected) => {
    expect(isOperationId(s)).toBe(expected);
    expect(OPERATION_ID_PATTERN.test(s)).toBe(expected);
  });

  it.each([[undefined], [null], [42], [{}], [['op-k3x9qa']]])('is false for the non-string %j', (v) => {
    expect(isOperationId(v)).toBe(false);
  });

  it('agrees with the CONTRACT wording (op-[0-9a-z]{6} with at least one letter)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyzA-_'), maxLength: 8 }), (tail) => {
        const s = `op-${tail}`;
        expect(isOperationId(s)).toBe(/^op-[0-9a-z]{6}$/.test(s) && /[a-z]/.test(tail));
      }),
    );
  });
});

describe('newOperationId', () => {
  it('draws from node:crypto by default: every id matches and ids differ', () => {
    const ids = Array.from({ length: 2000 }, () => newOperationId());
    for (const id of ids) expect(id).toMatch(OPERATION_ID_PATTERN);
    // 2000 draws from ~2.2e9 ids: a collision is a one-in-a-thousand event, so allow one.
    expect(new Set(ids).size).toBeGreaterThanOrEqual(1999);
  });

  it('maps bytes onto [0-9a-z] (byte % 36)', () => {
    expect(newOperationId(source([10, 11, 12, 0, 1, 35]))).toBe('op-abc01z');
    expect(newOperationId(source([46, 47, 48, 36, 37, 71]))).toBe('op-abc01z');
  });

  it('skips bytes ≥ 252 so that every character is equally likely', () => {
    expect(newOperationId(source([252, 255, 10, 253, 11, 12, 254, 0, 1, 35]))).toBe('op-abc01z');
  });

  it('draws again when the six characters are all digits', () => {
    expect(newOperationId(source([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 10]))).toBe('op-01234a');
  });

  it('draws again when a draw yields fewer than six usable bytes', () => {
    expect(newOperationId(source([10, 255, 255], [10, 10, 10, 10, 10, 10]))).toBe('op-aaaaaa');
  });

  it.each([
    ['always zero', [0]],
    ['always unusable', [255, 252]],
    ['always empty', []],
  ])('throws an internal RunnerOpsError instead of looping forever on a broken source (%s)', (_name, bytes) => {
    let thrown: unknown;
    try {
      newOperationId(() => Buffer.from(bytes));
    } catch (err) {
      thrown = err;
    }
    expect(isRunnerOpsError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: 'internal' });
  });

  it('property: whatever the random source yields, the result matches and contains a letter, or it is the internal error', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 24 }), { minLength: 1, maxLength: 70 }), (chunks) => {
        let i = 0;
        const random = (): Buffer => Buffer.from(chunks[i++ % chunks.length] ?? []);
        let id: string | undefined;
        try {
          id = newOperationId(random);
        } catch (err) {
          expect(err).toMatchObject({ code: 'internal' });
          return;
        }
        expect(id).toMatch(/^op-[0-9a-z]{6}$/);
        expect(id.slice(3)).toMatch(/[a-z]/);
      }),
    );
  });

  it('property: a source of uniformly random bytes always yields an id', () => {
    fc.assert(
      fc.property(fc.infiniteStream(fc.noBias(fc.integer({ min: 0, max: 255 }))), (stream) => {
        const it = stream[Symbol.iterator]();
        const random = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => it.next().value as number));
        const id = newOperationId(random);
        expect(isOperationId(id)).toBe(true);
      }),
    );
  });
});
