/**
 * The `/runner` grammar (CONTRACT §4): `/runner <verb> [<environment>] [arguments] [--dry-run]`.
 *
 * `parseCommand` is the boundary between what a person typed in Slack and a typed Command: it
 * never throws, and every refusal is one friendly line of Slack mrkdwn that says what was wrong
 * and shows the usage of the verb. It checks syntax only; whether the environment exists, and
 * whether this person may act on it, is the caller's business.
 *
 * What Slack sends, and how it is read:
 * - Any Unicode whitespace (tabs, runs of spaces, non-breaking spaces, zero-width spaces)
 *   separates words.
 * - `&amp;`, `&lt;`, `&gt;` are Slack's escapes and are decoded. A link Slack made of something
 *   typed (`<http://host/x|host/x>`) reads as its label, i.e. what the person typed; a bare
 *   `<http://…>` reads as the URL (and then fails the grammar of wherever it stands). Mentions,
 *   channel links and special mentions (`<@U…>`, `<#C…|…>`, `<!here>`) are refused clearly.
 * - Words wrapped in backticks or quotes (copied from a code span) are unwrapped.
 * - A leading em/en dash (macOS "smart dashes" turn `--` into `—`) reads as `--`.
 * - Verbs are case-insensitive; environment names and operation ids are not (they are lowercase
 *   by grammar, and an upper-case one gets a "did you mean" hint instead of a silent fix).
 * - `help` ignores any words after it (`/runner help rotate` shows the help).
 *
 * Echoed input is at most 40 characters, stripped of control and format characters, with
 * backticks replaced and `& < >` escaped, always inside a code span: it cannot inject markup.
 */
import { environmentName, IMAGE_REFERENCE } from '../config/grammar';
import { isOperationId } from './operation-id';

/** The changing verbs a person can type: the grammar, its usage and the help text. */
export const TYPED_CHANGING_VERBS = ['bootstrap', 'rotate', 'reregister', 'verify-ecr', 'destroy'] as const;
export type TypedChangingVerb = (typeof TYPED_CHANGING_VERBS)[number];
/**
 * Changing verbs only a button starts (`runner_remove_stale` on a status answer starts
 * `remove-stale`). They are never typed: `/runner remove-stale …` is an unknown verb.
 */
export const BUTTON_CHANGING_VERBS = ['remove-stale'] as const;
/**
 * Every changing verb an operation record, the registry, the audit log and a thread root can
 * carry: the typed ones and the button-only ones.
 */
export const CHANGING_VERBS = [...TYPED_CHANGING_VERBS, ...BUTTON_CHANGING_VERBS] as const;
export type ChangingVerb = (typeof CHANGING_VERBS)[number];

export const VERBS = ['help', 'status', 'history', ...TYPED_CHANGING_VERBS, 'cancel'] as const;
export type Verb = (typeof VERBS)[number];

export type Command =
  | { verb: 'help' }
  | { verb: 'status'; env: string }
  | { verb: 'history'; env?: string }
  | { verb: 'cancel'; operationId: string }
  | { verb: 'bootstrap' | 'rotate' | 'reregister' | 'destroy'; env: string; dryRun: boolean }
  | { verb: 'verify-ecr'; env: string; image?: string; dryRun: boolean };

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

/** Plain-text usage per verb (escape with `escapeMrkdwn` before sending it to Slack). */
export const USAGE: Readonly<Record<Verb, string>> = {
  help: '/runner help',
  status: '/runner status <env>',
  history: '/runner history [<env>]',
  bootstrap: '/runner bootstrap <env> [--dry-run]',
  rotate: '/runner rotate <env> [--dry-run]',
  reregister: '/runner reregister <env> [--dry-run]',
  'verify-ecr': '/runner verify-ecr <env> [<image>] [--dry-run]',
  destroy: '/runner destroy <env> [--dry-run]',
  cancel: '/runner cancel <operation-id>',
};

