/**
 * gitbeaker errors to the error taxonomy, with messages a person can act on. The token itself is
 * never part of a message; GitLab's own error text is cut short.
 */
import { GitbeakerRequestError, GitbeakerRetryError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import { ZodError } from 'zod';
import { RunnerOpsError, isRunnerOpsError } from '../../domain/errors';

/** Token scopes runner-ops asks for (CONTRACT §2). */
export type GitlabScope = 'create_runner' | 'manage_runner' | 'read_api' | 'api';

export interface GitlabCallContext {
  /** What was being done, as a phrase: `list the runners of group 42`. */
  action: string;
  /** The scopes that allow this call; named in a 403 message. */
  scopes: readonly GitlabScope[];
  /** What a 404 means here: `group 42 was not found, or the token cannot see it (check gitlab.groupId)`. */
  notFound?: string;
  /** Added to a 403 message: `instance runners need an administrator's token`. */
  forbiddenHint?: string;
}

const NETWORK_REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  CERT_HAS_EXPIRED: 'TLS certificate expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
};

function errorCodeOf(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code: unknown = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** The network reason behind a failed fetch (undici wraps it as `TypeError('fetch failed', { cause })`). */
function networkReason(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; depth < 5 && cur !== undefined && cur !== null; depth += 1) {
    const code = errorCodeOf(cur);
    if (code !== undefined) return NETWORK_REASONS[code] ?? code;
    // Duck-typed: fetch errors may come from another realm (Jest's VM), where instanceof fails.
    cur = typeof cur === 'object' ? (cur as { cause?: unknown }).cause : undefined;
  }
  const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
  return name === 'TypeError' ? 'network error' : undefined;
}

function short(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 199)}…` : one;
}

function scopeList(scopes: readonly GitlabScope[]): string {
  const named = scopes.map((s) => `\`${s}\``);
  if (named.length <= 1) return `the ${named.join('')} scope`;
  return `the ${named.slice(0, -1).join(', ')} or ${named[named.length - 1] ?? ''} scope`;
}

/**
 * The cause attached to a mapped error: name, message and HTTP status only. gitbeaker's own error
 * holds the outgoing Request, headers included, so `util.inspect` of it would print GITLAB_TOKEN
 * (the PRIVATE-TOKEN header); it is never attached.
 */
function safeCause(err: unknown): { name: string; message: string; status?: number } {
  const name = err instanceof Error ? err.name : typeof err;
  const message = err instanceof Error ? short(err.message) : '';
  const status = err instanceof GitbeakerRequestError ? err.cause?.response.status : undefined;
  return status === undefined ? { name, message } : { name, message, status };
}

export function fromGitlabError(err: unknown, ctx: GitlabCallContext): RunnerOpsError {
  if (isRunnerOpsError(err)) return err;
  const what = `GitLab: could not ${ctx.action}`;

  if (err instanceof GitbeakerRequestError) {
    const status = err.cause?.response.status;
    const said = err.cause?.description !== undefined && err.cause.description !== '' ? ` (GitLab said: ${short(err.cause.description)})` : '';
    switch (status) {
      case 401:
        return new RunnerOpsError('external', `${what}: the token was rejected (401): GITLAB_TOKEN is invalid, expired or revoked`, { cause: safeCause(err) });
      case 403:
        return new RunnerOpsError('external', `${what}: access denied (403): the token needs ${scopeList(ctx.scopes)}${ctx.forbiddenHint !== undefined ? `; ${ctx.forbiddenHint}` : ''}${said}`, { cause: safeCause(err) });
      case 404:
        return new RunnerOpsError('not_found', `${what}: ${ctx.notFound ?? 'not found (404)'}`, { cause: safeCause(err) });
      case 429:
        return new RunnerOpsError('throttled', `${what}: rate limited by GitLab (429), try again shortly`, { cause: safeCause(err) });
      default:
        if (status !== undefined && status >= 500) {
          return new RunnerOpsError('unavailable', `${what}: GitLab is unavailable (HTTP ${status})`, { cause: safeCause(err) });
        }
        return new RunnerOpsError('external', `${what}: GitLab answered HTTP ${status ?? '?'}${said}`, { cause: safeCause(err) });
    }
  }
  if (err instanceof GitbeakerRetryError) {
    // gitbeaker gave up after retrying 429/502; its message names the last status.
    const throttled = /last status code: 429/.test(err.message);
    return throttled
      ? new RunnerOpsError('throttled', `${what}: rate limited by GitLab (429), try again shortly`, { cause: safeCause(err) })
      : new RunnerOpsError('unavailable', `${what}: GitLab is unavailable (HTTP 502)`, { cause: safeCause(err) });
  }
  if (err instanceof GitbeakerTimeoutError) {
    return new RunnerOpsError('timeout', `${what}: GitLab did not answer in time`, { cause: safeCause(err) });
  }
  if (err instanceof ZodError) {
    const first = err.issues[0];
    const where = first !== undefined && first.path.length > 0 ? ` at ${first.path.join('.')}` : '';
    return new RunnerOpsError('external', `${what}: GitLab answered with an unexpected shape${where}`, { cause: safeCause(err) });
  }
  const reason = networkReason(err);
  if (reason !== undefined) {
    return new RunnerOpsError('unavailable', `${what}: GitLab is unavailable (${reason})`, { cause: safeCause(err) });
  }
  return new RunnerOpsError('internal', `${what}: unexpected error`, { cause: safeCause(err) });
}
