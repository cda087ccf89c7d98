/**
 * Hostile input (issue 9, item 3): fast-check fuzzing of `/runner` text through the real HTTP
 * endpoint, signed as Slack signs it, into an in-process bot with test operations registered for
 * every changing verb.
 *
 * For every text and user: the HTTP answer is 200 within Slack's three seconds (never a 5xx);
 * every answer is ephemeral; no answer carries an injected mention, special mention or link
 * unescaped; an operation (a thread root and a record in Redis) appears exactly when the text is a
 * valid changing command, without --dry-run, for a known environment, typed by an operator; and
 * the bot still serves afterwards. The grammar itself is property-tested in
 * src/domain/command.test.ts; here `parseCommand` is the oracle for "valid", and what is under
 * test is that nothing in the path acts beyond it.
 */
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { TYPED_CHANGING_VERBS, isTypedChangingVerb, parseCommand } from '../src/domain/command';
import { SlackFake } from './fakes/slack-fake';
import { startHarness, type Harness } from './support/bot-harness';
import { deletePrefix, testRedisUrl } from './support/redis';
import { scriptedOperation, type StepRun } from './support/test-operations';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

/** Slack's deadline for the ack: a bound of the contract, not a performance figure. */
const SLACK_ACK_MS = 3_000;
const KNOWN_ENVS = new Set(['prod', 'stage']);
const OPERATORS = new Set(['U0ALICE', 'U0BOB', 'U0CAROL']);

/** What must never come back unescaped: injected mentions, special mentions, channel links, links. */
const INJECTED = /<!(channel|here|everyone|subteam)|<@[UW]0EVIL|<#C0EVIL|<(https?|mailto):/;

const VERBS = ['help', 'status', 'history', 'cancel', ...TYPED_CHANGING_VERBS, 'BOOTSTRAP', 'Status', 'remove-stale', 'bootstrp', 'rm', '/runner'];
const ENVS = [
  'prod', 'stage', 'Prod', 'STAGE', 'prod-', 'pr0d', 'stag\u0435' /* Cyrillic e */, 'prod\u200b', 'p\u202erod', 'stage\u0000',
  '<#C0PROD|prod>', '`prod`', '"stage"', '\u201cprod\u201d', '<env>', '&lt;env&gt;', 'prod;', 'stage&&', 'a'.repeat(33), 'dev', 'production',
  '<http://evil.example|prod>', '<mailto:x@evil.example|stage>',
];
const FLAGS = ['--dry-run', '\u2014dry-run', '\u2013dry-run', '-n', '--dry', '--help', '-h', '--force', '--', '--DRY-RUN'];
const IDS = ['op-k3x9qa', 'op-000000', 'OP-K3X9QA', 'op-k3x9q', 'op-k3x9qa;', '<op-id>'];
const IMAGES = ['123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest', 'docker.io/library/alpine', 'http://evil.example/x', `a.com/${'a'.repeat(600)}!`];
const HOSTILE = [
  ';', '$(id)', '`id`', '$(rm -rf /)', '&&', '|', '>', '<', '&', '&amp;', '&lt;!channel&gt;', '<!channel>', '<!here>', '<!everyone>',
  '<!subteam^S0SRE>', '<@U0EVIL>', '<@W0EVIL|evil>', '<#C0EVIL>', '<#C0EVIL|prod>', '*bold*', '_it_', '~s~', '```', '\u0000', '\u202e', '\u2066',
  '\u200b', '\r', '\n', 'x'.repeat(5000), '\u{1F4A5}', '\u0301', '\\', '%00', '{{7*7}}', '${IFS}',
];
const SEPARATORS = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u200b', '\u3000', ''];