export const DRY_RUN_FLAG = '--dry-run';
/** Slack's own limit on slash-command text is 4,000 characters; nothing valid comes close. */
const MAX_TEXT_LENGTH = 4000;
/** The fleet schema's own bound on image references. */
const MAX_IMAGE_LENGTH = 510;
const MAX_ECHO = 40;

/** Any changing verb, typed or button-only (what an operation record may carry). */
export function isChangingVerb(v: string): v is ChangingVerb {
  return (CHANGING_VERBS as readonly string[]).includes(v);
}

/** A changing verb a person may type (takes `--dry-run`). */
export function isTypedChangingVerb(v: string): v is TypedChangingVerb {
  return (TYPED_CHANGING_VERBS as readonly string[]).includes(v);
}

function isVerb(v: string): v is Verb {
  return (VERBS as readonly string[]).includes(v);
}

/** Slack's mrkdwn escaping: the only three characters Slack asks to be escaped. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A piece of user input, made safe to show: short, printable, escaped, in a code span. */
export function echo(input: string): string {
  const chars = Array.from(input.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu, '\uFFFD').replace(/`/g, "'"));
  const short = chars.length > MAX_ECHO ? `${chars.slice(0, MAX_ECHO - 1).join('')}…` : chars.join('');
  return `\`${escapeMrkdwn(short)}\``;
}

const code = (s: string): string => `\`${escapeMrkdwn(s)}\``;
const usage = (verb: Verb): string => code(USAGE[verb]);

/**
 * IMAGE_REFERENCE with its repository separator `[-]*` read as `-+`. The language is the same
 * (an empty separator only joins two runs of [a-z0-9] into one), but the original nests two
 * unbounded quantifiers that can both match the same characters, which backtracks exponentially
 * on near-misses (`a.com/aaaa…a!`): a denial of service from one slash command. command.test.ts
 * checks that both agree.
 */
export const SAFE_IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE.source.split('[-]*').join('-+'), IMAGE_REFERENCE.flags);

export function isImageReference(s: string): boolean {
  return s.length <= MAX_IMAGE_LENGTH && SAFE_IMAGE_REFERENCE.test(s);
}

/** The canonical text of a command (without `/runner`); `parseCommand` reads it back unchanged. */
export function formatCommand(command: Command): string {
  const words: string[] = [command.verb];
  switch (command.verb) {
    case 'help':
      break;
    case 'status':
      words.push(command.env);
      break;
    case 'history':
      if (command.env !== undefined) words.push(command.env);
      break;
    case 'cancel':
      words.push(command.operationId);
      break;
    case 'verify-ecr':
      words.push(command.env);
      if (command.image !== undefined) words.push(command.image);
      if (command.dryRun) words.push(DRY_RUN_FLAG);
      break;
    default:
      words.push(command.env);
      if (command.dryRun) words.push(DRY_RUN_FLAG);
  }
  return words.join(' ');
}

type Step<T> = { ok: true; value: T } | { ok: false; error: string };
const fail = (error: string): { ok: false; error: string } => ({ ok: false, error });

export function parseCommand(text: string): ParseResult {
  try {
    return parse(text);
  } catch {
    // A bug must not become a stack trace in Slack; the tests check that this is never reached.
    return fail('I could not read that command. Try `/runner help`.');
  }
}

