/**
 * The scripts' machine-readable lines: every line on stdout that starts with `{"kind":` is one JSON
 * object of a kind below (step markers and log tails are plain text). Parsed with zod, so the bot
 * reads typed results and a script that prints something else is an `external` error, not a crash.
 */
import { z } from 'zod';
import { RunnerOpsError } from '../domain/errors';

const failureLine = z.object({ kind: z.literal('failure'), script: z.string(), step: z.string(), exitCode: z.number().int() });
const phaseLine = z.object({ kind: z.literal('phase'), phase: z.enum(['host', 'tools', 'keypair', 'runner']), changed: z.boolean() });
const managerLine = z.object({
  kind: z.literal('manager'),
  environment: z.string(),
  instanceId: z.string(),
  region: z.string(),
  arch: z.enum(['amd64', 'arm64']),
  distro: z.string(),
  keyPair: z.string(),
  workerAmi: z.string(),
  versions: z.object({ gitlabRunner: z.string(), dockerMachine: z.string(), ecrCredentialHelper: z.string() }),
  restarted: z.boolean(),
  changed: z.boolean(),
});
const workerLine = z.object({
  kind: z.literal('worker'),
  environment: z.string(),
  variant: z.enum(['fleet', 'verify']),
  arch: z.enum(['amd64', 'arm64']),
  distro: z.string(),
  ecrCredentialHelper: z.string(),
  changed: z.boolean(),
});
const verifyLevelLine = z.object({
  kind: z.literal('verify-ecr'),
  level: z.enum(['host', 'container', 'dind']),
  result: z.enum(['ok', 'failed']),
  seconds: z.number().int().min(0),
  error: z.string().optional(),
  helperError: z.string().optional(),
});
const verifySummaryLine = z.object({ kind: z.literal('verify-ecr-summary'), image: z.string(), ok: z.boolean() });
const drainLine = z.object({ kind: z.literal('drain'), graceful: z.boolean(), waitedSeconds: z.number().int().min(0) });
/** verify-probes.ts: the manager's credential helper for one registry (never the credential). */
const managerEcrLine = z.object({
  kind: z.literal('manager-ecr'),
  registry: z.string(),
  ok: z.boolean(),
  seconds: z.number().int().min(0),
  credHelper: z.string(),
  error: z.string(),
});
/** verify-probes.ts: the verify worker's user data has not written its readiness marker yet. */
const workerWaitLine = z.object({ kind: z.literal('worker-wait'), cloudInit: z.string() });
const workersLine = z.object({ kind: z.literal('workers'), removed: z.number().int().min(0), failed: z.number().int().min(0) });

export const summaryLineSchema = z.discriminatedUnion('kind', [failureLine, phaseLine, managerLine, workerLine, verifyLevelLine, verifySummaryLine, drainLine, workersLine, managerEcrLine, workerWaitLine]);
export type SummaryLine = z.infer<typeof summaryLineSchema>;
export type ManagerSummary = z.infer<typeof managerLine>;
export type PhaseSummary = z.infer<typeof phaseLine>;
export type WorkerSummary = z.infer<typeof workerLine>;
export type VerifyLevelResult = z.infer<typeof verifyLevelLine>;
export type FailureSummary = z.infer<typeof failureLine>;
export type DrainSummary = z.infer<typeof drainLine>;
export type WorkersSummary = z.infer<typeof workersLine>;
export type ManagerEcrSummary = z.infer<typeof managerEcrLine>;
export type WorkerWaitSummary = z.infer<typeof workerWaitLine>;

