import { inspect } from 'node:util';
import fc from 'fast-check';
import { Secret, isSecret } from './secret';

/** Every way a value commonly becomes text, for a Secret alone and inside a structure. */
function renderings(s: Secret): string[] {
  return [
    String(s),
    `${s}`,
    'x' + s,
    JSON.stringify(s),
    JSON.stringify({ token: s, nested: [s] }),
    inspect(s),
    inspect({ token: s }, { depth: 5, showHidden: true }),
    JSON.stringify({ ...s }),
    JSON.stringify(structuredClone({ token: s })),
  ];
}

describe('Secret', () => {
  it('reveals the value only through reveal()', () => {
    const s = new Secret('glrt-abcdef123456');
    expect(s.reveal()).toBe('glrt-abcdef123456');
    expect(String(s)).toBe('[redacted]');
    expect(s.toJSON()).toBe('[redacted]');
    expect(JSON.stringify({ token: s })).toBe('{"token":"[redacted]"}');
    expect(inspect(s)).toBe('Secret([redacted])');
    expect(Object.keys(s)).toEqual([]);
    expect(isSecret(s)).toBe(true);
    expect(isSecret('glrt-abcdef123456')).toBe(false);
  });

  it('never renders its value as text (property)', () => {
    // The renderings do not depend on the value at all; values that happen to be substrings of
    // the fixed texts (`[redacted]`, `token`, …) are left out of the substring check.
    const fixed = renderings(new Secret('fixed-reference-value')).join('\n');
    fc.assert(fc.property(fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 200 })), (value) => {
      const out = renderings(new Secret(value));
      expect(out.join('\n')).toBe(fixed);
      if (!fixed.includes(value)) {
        for (const text of out) expect(text).not.toContain(value);
      }
    }), { numRuns: 300 });
  });
});