function parse(text: string): ParseResult {
  const words = tokenize(text);
  if (!words.ok) return words;
  const tokens = words.value;
  if (tokens[0] === '/runner') tokens.shift();
  const first = tokens.shift();
  if (first === undefined) return { ok: true, command: { verb: 'help' } };

  if (first.startsWith('-')) {
    const flag = first.toLowerCase();
    if (flag === '--help' || flag === '-h') return { ok: true, command: { verb: 'help' } };
    if (flag === DRY_RUN_FLAG) return fail(`${code(DRY_RUN_FLAG)} goes after the verb, e.g. ${code(`/runner rotate <env> ${DRY_RUN_FLAG}`)}.`);
    return fail(`Start with a verb, not the flag ${echo(first)}. Try \`/runner help\`.`);
  }

  const verb = first.toLowerCase();
  if (!isVerb(verb)) return unknownVerb(first, tokens);

  const positionals: string[] = [];
  let dryRun = false;
  for (const token of tokens) {
    if (!token.startsWith('-')) {
      positionals.push(token);
      continue;
    }
    const flag = token.toLowerCase();
    if (flag === DRY_RUN_FLAG) {
      dryRun = true;
    } else if (flag === '--help' || flag === '-h') {
      return verb === 'help' ? { ok: true, command: { verb } } : fail(`Usage: ${usage(verb)}`);
    } else {
      const hint = /^-{1,2}(n|dry.?run|dry|dryrun)$/.test(flag) ? ` (did you mean ${code(DRY_RUN_FLAG)}?)` : '';
      return fail(`Unknown flag ${echo(token)}${hint}: ${usage(verb)}`);
    }
  }
  if (dryRun && !isTypedChangingVerb(verb)) {
    return fail(`${code(DRY_RUN_FLAG)} only applies to verbs that change something (${TYPED_CHANGING_VERBS.join(', ')}): ${usage(verb)}`);
  }
  return parseArguments(verb, positionals, dryRun);
}

function parseArguments(verb: Verb, args: string[], dryRun: boolean): ParseResult {
  const [first, second, third] = args;
  switch (verb) {
    case 'help':
      return { ok: true, command: { verb } };
    case 'history': {
      if (second !== undefined) return extra(verb, second, 'at most one environment');
      if (first === undefined) return { ok: true, command: { verb } };
      const env = parseEnv(verb, first);
      return env.ok ? { ok: true, command: { verb, env: env.value } } : env;
    }
    case 'cancel': {
      if (first === undefined) return fail(`\`cancel\` needs an operation id: ${usage(verb)} (the id is in the operation's thread and in \`/runner history\`).`);
      if (second !== undefined) return extra(verb, second, 'one operation id');
      const id = parseOperationId(first);
      return id.ok ? { ok: true, command: { verb, operationId: id.value } } : id;
    }
    case 'verify-ecr': {
      if (first === undefined) return missingEnv(verb);
      if (third !== undefined) return extra(verb, third, 'an environment and an optional image');
      const env = parseEnv(verb, first);
      if (!env.ok) return env;
      if (second === undefined) return { ok: true, command: { verb, env: env.value, dryRun } };
      const image = parseImage(second);
      return image.ok ? { ok: true, command: { verb, env: env.value, image: image.value, dryRun } } : image;
    }
    case 'status':
    case 'bootstrap':
    case 'rotate':
    case 'reregister':
    case 'destroy': {
      if (first === undefined) return missingEnv(verb);
      if (second !== undefined) return extra(verb, second, 'one environment');
      const env = parseEnv(verb, first);
      if (!env.ok) return env;
      return verb === 'status' ? { ok: true, command: { verb, env: env.value } } : { ok: true, command: { verb, env: env.value, dryRun } };
    }
  }
}