/** Every summary line in a script's stdout, in order. Throws `external` for a malformed one. */
export function parseSummaryLines(stdout: string): SummaryLine[] {
  const lines: SummaryLine[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('{"kind":')) continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      throw new RunnerOpsError('external', 'a script printed a summary line that is not JSON', { detail: line.slice(0, 200) });
    }
    const parsed = summaryLineSchema.safeParse(json);
    if (!parsed.success) {
      throw new RunnerOpsError('external', `a script printed an unexpected summary line: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { detail: line.slice(0, 200) });
    }
    lines.push(parsed.data);
  }
  return lines;
}

const ofKind = <K extends SummaryLine['kind']>(lines: SummaryLine[], kind: K) =>
  lines.filter((l): l is Extract<SummaryLine, { kind: K }> => l.kind === kind);

/** What a manager bootstrap (whole, or its phases' outputs joined) reported. */
export function readManagerResult(stdout: string): { manager: ManagerSummary | undefined; phases: PhaseSummary[]; failure: FailureSummary | undefined; changed: boolean } {
  const lines = parseSummaryLines(stdout);
  const phases = ofKind(lines, 'phase');
  const manager = ofKind(lines, 'manager').at(-1);
  return { manager, phases, failure: ofKind(lines, 'failure').at(-1), changed: phases.some((p) => p.changed) || manager?.changed === true };
}

/** What verify-ecr.sh reported: one result per level that ran, and the overall verdict. */
export function readVerifyEcrResult(stdout: string): { levels: VerifyLevelResult[]; ok: boolean } {
  const lines = parseSummaryLines(stdout);
  const summary = ofKind(lines, 'verify-ecr-summary').at(-1);
  const levels = ofKind(lines, 'verify-ecr');
  return { levels, ok: summary?.ok === true && levels.length === 3 && levels.every((l) => l.result === 'ok') };
}

/** The four places ECR authentication happens (DESIGN §2): the manager, then the worker's three. */
export type VerifyLevel = 'manager' | VerifyLevelResult['level'];

/** What a diagnosis needs from a failed level: where, and the helper's and docker's own words. */
export interface VerifyFailureInput {
  kind?: string;
  level: VerifyLevel;
  result: string;
  seconds?: number | null;
  error?: string | undefined;
  helperError?: string | undefined;
}

export interface VerifyDiagnosis {
  /** What is wrong, in a person's words; empty when the output matches no known failure. */
  cause: string;
  /** What to change; empty when unknown. */
  fix: string;
  /** The helper's and docker's own words (their last error lines). */
  said: string;
}

const IMDS = /(ec2 ?metadata|ec2imds|169\.254\.169\.254|NoCredentialProviders|no EC2 (IMDS|instance) role found|failed to refresh cached credentials|EC2RoleRequestError)/i;
const IAM_ACTION = /not authorized to perform:?\s*(ecr(?:-public)?:[A-Za-z]+)/i;
const NO_CREDENTIALS = /no basic auth credentials|pull access denied|may require 'docker login'|no credHelpers entry/i;
const HELPER_MISSING = /executable file not found|docker-credential-ecr-login: (?:command )?not found|docker-credential-ecr-login: no such file/i;
const IMAGE_ABSENT = /manifest unknown|not found: manifest|name unknown|Requested image not found|repository .+ not found|does not exist/i;

/**
 * The diagnosis of a failed level, from the output of verify-ecr.sh (worker levels) or
 * manager-ecr-check.sh (manager). Order matters: an IAM denial also says "repository does not
 * exist or may require 'docker login'", and a missing helper says "not found".
 */
export function diagnoseVerifyFailure(r: VerifyFailureInput): VerifyDiagnosis {
  const said = `${r.helperError ?? ''} ${r.error ?? ''}`.trim().replace(/\s+/g, ' ');
  const inContainer = r.level === 'container' || r.level === 'dind';
  const machine = r.level === 'manager' ? 'manager' : 'worker';
  const profile = r.level === 'manager' ? 'manager.instanceProfile' : 'workers.instanceProfile';
  const installedBy = r.level === 'manager' ? '`/runner bootstrap <env>` installs it on the manager' : 'the worker user data installs it (its log: /var/log/runner-ops/worker-userdata.log)';
  const mounts = 'config.toml must mount /usr/local/bin/docker-credential-ecr-login and /root/.docker/config.json read-only into job containers ([runners.docker] volumes, as runner-ops renders them), and the dind service must be privileged';
  const d = (cause: string, fix: string): VerifyDiagnosis => ({ cause, fix, said });
  if (/exec format error/i.test(said)) {
    return d(`the credential helper binary is built for another CPU architecture than the ${machine} (exec format error)`,
      inContainer ? `mount the worker's own helper (installed for its \`uname -m\`: x86_64 -> linux-amd64, aarch64 -> linux-arm64), not one built for the manager or a laptop; ${mounts}`
        : `install the helper built for the ${machine}'s \`uname -m\` (x86_64 -> linux-amd64, aarch64 -> linux-arm64): ${installedBy}`);
  }
  const action = IAM_ACTION.exec(said)?.[1];
  if (action !== undefined || /AccessDenied/i.test(said)) {
    const what = action ?? 'an ECR action';
    return d(`the ${machine}'s instance role may not call ${what}`,
      `allow ${what} in the role of ${profile} (ecr:GetAuthorizationToken on *, ecr:BatchGetImage and ecr:GetDownloadUrlForLayer on the repository); a repository in another account also needs a repository policy that allows that role`);
  }
  if (IMDS.test(said)) {
    if (inContainer) {
      return d('no basic auth credentials: instance metadata unreachable from the container (hop limit)',
        'set the IMDSv2 hop limit to 2 (HttpPutResponseHopLimit): `amazonec2-metadata-token-response-hop-limit=2` in MachineOptions (runner-ops renders it); for a running instance, `aws ec2 modify-instance-metadata-options --http-put-response-hop-limit 2 --http-tokens required`');
    }
    return d(`no basic auth credentials: the ${machine} has no instance credentials (instance profile)`,
      `attach the instance profile named in ${profile} to the ${machine} (with ECR pull rights and AmazonSSMManagedInstanceCore), and keep its instance metadata enabled`);
  }
  if (HELPER_MISSING.test(said)) {
    return d(`the credential helper is missing on the ${inContainer ? 'job container (not mounted)' : machine}`, inContainer ? mounts : installedBy);
  }
  if (NO_CREDENTIALS.test(said)) {
    if (inContainer) return d('no basic auth credentials: the container did not get the helper or its config (mounts) or instance credentials (hop limit)', mounts);
    return d(`no basic auth credentials: docker on the ${machine} did not ask the credential helper (missing credHelpers entry for the registry in /root/.docker/config.json)`,
      `list the registry in ecr.registries: ${r.level === 'manager' ? 'the bootstrap' : 'the worker user data'} merges a "credHelpers": {"<registry>": "ecr-login"} entry for each into /root/.docker/config.json${r.level === 'manager' ? ' (run `/runner bootstrap <env>` after changing it)' : ''}`);
  }
  if (IMAGE_ABSENT.test(said)) {
    return d('the image does not exist (missing repository or tag)', 'push the image, or name one that exists: `/runner verify-ecr <env> <registry>/<repository>:<tag>`');
  }
  return d('', '');
}

