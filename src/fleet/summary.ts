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
const workersLine = z.object({ kind: z.literal('workers'), removed: z.number().int().min(0), failed: z.number().int().min(0) });

export const summaryLineSchema = z.discriminatedUnion('kind', [failureLine, phaseLine, managerLine, workerLine, verifyLevelLine, verifySummaryLine, drainLine, workersLine]);
export type SummaryLine = z.infer<typeof summaryLineSchema>;
export type ManagerSummary = z.infer<typeof managerLine>;
export type PhaseSummary = z.infer<typeof phaseLine>;
export type WorkerSummary = z.infer<typeof workerLine>;
export type VerifyLevelResult = z.infer<typeof verifyLevelLine>;
export type FailureSummary = z.infer<typeof failureLine>;
export type DrainSummary = z.infer<typeof drainLine>;
export type WorkersSummary = z.infer<typeof workersLine>;

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

/** A person-readable reason for a failed level, from the helper's and docker's own words. */
export function explainVerifyFailure(result: VerifyLevelResult): string {
  if (result.result === 'ok') return 'ok';
  const said = `${result.helperError ?? ''} ${result.error ?? ''}`;
  const both = said.trim() === '' ? 'failed without an error message' : said.trim();
  const imds = /(ec2 ?metadata|ec2imds|169\.254\.169\.254|NoCredentialProviders|no EC2 IMDS role found|failed to refresh cached credentials)/i.test(said);
  if (/no basic auth credentials/i.test(said) || imds) {
    if (result.level !== 'host' && imds) return `no basic auth credentials: instance metadata unreachable from the container (hop limit): ${both}`;
    if (result.level !== 'host') return `no basic auth credentials: the container did not get the helper or its config (mounts) or instance credentials (hop limit): ${both}`;
    return `no basic auth credentials: the worker has no instance credentials (instance profile): ${both}`;
  }
  if (/AccessDenied|not authorized/i.test(said)) return `the worker's instance profile may not pull from this repository: ${both}`;
  if (/not found|manifest unknown|does not exist/i.test(said)) return `the image does not exist: ${both}`;
  if (/executable file not found|credential helper|docker-credential-ecr-login/i.test(said)) return `the credential helper is missing or does not run here: ${both}`;
  return both;
}

/** The last line of one kind in a script's stdout (drain, workers, …), or undefined. */
export function lastSummary<K extends SummaryLine['kind']>(stdout: string, kind: K): Extract<SummaryLine, { kind: K }> | undefined {
  return ofKind(parseSummaryLines(stdout), kind).at(-1);
}
