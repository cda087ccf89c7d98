/**
 * The GitLab client type the adapters accept, and the constructor options main.ts should use.
 * Only main.ts constructs the client (`new Gitlab({ host, token, ...GITLAB_CLIENT_OPTIONS })`);
 * tests construct one against the fake in test/fakes/gitlab-fake.ts.
 *
 * gitbeaker 43 facts (read from its source, @gitbeaker/rest dist):
 * - `queryTimeout` (ms, default 300000) becomes one `AbortSignal.timeout` per API call, covering
 *   its retries and, for lists, every page. A hung GitLab therefore holds a call for 5 minutes
 *   unless this is lowered; the adapters also bound each call themselves (`timeoutMs`), but a
 *   lower `queryTimeout` frees the socket too.
 * - It retries 429 and 502 up to ten times; the delays are `2^i * 0.25` milliseconds (about a
 *   quarter of a second in total), so retries do not stall, they just do not help much either.
 * - Per-call options are sent as query parameters: there is no per-call AbortSignal.
 * - `camelize` must stay off: the schemas in ./schemas.ts parse GitLab's snake_case answers.
 */
import type { Gitlab } from '@gitbeaker/rest';

export type GitlabClient = Gitlab<false>;

export const GITLAB_CLIENT_OPTIONS = {
  /** Upper bound for any one GitLab API call, retries and pages included. */
  queryTimeout: 15_000,
} as const;

/** Default bound the read adapters put on one call when the caller gives none. */
export const DEFAULT_GITLAB_CALL_TIMEOUT_MS = 10_000;
