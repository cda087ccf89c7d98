import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { heredoc, shArray, shAssign, shQuote } from './shell';

/** What bash makes of each word: printf '%s\0' <word>… */
function bashWords(words: string[]): string[] {
  const r = spawnSync('bash', ['-c', `printf '%s\\0' ${words.join(' ')}`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent' } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

describe('shQuote', () => {
  it.each([['plain', 'plain'], ['a b', "'a b'"], ["it's", "'it'\\''s'"], ['', "''"], ['~root', "'~root'"], ['$(id)', "'$(id)'"]])('%j -> %s', (input, quoted) => {
    expect(shQuote(input)).toBe(quoted);
  });

  it('makes any string one literal word for bash (property)', () => {
    const hostile = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.stringMatching(/^[-$`'"\\;&|<>(){}*?[\]!~# \t\n=%@^:,./a-z0-9]{0,30}$/),
    ).filter((s) => !s.includes('\0'));
    fc.assert(fc.property(fc.array(hostile, { minLength: 1, maxLength: 20 }), (values) => {
      expect(bashWords(values.map(shQuote))).toEqual(values);
    }), { numRuns: 60 });
  });

  it('builds assignments, arrays and here-documents', () => {
    expect(shAssign('A', "x'y")).toBe("A='x'\\''y'");
    expect(shArray('R', ['a', 'b c'])).toBe("R=(a 'b c')");
    expect(() => shAssign('a-b', 'x')).toThrow();
    expect(heredoc('cat', 'EOF', 'x')).toBe("cat <<'EOF'\nx\nEOF");
    expect(() => heredoc('cat', 'EOF', 'a\nEOF\nb')).toThrow(/delimiter/);
  });
});
