import fc from 'fast-check';
import { IMAGE_REFERENCE } from '../config/grammar';
import {
  CHANGING_VERBS,
  type Command,
  echo,
  escapeMrkdwn,
  formatCommand,
  isChangingVerb,
  isTypedChangingVerb,
  parseCommand,
  type ParseResult,
  SAFE_IMAGE_REFERENCE,
  TYPED_CHANGING_VERBS,
  USAGE,
  VERBS,
} from './command';
import { helpText } from './help-text';

const IMAGE = '123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest';
const DIGEST = `public.ecr.aws/docker/library/alpine@sha256:${'ab'.repeat(32)}`;
const BUG = 'I could not read that command';

function ok(text: string): Command {
  const result = parseCommand(text);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got: ${result.error}`);
  return result.command;
}

function error(text: string): string {
  const result = parseCommand(text);
  if (result.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused, got: ${JSON.stringify(result.command)}`);
  return result.error;
}

/** What every refusal must be: one line of mrkdwn, with nothing unescaped Slack could parse. */
function expectSafeError(message: string): void {
  expect(message).not.toMatch(/[\n\r<>]/);
  expect(message.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
  expect(message.length).toBeLessThanOrEqual(400);
}

function expectWellFormed(result: ParseResult): void {
  expect(typeof result.ok).toBe('boolean');
  if (result.ok) {
    expect(VERBS).toContain(result.command.verb);
  } else {
    expect(typeof result.error).toBe('string');
    expect(result.error).not.toContain(BUG);
    expectSafeError(result.error);
  }
}

describe('parseCommand: valid commands', () => {
  it.each<[string, Command]>([
    ['', { verb: 'help' }],
    [' \t \u00a0 ', { verb: 'help' }],
    ['help', { verb: 'help' }],
    ['HELP', { verb: 'help' }],
    ['help rotate', { verb: 'help' }],
    ['--help', { verb: 'help' }],
    ['-h', { verb: 'help' }],
    ['help --help', { verb: 'help' }],
    ['status prod', { verb: 'status', env: 'prod' }],
    ['Status   prod', { verb: 'status', env: 'prod' }],
    ['status\tprod\n', { verb: 'status', env: 'prod' }],
    ['status\u00a0prod', { verb: 'status', env: 'prod' }],
    ['status\u200bprod', { verb: 'status', env: 'prod' }],
    ['\u3000status\u2003prod\u00a0', { verb: 'status', env: 'prod' }],
    ['status `prod`', { verb: 'status', env: 'prod' }],
    ['`status prod`', { verb: 'status', env: 'prod' }],
    ['status \u201cprod\u201d', { verb: 'status', env: 'prod' }],
    ['/runner status prod', { verb: 'status', env: 'prod' }],
    [`status ${'a'.repeat(32)}`, { verb: 'status', env: 'a'.repeat(32) }],
    ['status eu-1-ci', { verb: 'status', env: 'eu-1-ci' }],
    ['history', { verb: 'history' }],
    ['history staging', { verb: 'history', env: 'staging' }],
    ['bootstrap prod', { verb: 'bootstrap', env: 'prod', dryRun: false }],
    ['rotate prod', { verb: 'rotate', env: 'prod', dryRun: false }],
    ['reregister prod', { verb: 'reregister', env: 'prod', dryRun: false }],
    ['destroy prod', { verb: 'destroy', env: 'prod', dryRun: false }],
    ['bootstrap prod --dry-run', { verb: 'bootstrap', env: 'prod', dryRun: true }],
    ['rotate --dry-run prod', { verb: 'rotate', env: 'prod', dryRun: true }],
    ['REREGISTER prod --DRY-RUN', { verb: 'reregister', env: 'prod', dryRun: true }],
    ['destroy prod --dry-run --dry-run', { verb: 'destroy', env: 'prod', dryRun: true }],
    ['rotate prod \u2014dry-run', { verb: 'rotate', env: 'prod', dryRun: true }],
    ['rotate prod \u2013dry-run', { verb: 'rotate', env: 'prod', dryRun: true }],
    ['verify-ecr prod', { verb: 'verify-ecr', env: 'prod', dryRun: false }],
    ['verify-ecr prod --dry-run', { verb: 'verify-ecr', env: 'prod', dryRun: true }],
    [`verify-ecr prod ${IMAGE}`, { verb: 'verify-ecr', env: 'prod', image: IMAGE, dryRun: false }],
    [`Verify-ECR --dry-run prod ${DIGEST}`, { verb: 'verify-ecr', env: 'prod', image: DIGEST, dryRun: true }],
    [`verify-ecr prod <http://${IMAGE}|${IMAGE}>`, { verb: 'verify-ecr', env: 'prod', image: IMAGE, dryRun: false }],
    ['verify-ecr prod localhost.localdomain:5000/a/b__c', { verb: 'verify-ecr', env: 'prod', image: 'localhost.localdomain:5000/a/b__c', dryRun: false }],
    ['cancel op-k3x9qa', { verb: 'cancel', operationId: 'op-k3x9qa' }],
    ['CANCEL  op-aaaaaa ', { verb: 'cancel', operationId: 'op-aaaaaa' }],
  ])('%j', (text, expected) => {
    expect(ok(text)).toEqual(expected);
  });
});

describe('parseCommand: refusals', () => {
  const needsEnv = ['status', 'bootstrap', 'rotate', 'reregister', 'verify-ecr', 'destroy'] as const;

  it.each(needsEnv)('`%s` without an environment names the verb and shows its usage', (verb) => {
    expect(error(verb)).toBe(`\`${verb}\` needs an environment: \`${escapeMrkdwn(USAGE[verb])}\``);
  });

  it('`status` without an environment reads as in the brief', () => {
    expect(error('status')).toBe('`status` needs an environment: `/runner status &lt;env&gt;`');
  });

  it.each<[string, RegExp]>([
    // unknown verbs
    ['deploy prod', /^I don't know the verb `deploy`\. Try `\/runner help`/],
    ['stauts prod', /Did you mean `\/runner status &lt;env&gt;`\?/],
    ['verify prod', /Did you mean `\/runner verify-ecr/],
    ['rotat prod', /Did you mean `\/runner rotate/],
    ['prod status', /^The verb comes first: `\/runner status prod`/],
    ['PROD! status', /^I don't know the verb `PROD!`/],
    // missing operation id
    ['cancel', /^`cancel` needs an operation id: `\/runner cancel &lt;operation-id&gt;`/],
    // extra arguments
    ['status prod staging', /^`status` takes one environment; unexpected `staging`: `\/runner status &lt;env&gt;`$/],
    ['history prod staging', /^`history` takes at most one environment; unexpected `staging`/],
    ['bootstrap prod now', /^`bootstrap` takes one environment; unexpected `now`: `\/runner bootstrap &lt;env&gt; \[--dry-run\]`$/],
    ['rotate prod now', /^`rotate` takes one environment; unexpected `now`/],
    ['reregister prod now', /^`reregister` takes one environment; unexpected `now`/],
    ['destroy prod now', /^`destroy` takes one environment; unexpected `now`/],
    [`verify-ecr prod ${IMAGE} extra`, /^`verify-ecr` takes an environment and an optional image; unexpected `extra`/],
    ['cancel op-k3x9qa op-aaaaaa', /^`cancel` takes one operation id; unexpected `op-aaaaaa`/],
    // environment syntax
    ['status Prod', /^Environment names are lowercase; did you mean `prod`\? Usage: `\/runner status &lt;env&gt;`$/],
    ['status 1prod', /^`1prod` is not an environment name \(lowercase letters, digits and dashes, starting with a letter\): `\/runner status/],
    ['status prod!', /^`prod!` is not an environment name/],
    ['status pr_od', /^`pr_od` is not an environment name/],
    [`rotate ${'a'.repeat(33)}`, /is too long for an environment name \(at most 32 characters\): `\/runner rotate/],
    ['status <env>', /^Replace `&lt;env&gt;` with the name of an environment: `\/runner status &lt;env&gt;`$/],
    ['status &lt;env&gt;', /^Replace `&lt;env&gt;` with the name of an environment/],
    ['history [&lt;env&gt;]', /^Replace `\[&lt;env&gt;\]` with the name of an environment: `\/runner history/],
    // operation id syntax
    ['cancel op-123456', /^`op-123456` is not an operation id \(they look like `op-k3x9qa`\): `\/runner cancel &lt;operation-id&gt;`$/],
    ['cancel prod', /^`prod` is not an operation id/],
    ['cancel OP-K3X9QA', /^Operation ids are lowercase; did you mean `op-k3x9qa`\?/],
    ['cancel <operation-id>', /^Replace `&lt;operation-id&gt;` with an operation id/],
    // image syntax
    ['verify-ecr prod ubuntu:22.04', /^`ubuntu:22.04` is not an image reference with its registry host \(such as `123456789012\.dkr/],
    ['verify-ecr prod Public.ecr.aws/Alpine', /is not an image reference/],
    [`verify-ecr prod https://${IMAGE}`, /^Give the image without a scheme \(no `https:\/\/`\): `\/runner verify-ecr/],
    [`verify-ecr prod <https://${IMAGE}>`, /^Give the image without a scheme/],
    ['verify-ecr prod <image>', /^Replace `&lt;image&gt;` with an image reference, or leave it out/],
    [`verify-ecr prod a.com/${'a'.repeat(600)}`, /is not an image reference/],
    // flags
    ['status prod --dry-run', /^`--dry-run` only applies to verbs that change something \(bootstrap, rotate, reregister, verify-ecr, destroy\): `\/runner status &lt;env&gt;`$/],
    ['history --dry-run', /^`--dry-run` only applies to verbs that change something.*`\/runner history/],
    ['cancel op-k3x9qa --dry-run', /^`--dry-run` only applies.*`\/runner cancel/],
    ['help --dry-run', /^`--dry-run` only applies.*`\/runner help`$/],
    ['--dry-run rotate prod', /^`--dry-run` goes after the verb, e\.g\. `\/runner rotate &lt;env&gt; --dry-run`/],
    ['--force rotate prod', /^Start with a verb, not the flag `--force`/],
    ['rotate prod --force', /^Unknown flag `--force`: `\/runner rotate &lt;env&gt; \[--dry-run\]`$/],
    ['status prod --verbose', /^Unknown flag `--verbose`: `\/runner status &lt;env&gt;`$/],
    ['rotate prod -n', /^Unknown flag `-n` \(did you mean `--dry-run`\?\)/],
    ['rotate prod --dryrun', /\(did you mean `--dry-run`\?\)/],
    ['rotate prod --dry_run', /\(did you mean `--dry-run`\?\)/],
    ['rotate prod --dry-run=true', /^Unknown flag `--dry-run=true`/],
    ['rotate prod --help', /^Usage: `\/runner rotate &lt;env&gt; \[--dry-run\]`$/],
    // Slack markup
    ['status <@U0ALICE>', /does not take mentions/],
    ['status <!here>', /does not take mentions/],
    ['status <!subteam^S0SRE|@sre>', /does not take mentions/],
    ['status <#C0PRODOPS|prod>', /not as a channel link/],
    // size
    [`status ${'x'.repeat(5000)}`, /^That command is too long/],
  ])('%j', (text, expected) => {
    const message = error(text);
    expect(message).toMatch(expected);
    expectSafeError(message);
  });

  it.each([
    ['status &lt;!channel&gt;', '`&lt;!channel&gt;`'],
    ['status a&amp;b', '`a&amp;b`'],
    ['status *bold*', '`*bold*`'],
    ['de`ploy prod', "`de'ploy`"],
    ['status prod\u202eevil', '`prod\uFFFDevil`'],
  ])('echoes %j only escaped, inside a code span', (text, echoed) => {
    const message = error(text);
    expectSafeError(message);
    expect(message).toContain(echoed);
  });

  it('echoes at most 40 characters of input', () => {
    const message = error(`frobnicate${'x'.repeat(200)} prod`);
    const echoed = /`([^`]*)`/.exec(message)?.[1] ?? '';
    expect(Array.from(echoed)).toHaveLength(40);
    expect(echoed.endsWith('…')).toBe(true);
  });

  it('truncates by code point, never splitting a surrogate pair', () => {
    const message = error(`${'😀'.repeat(60)}`);
    expect(message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
  });

  it('refuses a near-miss image quickly (the fleet grammar regex backtracks exponentially on it)', () => {
    // With IMAGE_REFERENCE itself this input takes ~2^64 steps; the test would never finish.
    expect(error(`verify-ecr prod a.com/${'a'.repeat(64)}!`)).toMatch(/is not an image reference/);
    expect(error(`verify-ecr prod a.com/${'a'.repeat(500)}!`)).toMatch(/is not an image reference/);
  });
});

describe('echo', () => {
  it.each([
    ['plain', '`plain`'],
    ['<b>&', '`&lt;b&gt;&amp;`'],
    ['a`b', "`a'b`"],
    ['tab\there', '`tab\uFFFDhere`'],
  ])('%j → %j', (input, expected) => {
    expect(echo(input)).toBe(expected);
  });
});

describe('isChangingVerb', () => {
  it.each(VERBS.map((v) => [v, (CHANGING_VERBS as readonly string[]).includes(v)] as const))('%s → %s', (verb, expected) => {
    expect(isChangingVerb(verb)).toBe(expected);
  });
});

describe('button-only changing verbs (remove-stale)', () => {
  it('are changing verbs an operation can carry, but not typed ones', () => {
    expect(CHANGING_VERBS).toEqual([...TYPED_CHANGING_VERBS, 'remove-stale']);
    expect(isChangingVerb('remove-stale')).toBe(true);
    expect(isTypedChangingVerb('remove-stale')).toBe(false);
    expect(TYPED_CHANGING_VERBS.every((v) => isTypedChangingVerb(v))).toBe(true);
    expect(VERBS).toEqual(['help', 'status', 'history', 'bootstrap', 'rotate', 'reregister', 'verify-ecr', 'destroy', 'cancel']);
    expect(Object.keys(USAGE)).not.toContain('remove-stale');
    expect(helpText({ environments: [{ name: 'prod', mayRequest: true, approvalRequired: true }] })).not.toContain('remove-stale');
  });

  it.each(['remove-stale prod', 'remove-stale', 'REMOVE-STALE stage --dry-run', '/runner remove-stale prod'])('%j is an unknown verb', (text) => {
    expect(error(text)).toMatch(/^I don't know the verb `remove-stale`/i);
  });

  it('--dry-run on a verb that changes nothing names only the typed changing verbs', () => {
    const e = error('status prod --dry-run');
    expect(e).toContain('(bootstrap, rotate, reregister, verify-ecr, destroy)');
    expect(e).not.toContain('remove-stale');
  });
});

// ---------------------------------------------------------------- properties

const envName = fc.stringMatching(/^[a-z][a-z0-9-]{0,31}$/);
const operationId = fc
  .string({ unit: fc.constantFrom(...'0123456789abcdefghijklmnopqrstuvwxyz'), minLength: 6, maxLength: 6 })
  .filter((s) => /[a-z]/.test(s))
  .map((s) => `op-${s}`);
const component = fc.stringMatching(/^[a-z0-9]{1,6}(?:(?:[._]|__|-{1,2})[a-z0-9]{1,6}){0,2}$/);
const image = fc
  .tuple(
    fc.constantFrom('123456789012.dkr.ecr.eu-central-1.amazonaws.com', 'public.ecr.aws', 'registry.example.com:5000'),
    fc.array(component, { minLength: 1, maxLength: 3 }),
    fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/), { nil: undefined }),
    fc.option(fc.stringMatching(/^[0-9a-f]{64}$/), { nil: undefined }),
  )
  .map(([host, path, tag, digest]) => `${host}/${path.join('/')}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@sha256:${digest}`}`);

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.constant<Command>({ verb: 'help' }),
  envName.map((env): Command => ({ verb: 'status', env })),
  fc.option(envName, { nil: undefined }).map((env): Command => (env === undefined ? { verb: 'history' } : { verb: 'history', env })),
  operationId.map((operationId): Command => ({ verb: 'cancel', operationId })),
  fc.tuple(fc.constantFrom('bootstrap', 'rotate', 'reregister', 'destroy' as const), envName, fc.boolean()).map(([verb, env, dryRun]): Command => ({ verb, env, dryRun })),
  fc.tuple(envName, fc.option(image, { nil: undefined }), fc.boolean()).map(([env, img, dryRun]): Command => (img === undefined ? { verb: 'verify-ecr', env, dryRun } : { verb: 'verify-ecr', env, image: img, dryRun })),
);

const separator = fc.stringMatching(/^[ \t\u00a0\u2003\u200b\n]{1,4}$/);

/** The command as a person might type it: odd spacing, verb case, --dry-run anywhere after the verb. */
const typed = fc
  .tuple(command, fc.array(separator, { minLength: 8, maxLength: 8 }), fc.nat(), fc.boolean(), fc.boolean(), fc.boolean())
  .map(([cmd, seps, position, upperVerb, leading, linkImage]) => {
    const words = formatCommand(cmd).split(' ').filter((w) => w !== '--dry-run');
    if (upperVerb) words[0] = words[0]?.toUpperCase() ?? '';
    if (linkImage && cmd.verb === 'verify-ecr' && cmd.image !== undefined) words[2] = `<http://${cmd.image}|${cmd.image}>`;
    if ('dryRun' in cmd && cmd.dryRun) words.splice(1 + (position % words.length), 0, '--dry-run');
    const text = words.map((w, i) => `${w}${seps[i] ?? ' '}`).join('');
    return { cmd, text: leading ? `${seps[7] ?? ''}${text}` : text };
  });

const nearValidToken = fc.oneof(
  fc.constantFrom(...VERBS, 'Status', 'ROTATE', 'verify', 'stauts', 'cancel', 'help'),
  envName,
  operationId,
  image,
  fc.constantFrom('--dry-run', '—dry-run', '-n', '--force', '--help', '-', '--', '<env>', '&lt;env&gt;', '&amp;', '<@U0X>', '<#C0X|prod>', '<!here>'),
  fc.constantFrom('Prod', 'PROD', 'op-123456', 'OP-K3X9QA', 'ubuntu:22.04', 'https://a.com/x', '`prod`', '"prod"', '<http://a.com/x|a.com/x>', '<http://a.com/x>'),
  fc.string({ maxLength: 12 }),
);
const nearValid = fc
  .tuple(fc.array(nearValidToken, { maxLength: 6 }), fc.array(separator, { minLength: 6, maxLength: 6 }))
  .map(([tokens, seps]) => tokens.map((t, i) => `${t}${seps[i] ?? ' '}`).join(''));

describe('parseCommand: properties', () => {
  it('never throws and always returns one of the two shapes, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme', maxLength: 40 })), (text) => {
        expectWellFormed(parseCommand(text));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and always returns one of the two shapes, for near-valid commands', () => {
    fc.assert(
      fc.property(nearValid, (text) => {
        expectWellFormed(parseCommand(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('never throws for values that are not strings at all (a boundary that was not typed)', () => {
    for (const v of [undefined, null, 42, {}, ['status', 'prod']]) {
      expectWellFormed(parseCommand(v as unknown as string));
    }
  });

  it('reads back its own canonical form: parseCommand(formatCommand(c)) = c', () => {
    fc.assert(
      fc.property(command, (cmd) => {
        expect(parseCommand(formatCommand(cmd))).toEqual({ ok: true, command: cmd });
      }),
      { numRuns: 500 },
    );
  });

  it('reads valid commands however they are spaced, cased and flagged', () => {
    fc.assert(
      fc.property(typed, ({ cmd, text }) => {
        expect(parseCommand(text)).toEqual({ ok: true, command: cmd });
      }),
      { numRuns: 500 },
    );
  });
});

describe('SAFE_IMAGE_REFERENCE', () => {
  it('accepts exactly what IMAGE_REFERENCE accepts (short strings, where the original is still fast)', () => {
    const tail = fc.string({ unit: fc.constantFrom(...'ab0._-/:@A'), maxLength: 14 });
    const prefix = fc.constantFrom('a.com/', 'a.b:5000/', 'A.com/', 'a/', '', 'a.com/x-', 'a.com/x__');
    fc.assert(
      fc.property(prefix, tail, (p, t) => {
        const s = p + t;
        expect(SAFE_IMAGE_REFERENCE.test(s)).toBe(IMAGE_REFERENCE.test(s));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts the generated images', () => {
    fc.assert(
      fc.property(image, (s) => {
        expect(SAFE_IMAGE_REFERENCE.test(s)).toBe(true);
        expect(IMAGE_REFERENCE.test(s)).toBe(true);
      }),
    );
  });

  it('keeps the named groups of IMAGE_REFERENCE', () => {
    expect(SAFE_IMAGE_REFERENCE.exec(IMAGE)?.groups).toEqual(IMAGE_REFERENCE.exec(IMAGE)?.groups);
  });
});
