import fc from 'fast-check';
import { REDACTED, redact, tail } from './redact';

const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const upperDigits = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const b64 = `${alnum}/+`;
const chars = (alphabet: string, min: number, max: number) =>
  fc.array(fc.constantFrom(...alphabet.split('')), { minLength: min, maxLength: max }).map((a) => a.join(''));

/** A secret value and the text it appears in (with whatever context makes it a secret). */
interface Embedded { secret: string; render: (before: string, after: string) => string }

const secretCases: Record<string, fc.Arbitrary<Embedded>> = {
  slackBot: chars(alnum, 24, 48).map((b) => bare(`xoxb-1234-${b}`)),
  slackUser: chars(alnum, 24, 48).map((b) => bare(`xoxp-99-${b}`)),
  slackRefresh: chars(alnum, 24, 48).map((b) => bare(`xoxe.xoxp-1-${b}`)),
  slackApp: chars(alnum, 24, 48).map((b) => bare(`xapp-1-A0-${b}`)),
  gitlabRunner: chars(`${alnum}_-`, 20, 40).map((b) => bare(`glrt-${b}`)),
  gitlabPat: chars(`${alnum}_-`, 20, 40).map((b) => bare(`glpat-${b}`)),
  gitlabDeploy: chars(`${alnum}_-`, 20, 40).map((b) => bare(`gldt-${b}`)),
  gitlabRegistration: chars(alnum, 20, 30).map((b) => bare(`GR1348941${b}`)),
  awsKeyId: fc.tuple(fc.constantFrom('AKIA', 'ASIA'), chars(upperDigits, 16, 16)).map(([p, b]) => bare(`${p}${b}`)),
  awsSecret: fc.tuple(chars(b64, 40, 40), fc.constantFrom('aws_secret_access_key = ', 'AWS_SECRET_ACCESS_KEY=', '"SecretAccessKey": "', 'SecretAccessKey: '))
    .map(([v, k]) => ({ secret: v, render: (a, b) => `${a}\n${k}${v}\n${b}` })),
  bearer: chars(`${alnum}._-`, 16, 60).map((v) => ({ secret: v, render: (a, b) => `${a}\nAuthorization: Bearer ${v}\n${b}` })),
  tomlToken: chars(`${alnum}_-`, 12, 40).map((v) => ({ secret: v, render: (a, b) => `${a}\n  token = "${v}"\n${b}` })),
  urlPassword: fc.tuple(chars(alnum, 3, 10), chars(`${alnum}-_.~!$`, 12, 30))
    .map(([u, p]) => ({ secret: p, render: (a, b) => `${a} https://${u}:${p}@git.example.com/x.git ${b}` })),
  pemKey: chars(`${b64}\n`, 60, 200).map((body) => {
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${body}\n-----END RSA PRIVATE KEY-----`;
    return { secret: body, render: (a, b) => `${a}\n${key}\n${b}` };
  }),
};

function bare(secret: string): Embedded {
  return { secret, render: (a, b) => `${a}${secret}${b}` };
}

describe('redact', () => {
  it.each(Object.entries(secretCases))('a %s embedded anywhere in random text never survives', (_name, arb) => {
    fc.assert(fc.property(arb, fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 }), (s, before, after) => {
      const out = redact(s.render(before, after));
      expect(out).not.toContain(s.secret);
      expect(out).toContain(REDACTED);
    }), { numRuns: 200 });
  });

  it('is idempotent', () => {
    const all = fc.oneof(...Object.values(secretCases));
    fc.assert(fc.property(all, fc.string({ maxLength: 40 }), (s, around) => {
      const once = redact(s.render(around, around));
      expect(redact(once)).toBe(once);
    }), { numRuns: 300 });
  });

  it.each([
    ['slack bot token', 'token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx ok', 'token [redacted] ok'],
    ['runner token', 'registered glrt-t1_AbCdEfGhIjKlMnOpQrSt.', 'registered [redacted]'],
    ['access key id', 'key=AKIAIOSFODNN7EXAMPLE,', 'key=[redacted],'],
    ['aws secret', 'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = [redacted]'],
    ['bearer header', 'curl -H "Authorization: Bearer abc.def.ghi123"', 'curl -H "Authorization: Bearer [redacted]"'],
    ['PRIVATE-TOKEN header', 'PRIVATE-TOKEN: s3cr3tvalue', 'PRIVATE-TOKEN: [redacted]'],
    ['url password', 'clone https://oauth2:hunter2hunter2@gitlab.example.com/g/p.git', 'clone https://oauth2:[redacted]@gitlab.example.com/g/p.git'],
    ['redis url', 'redis://:pa55word@redis:6379/0', 'redis://:[redacted]@redis:6379/0'],
    ['toml token', '[[runners]]\n  token = "abc123"\n  url = "https://gitlab.com"', '[[runners]]\n  token = "[redacted]"\n  url = "https://gitlab.com"'],
    ['json token', '{"id":7,"token":"abc123","status":"online"}', '{"id":7,"token":"[redacted]","status":"online"}'],
    ['env assignment', 'export GITLAB_TOKEN=abc123 && run', 'export GITLAB_TOKEN=[redacted] && run'],
    ['unterminated PEM', 'oops\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA', 'oops\n[redacted]'],
  ])('redacts a %s', (_name, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  it.each([
    'FF_DISABLE_AUTOMATIC_TOKEN_ROTATION = true',
    'environment = ["FF_DISABLE_AUTOMATIC_TOKEN_ROTATION=true"]',
    'token_expires_at = "2026-01-01T00:00:00Z"',
    'https://gitlab.com/api/v4/runners/42',
    'docker-credential-ecr-login version 0.12.0',
    'i-0123456789abcdef0 sg-0aaa subnet-0bbb',
  ])('leaves ordinary output alone: %s', (line) => {
    expect(redact(line)).toBe(line);
  });
});

describe('tail', () => {
  it('keeps short text as it is (minus trailing blank lines)', () => {
    expect(tail('a\nb\n\n', 10, 100)).toBe('a\nb');
  });

  it('keeps the last lines and marks the cut', () => {
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    expect(tail(text, 3, 1000)).toBe('…\nline 97\nline 98\nline 99');
  });

  it('keeps whole lines within the character budget', () => {
    expect(tail('aaaa\nbbbb\ncccc', 10, 12)).toBe('…\nbbbb\ncccc');
  });

  it('keeps the end of one over-long line without splitting a surrogate pair', () => {
    const out = tail(`${'x'.repeat(50)}😀😀😀`, 5, 7);
    expect(out).toBe('…\n😀😀'); // a third emoji would need 6 units of the 5 left
  });

  it('never exceeds its budgets', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 3, max: 200 }), (text, lines, max) => {
      const out = tail(text, lines, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out.replace(/^…\n/, '').split('\n').length).toBeLessThanOrEqual(lines);
    }));
  });
});
