/**
 * Shell quoting, in one place. Every fleet-file value that reaches a generated bash script goes
 * through `shQuote` (values were already validated against src/config/grammar.ts; quoting is the
 * second fence, not the first). The contract: for every string `s`, bash reads `shQuote(s)` as
 * exactly one word whose value is `s`, with no expansion of any kind.
 */

/** Characters bash never treats specially in a word (outside of the first position for `=`/`~`). */
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

/** One literal bash word for `value` (single-quoted unless every character is inert). */
export function shQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed to bash');
  if (SAFE_WORD.test(value) && !value.startsWith('~')) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** `NAME=<word>`: a bash assignment of one literal value. */
export function shAssign(name: string, value: string | number | boolean): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not a bash variable name: ${name}`);
  return `${name}=${shQuote(String(value))}`;
}

/** `NAME=(<word> <word> …)`: a bash array of literal values. */
export function shArray(name: string, values: readonly string[]): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not a bash variable name: ${name}`);
  return `${name}=(${values.map(shQuote).join(' ')})`;
}

/**
 * A quoted here-document that carries `content` byte for byte (no expansion), ending with a
 * newline; `after` follows the operator on the command line (e.g. ` || true`). Throws if the content contains the delimiter line, which would end it early.
 */
export function heredoc(command: string, delimiter: string, content: string, after = ''): string {
  const body = content.endsWith('\n') ? content : `${content}\n`;
  if (body.split('\n').includes(delimiter)) throw new Error(`content contains the here-document delimiter ${delimiter}`);
  return `${command} <<'${delimiter}'${after}\n${body}${delimiter}`;
}