const sep = fc.constantFrom(...SEPARATORS);
const token = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...ENVS) },
  { weight: 2, arbitrary: fc.constantFrom(...FLAGS) },
  { weight: 1, arbitrary: fc.constantFrom(...IDS) },
  { weight: 1, arbitrary: fc.constantFrom(...IMAGES) },
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 1, arbitrary: fc.constantFrom(...VERBS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
/** A soup of tokens. */
const words = fc.array(fc.tuple(token, sep), { maxLength: 5 }).map((parts) => parts.map(([t, s]) => `${t}${s}`).join(''));
/** `<verb> <target> [<flag or image>]`: often a valid command. */
const skeleton = fc.tuple(
  fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPED_CHANGING_VERBS) }, { weight: 2, arbitrary: fc.constantFrom(...VERBS) }),
  fc.oneof({ weight: 4, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: sep }),
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom('prod', 'stage') }, { weight: 3, arbitrary: fc.constantFrom(...ENVS) }, { weight: 1, arbitrary: fc.constantFrom(...IDS) }),
  fc.option(fc.tuple(sep, fc.constantFrom('--dry-run', ...FLAGS, ...IMAGES)).map(([s, w]) => `${s}${w}`), { freq: 2 }),
).map(([v, s, target, tail]) => `${v}${s}${target}${tail ?? ''}`);
/** A command with a hostile token spliced in anywhere (inside a word too). */
const spliced = fc.tuple(skeleton, fc.constantFrom(...HOSTILE), fc.nat(), fc.constantFrom('', ' ', '\n')).map(([text, bad, at, s]) => {
  const i = at % (text.length + 1);
  return `${text.slice(0, i)}${s}${bad}${s}${text.slice(i)}`;
});
const grammarText = fc.oneof({ weight: 4, arbitrary: skeleton }, { weight: 3, arbitrary: spliced }, { weight: 1, arbitrary: words });
/** Users: operators (one of them also an approver) and someone who is neither. */
const user = fc.constantFrom('U0ALICE', 'U0CAROL', 'U0MALLORY');

/** Whether the bot may start an operation (post a thread root, write a record) for this text. */
function startsOperation(text: string, userId: string): boolean {
  const parsed = parseCommand(text);
  if (!parsed.ok || !isTypedChangingVerb(parsed.command.verb)) return false;
  const cmd = parsed.command as { env: string; dryRun: boolean };
  return !cmd.dryRun && KNOWN_ENVS.has(cmd.env) && OPERATORS.has(userId);
}

describe('hostile command text (fast-check, through the signed HTTP endpoint)', () => {
  let h: Harness;
  let redis: Redis;
  const runs: StepRun[] = [];
  let n = 0;
  let started = 0;

  beforeAll(async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    h = await startHarness({
      name: 'hostile-commands',
      register: (r) => { for (const verb of TYPED_CHANGING_VERBS) r.register(scriptedOperation({ runs, verb })); },
    });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await h.stop();
    redis.disconnect();
    await deletePrefix(h.prefix);
    ec2.restore();
    ssm.restore();
  });

  const roots = (): number => h.slack.callsOf('chat.postMessage').filter((c) => c.args.thread_ts === undefined).length;
  const records = async (): Promise<number> => (await redis.keys(`${h.prefix}:op:*`)).length;

  /** One command through HTTP; the properties that hold for every text. Returns whether it started an operation. */
  async function check(text: string, userId: string): Promise<void> {
    const rootsBefore = roots();
    const responseId = `fuzz-${n += 1}`;
    const t0 = Date.now();
    const res = await h.command(text, userId, { responseId });
    expect(Date.now() - t0).toBeLessThan(SLACK_ACK_MS);
    expect(res.status).toBe(200);
    let answers: SlackFake['responses'][number]['body'][];
    if (res.json !== undefined) {
      answers = [res.json as Record<string, unknown>];
    } else {
      expect(res.body).toBe('');
      await h.slack.waitFor((f) => f.responses.some((r) => r.id === responseId), 8_000, `an answer to ${JSON.stringify(text.slice(0, 80))}`);
      answers = h.slack.responses.filter((r) => r.id === responseId).map((r) => r.body);
    }
    for (const answer of answers) {
      expect(answer.response_type).toBe('ephemeral');
      expect(SlackFake.textOf({ id: '', body: answer, at: 0 })).not.toMatch(INJECTED);
    }
    const expected = startsOperation(text, userId) ? 1 : 0;
    expect({ text, userId, rootsPosted: roots() - rootsBefore }).toEqual({ text, userId, rootsPosted: expected });
    started += expected;
  }

  it('texts from the grammar\'s tokens with shell/mrkdwn metacharacters, near-miss environments, long words, NUL, RTL overrides', async () => {
    await fc.assert(fc.asyncProperty(grammarText, user, async (text, userId) => { await check(text, userId); }), { numRuns: 250 });
    // Every operation started has exactly one record; nothing was written for the rest.
    expect(await records()).toBe(started);
    expect(started).toBeGreaterThan(0); // the generator does reach valid changing commands
  });

  it('arbitrary Unicode text', async () => {
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 120 }), fc.string({ unit: 'grapheme', maxLength: 60 }), fc.string({ maxLength: 4_100 }));
    await fc.assert(fc.asyncProperty(text, user, async (t, userId) => { await check(t, userId); }), { numRuns: 150 });
    expect(await records()).toBe(started);
  });

  it('keeps serving: /healthz 200 and a valid request still runs', async () => {
    const health = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    expect(health.status).toBe(200);
    await check('bootstrap stage', 'U0ALICE');
  });
});