/** Splits Slack's text into words, after undoing Slack's escaping and link formatting. */
function tokenize(text: unknown): Step<string[]> {
  if (typeof text !== 'string') return fail('The command came without text. Try `/runner help`.');
  if (text.length > MAX_TEXT_LENGTH) return fail('That command is too long. Try `/runner help`.');
  let refusal: string | undefined;
  const unlinked = text.replace(/<([^<>]*)>/g, (all, inner: string) => {
    if (inner.startsWith('#')) refusal ??= 'Type the environment name as plain text, not as a channel link (no `#`). Try `/runner help`.';
    else if (inner.startsWith('@') || inner.startsWith('!')) refusal ??= '`/runner` does not take mentions; type the environment name or operation id. Try `/runner help`.';
    // Only links are unwrapped; anything else between brackets stays as typed (e.g. `<env>`).
    if (!/^[a-z][a-z0-9+.-]*:/i.test(inner)) return all;
    const bar = inner.indexOf('|');
    return ` ${bar >= 0 ? inner.slice(bar + 1) : inner} `;
  });
  if (refusal !== undefined) return fail(refusal);
  const decoded = unlinked.replace(/&(amp|lt|gt);/g, (_all, name: string) => (name === 'amp' ? '&' : name === 'lt' ? '<' : '>'));
  const words = decoded
    .split(/[\s\u180E\u200B-\u200D\u2060]+/u)
    .map((w) => w.replace(/^[`'"\u2018\u2019\u201C\u201D]+|[`'"\u2018\u2019\u201C\u201D]+$/g, '').replace(/^[\u2013\u2014](?=[A-Za-z])/, '--'))
    .filter((w) => w.length > 0);
  return { ok: true, value: words };
}

function parseEnv(verb: Verb, token: string): Step<string> {
  if (environmentName.safeParse(token).success) return { ok: true, value: token };
  if (isPlaceholder(token)) return fail(`Replace ${echo(token)} with the name of an environment: ${usage(verb)}`);
  const lower = token.toLowerCase();
  if (environmentName.safeParse(lower).success) return fail(`Environment names are lowercase; did you mean ${code(lower)}? Usage: ${usage(verb)}`);
  const why = token.length > 32 ? 'is too long for an environment name (at most 32 characters)' : 'is not an environment name (lowercase letters, digits and dashes, starting with a letter)';
  return fail(`${echo(token)} ${why}: ${usage(verb)}`);
}

function parseOperationId(token: string): Step<string> {
  if (isOperationId(token)) return { ok: true, value: token };
  if (isPlaceholder(token)) return fail(`Replace ${echo(token)} with an operation id such as \`op-k3x9qa\`: ${usage('cancel')}`);
  if (isOperationId(token.toLowerCase())) return fail(`Operation ids are lowercase; did you mean ${code(token.toLowerCase())}? Usage: ${usage('cancel')}`);
  return fail(`${echo(token)} is not an operation id (they look like \`op-k3x9qa\`): ${usage('cancel')}`);
}

function parseImage(token: string): Step<string> {
  if (isImageReference(token)) return { ok: true, value: token };
  if (isPlaceholder(token)) return fail(`Replace ${echo(token)} with an image reference, or leave it out to use the fleet's verify image: ${usage('verify-ecr')}`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(token)) return fail(`Give the image without a scheme (no ${echo(token.slice(0, token.indexOf('://') + 3))}): ${usage('verify-ecr')}`);
  return fail(`${echo(token)} is not an image reference with its registry host (such as \`123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest\`): ${usage('verify-ecr')}`);
}

/** `<env>`, `[<image>]`: a placeholder copied from the usage text. */
function isPlaceholder(token: string): boolean {
  return /^\[?<[^<>]*>\]?$/.test(token);
}

function missingEnv(verb: Verb): ParseResult {
  return fail(`\`${verb}\` needs an environment: ${usage(verb)}`);
}

function extra(verb: Verb, token: string, takes: string): ParseResult {
  return fail(`\`${verb}\` takes ${takes}; unexpected ${echo(token)}: ${usage(verb)}`);
}

function unknownVerb(first: string, rest: readonly string[]): ParseResult {
  const lower = first.toLowerCase();
  const next = rest[0]?.toLowerCase();
  if (next !== undefined && isVerb(next) && environmentName.safeParse(first).success) {
    return fail(`The verb comes first: ${code(`/runner ${next} ${first}`)}. Try \`/runner help\` for all verbs.`);
  }
  const near = VERBS.find((v) => (lower.length >= 3 && v.startsWith(lower)) || editDistance(v, lower) <= 2);
  const hint = near === undefined ? '' : ` Did you mean ${usage(near)}?`;
  return fail(`I don't know the verb ${echo(first)}.${hint} Try \`/runner help\` for all verbs.`);
}

/** Levenshtein distance, bounded by the caller to short words (verbs are ≤ 10 characters). */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