/** A person-readable reason for a failed level, with the fix on a second line when one is known. */
export function explainVerifyFailure(result: VerifyFailureInput): string {
  if (result.result === 'ok') return 'ok';
  const { cause, fix, said } = diagnoseVerifyFailure(result);
  const words = said === '' ? 'failed without an error message' : said;
  if (cause === '') return words;
  return `${cause}: ${words}${fix === '' ? '' : `\nFix: ${fix}`}`;
}

/** The manager level's line in manager-ecr-check.sh's stdout, or undefined. */
export function readManagerEcrResult(stdout: string): ManagerEcrSummary | undefined {
  return ofKind(parseSummaryLines(stdout), 'manager-ecr').at(-1);
}

/** The verify worker's readiness: its marker (`worker` line), still waiting, or neither. */
export function readWorkerReady(stdout: string): { ready: WorkerSummary } | { waiting: WorkerWaitSummary } | undefined {
  const lines = parseSummaryLines(stdout);
  const ready = ofKind(lines, 'worker').at(-1);
  if (ready !== undefined) return { ready };
  const waiting = ofKind(lines, 'worker-wait').at(-1);
  return waiting === undefined ? undefined : { waiting };
}

/** The last line of one kind in a script's stdout (drain, workers, …), or undefined. */
export function lastSummary<K extends SummaryLine['kind']>(stdout: string, kind: K): Extract<SummaryLine, { kind: K }> | undefined {
  return ofKind(parseSummaryLines(stdout), kind).at(-1);
}
