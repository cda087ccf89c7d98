/**
 * Secret redaction for anything a person or a log may read: command output tails, error messages,
 * dry-run artifacts posted to Slack. The contract (CONTRACT §6) is that secrets never reach Slack
 * or the logs; this is the last line of defence, not the first (scripts must not print secrets).
 *
 * Rules lean towards over-redaction: a false positive costs a `[redacted]` in a log line, a false
 * negative leaks a credential. Known token formats are matched anywhere (no word boundary, so a
 * token glued to other text still goes); contextual secrets (AWS secret keys, Bearer values,
 * TOML/JSON/env assignments, URL passwords) keep their key name and lose their value.
 */

export const REDACTED = '[redacted]';

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  /** Replacement string ($1… allowed); defaults to REDACTED. */
  readonly replace?: string;
}

// Characters a token body is made of (base64url plus the separators some formats use).
const BODY = '[A-Za-z0-9_.=-]';

const RULES: readonly Rule[] = [
  // PEM private keys, whole block; an unterminated block (a cut-off tail) is redacted to the end.
  {
    name: 'pem-private-key',
    pattern: /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g,
  },
  // Slack: bot/user/app-config/refresh tokens (xoxb-, xoxp-, xoxa-, xoxr-, xoxe.xoxp-…), app tokens.
  { name: 'slack-token', pattern: new RegExp(`xox[a-z](?:\\.xox[a-z])?-${BODY}{6,}`, 'g') },
  { name: 'slack-app-token', pattern: new RegExp(`xapp-${BODY}{6,}`, 'g') },
  // GitLab: personal/project/group access, runner auth, deploy, trigger, CI job, feed, OAuth… tokens.
  {
    name: 'gitlab-token',
    pattern: new RegExp(`gl(?:pat|rt|dt|ptt|cbt|ft|imt|soat|oas|agent|ffct|rtr|wt)-${BODY}{6,}`, 'g'),
  },
  // GitLab runner registration tokens (legacy) start with this fixed prefix.
  { name: 'gitlab-registration-token', pattern: new RegExp(`GR1348941${BODY}{6,}`, 'g') },
  // AWS access key ids (long-term AKIA, temporary ASIA, and the other documented unique-id prefixes).
  { name: 'aws-access-key-id', pattern: /(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}/g },
  // AWS secret keys and session tokens after their well-known names (ini, env, JSON, SDK output).
  {
    name: 'aws-secret',
    pattern: /((?:aws_?secret_?access_?key|secret_?access_?key|aws_?session_?token|session_?token)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}/gi,
    replace: `$1${REDACTED}`,
  },
  // HTTP authorization headers, and a bare Bearer credential.
  {
    name: 'authorization-header',
    pattern: /((?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|bot)\s+)[^\s"',;]+/gi,
    replace: `$1${REDACTED}`,
  },
  { name: 'bearer', pattern: /(\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, replace: `$1${REDACTED}` },
  { name: 'private-token-header', pattern: /((?:private|job|deploy)-token["']?\s*[:=]\s*["']?)[^\s"',;]+/gi, replace: `$1${REDACTED}` },
  // Passwords in URLs: scheme://user:password@host (user may be empty, as in redis://:pw@host).
  {
    name: 'url-password',
    pattern: /([a-z][a-z0-9+.-]{0,31}:\/\/[^\s:/@]{0,256}:)[^\s@/]+(@)/gi,
    replace: `$1${REDACTED}$2`,
  },
  // TOML/ini assignments of secret-named keys (config.toml `token = "…"`), quoted values.
  {
    name: 'toml-secret',
    pattern: /^(\s*["']?[A-Za-z0-9_.-]*(?:token|secret|secret_?key|password|passwd)["']?\s*=\s*)(?:"(?:[^"\\\n]|\\.)*"|'[^'\n]*')/gim,
    replace: `$1"${REDACTED}"`,
  },
  // JSON members of secret-named keys: "token": "…".
  {
    name: 'json-secret',
    pattern: /("[A-Za-z0-9_.-]*(?:token|secret|secret_?key|password|passwd)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi,
    replace: `$1"${REDACTED}"`,
  },
  // Shell/env assignments: GITLAB_TOKEN=…, DB_PASSWORD: …, export SLACK_SIGNING_SECRET='…'.
  {
    name: 'env-secret',
    pattern: /\b([A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|PASSWD|SECRET_KEY)\s*[=:]\s*)(?:"[^"\n]*"|'[^'\n]*'|[^\s"']+)/g,
    replace: `$1${REDACTED}`,
  },
];

/**
 * `text` with every secret it recognises replaced by `[redacted]`. Idempotent:
 * `redact(redact(x)) === redact(x)`.
 */
export function redact(text: string): string {
  let out = text;
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replace ?? REDACTED);
  return out;
}

/** The names of the rules, for documentation and tests. */
export const REDACTION_RULES: readonly string[] = RULES.map((r) => r.name);

/**
 * The end of a command's output: at most `maxLines` lines and `maxChars` characters (including
 * the `…` marker that says something was cut). Whole lines are kept where possible; a single
 * line longer than the budget keeps its end. Trailing blank lines are ignored. Redact BEFORE
 * tailing: a cut can turn a recognisable token into an unrecognisable fragment.
 */
export function tail(text: string, maxLines: number, maxChars: number): string {
  const trimmed = text.replace(/\s+$/, '');
  const lines = trimmed.split(/\r?\n/);
  const lineLimit = Math.max(1, Math.floor(maxLines));
  const charLimit = Math.max(3, Math.floor(maxChars));
  let cut = lines.length > lineLimit;
  let kept = cut ? lines.slice(-lineLimit) : lines;
  const marker = '…\n';
  const fits = (ls: string[]) => ls.join('\n').length + (cut ? marker.length : 0) <= charLimit;
  if (!fits(kept)) {
    cut = true;
    while (kept.length > 1 && !fits(kept)) kept = kept.slice(1);
  }
  let body = kept.join('\n');
  if (cut && body.length + marker.length > charLimit) {
    // One line longer than the budget: keep its end, on a code point boundary.
    const budget = charLimit - marker.length;
    const points = Array.from(body);
    let start = points.length;
    let size = 0;
    while (start > 0 && size + (points[start - 1]?.length ?? 0) <= budget) {
      start -= 1;
      size += points[start]?.length ?? 0;
    }
    body = points.slice(start).join('');
  }
  return cut ? `${marker}${body}` : body;
}
