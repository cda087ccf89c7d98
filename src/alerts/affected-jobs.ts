/**
 * Which running CI jobs an interrupted machine takes down (best effort, bounded in time).
 *
 * - The environment's runners (by their description marker) in its GitLab scope, then each one's
 *   running jobs (`GET /runners/:id/jobs?status=running`). For a manager every one of them is
 *   affected; for a worker only those whose log names the machine: Docker Machine's name (the
 *   instance's `Name` tag, printed in the job log's "Running on … via <machine>" line), the
 *   instance id or its private IP (`GET /projects/:id/jobs/:job_id/trace`).
 * - Scopes: `read_api` is needed to read jobs and logs, `api` to retry. The token's scopes come
 *   from `GET /personal_access_tokens/self`; where GitLab does not say (another kind of
 *   token, an old GitLab), the lookup is tried anyway and the retry button is offered (a click
 *   then reports GitLab's own answer).
 * - Bounded: at most `maxRunners` runners and `maxTraces` logs, everything within `timeoutMs`. What
 *   could not be shown is said, with the reason, instead of failing the alert.
 */
import { z } from 'zod';
import type { GitlabClient } from '../adapters/gitlab/client';
import { gitlabCall, listEnvironmentRunners } from '../adapters/gitlab/runners';
import type { EnvironmentConfig } from '../config/fleet-schema';
import { userMessage } from '../domain/errors';

export interface AffectedJob { projectId: number; jobId: number; name: string; project: string | undefined; webUrl: string | undefined }

export type JobsOutcome =
  | { state: 'ok'; jobs: AffectedJob[]; scanned: number; truncated: boolean; canRetry: boolean }
  | { state: 'unavailable'; reason: string };

export interface Machine { instanceId: string; name?: string | undefined; privateIp?: string | undefined; role?: string | undefined }

export interface JobsLookupOptions { timeoutMs?: number; maxRunners?: number; maxTraces?: number; concurrency?: number }

const runnerJobSchema = z.object({
  id: z.number().int().positive(),
  name: z.string().nullish().transform((v) => v ?? ''),
  web_url: z.string().nullish(),
  project: z.object({ id: z.number().int().positive(), path_with_namespace: z.string().nullish() }).nullish(),
  pipeline: z.object({ project_id: z.number().int().positive().nullish() }).nullish(),
});
const runnerJobsSchema = z.array(runnerJobSchema);
const tokenSelfSchema = z.object({ scopes: z.array(z.string()) });
export const retriedJobSchema = z.object({ id: z.number().int().positive(), web_url: z.string().nullish() });

/**
 * The token's scopes, or undefined where GitLab does not say. Asked per lookup (not cached): a
 * lookup runs once per interruption thread, never per instance of a storm, and a token replaced
 * with more scopes shows at once.
 */
export async function tokenScopes(gitlab: GitlabClient, timeoutMs: number): Promise<string[] | undefined> {
  try {
    return await gitlabCall(() => gitlab.PersonalAccessTokens.show(), (b) => tokenSelfSchema.parse(b).scopes, { action: 'read the token\'s scopes', scopes: ['read_api'] }, { timeoutMs });
  } catch {
    return undefined;
  }
}

/** Strings in a job log that identify the machine. */
export function machineMarkers(m: Machine): string[] {
  const out = [m.instanceId];
  if (m.name !== undefined && m.name.length >= 6) out.push(m.name);
  if (m.privateIp !== undefined) out.push(m.privateIp, `ip-${m.privateIp.replace(/\./g, '-')}`);
  return out;
}

export async function findAffectedJobs(gitlab: GitlabClient | undefined, envName: string, env: EnvironmentConfig, machine: Machine, opts: JobsLookupOptions = {}): Promise<JobsOutcome> {
  if (gitlab === undefined) return { state: 'unavailable', reason: 'GITLAB_TOKEN is not set, so runner-ops cannot look up the CI jobs that were running there' };
  const started = Date.now();
  const total = opts.timeoutMs ?? 10_000;
  const left = () => Math.max(1, total - (Date.now() - started));
  try {
    const scopes = await tokenScopes(gitlab, Math.min(3_000, left()));
    if (scopes !== undefined && !scopes.includes('read_api') && !scopes.includes('api')) {
      return { state: 'unavailable', reason: `GITLAB_TOKEN lacks the \`read_api\` scope (it has ${scopes.map((s) => `\`${s}\``).join(', ') || 'none'}), so the affected CI jobs cannot be listed` };
    }
    const runners = (await listEnvironmentRunners(gitlab, envName, env.gitlab, { details: false, timeoutMs: left() })).slice(0, opts.maxRunners ?? 5);
    const running: z.infer<typeof runnerJobSchema>[] = [];
    for (const r of runners) {
      running.push(...await gitlabCall(
        () => gitlab.Runners.allJobs(r.id, { status: 'running', perPage: 100, maxPages: 1 }),
        (b) => runnerJobsSchema.parse(b),
        { action: `list the running jobs of runner ${r.id}`, scopes: ['read_api'] },
        { timeoutMs: left() },
      ));
    }
    const projectOf = (j: z.infer<typeof runnerJobSchema>) => j.project?.id ?? j.pipeline?.project_id ?? undefined;
    const candidates = running.filter((j) => projectOf(j) !== undefined);
    let affected = candidates;
    let truncated = false;
    if (machine.role !== 'manager') {
      const markers = machineMarkers(machine);
      const max = opts.maxTraces ?? 20;
      truncated = candidates.length > max;
      const scan = candidates.slice(0, max);
      const hits = new Array<boolean>(scan.length).fill(false);
      let next = 0;
      const worker = async () => {
        while (next < scan.length) {
          const i = next;
          next += 1;
          const j = scan[i];
          const projectId = j === undefined ? undefined : projectOf(j);
          if (j === undefined || projectId === undefined) continue;
          const log = await gitlabCall(
            () => gitlab.Jobs.showLog(projectId, j.id),
            (b) => (typeof b === 'string' ? b : ''),
            { action: `read the log of job ${j.id}`, scopes: ['read_api'] },
            { timeoutMs: left() },
          );
          hits[i] = markers.some((m) => log.includes(m));
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency ?? 4, scan.length) }, worker));
      affected = scan.filter((_, i) => hits[i]);
    }
    return {
      state: 'ok',
      scanned: candidates.length,
      truncated,
      canRetry: scopes === undefined || scopes.includes('api'),
      jobs: affected.map((j) => ({
        projectId: projectOf(j) ?? 0, jobId: j.id, name: j.name, project: j.project?.path_with_namespace ?? undefined, webUrl: j.web_url ?? undefined,
      })),
    };
  } catch (err) {
    return { state: 'unavailable', reason: userMessage(err) };
  }
}
