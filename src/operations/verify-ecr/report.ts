/**
 * The answer verify-ecr gives: a table of level, result and seconds; for each failed level the
 * diagnosis and the fix (explainVerifyFailure); and the worker it ran on (instance type,
 * Availability Zone, Spot or not, seconds alive). The operation succeeds only when every level
 * passed; a skipped level (no manager) is not a pass.
 */
import { RunnerOpsError } from '../../domain/errors';
import { diagnoseVerifyFailure } from '../../fleet/summary';
import type { Json, StepDefinition } from '../framework/types';
import { json } from '../manager/state';
import { LAUNCH_STEP } from './launch';
import { launchResult, levelResult, managerStepResult, preflightResult, read, terminateResult, verifyResult, type LevelResult } from './state';

const SAID_MAX = 300;

/** Every level in order: the manager's, then the worker's three. */
export function levelRows(results: Readonly<Record<string, Json>>): LevelResult[] {
  const manager = read(managerStepResult, results.manager);
  const worker = read(verifyResult, results.verify);
  const managerRow: LevelResult = manager === undefined
    ? { level: 'manager', result: 'skipped', seconds: null, reason: 'not checked' }
    : levelResult.parse({ ...manager, managerId: undefined });
  const workerRows: LevelResult[] = worker?.levels ?? (['host', 'container', 'dind'] as const).map((level) => ({ level, result: 'skipped', seconds: null, reason: 'not checked' }));
  return [managerRow, ...workerRows];
}

export function levelTable(rows: readonly LevelResult[]): string {
  const lines = rows.map((r) => `${r.level.padEnd(10)} ${(r.result === 'ok' ? 'ok' : r.result.toUpperCase()).padEnd(8)} ${r.seconds === null ? '-' : String(r.seconds)}`);
  return ['level      result   seconds', ...lines].join('\n');
}

/** The diagnosis lines of the levels that did not pass. */
export function diagnosisLines(rows: readonly LevelResult[]): string[] {
  return rows.filter((r) => r.result !== 'ok').map((r) => {
    if (r.result === 'skipped') return `*${r.level}*: skipped: ${r.reason ?? 'not checked'}`;
    const d = diagnoseVerifyFailure({ level: r.level, result: r.result, error: r.error, helperError: r.helperError });
    const said = d.said.length > SAID_MAX ? `${d.said.slice(0, SAID_MAX - 1)}…` : d.said;
    const words = said === '' ? 'failed without an error message' : `\`${said.replace(/`/g, "'")}\``;
    return d.cause === '' ? `*${r.level}*: ${words}` : `*${r.level}*: ${d.cause}. ${words}\n    Fix: ${d.fix}`;
  });
}

/** Instance type, zone, Spot or not, seconds alive, and any capacity fallback. */
export function workerLine(results: Readonly<Record<string, Json>>): string | undefined {
  const launch = read(launchResult, results[LAUNCH_STEP]);
  if (launch === undefined) return undefined;
  const term = read(terminateResult, results.terminate);
  const skippedTypes = launch.attempts.filter((a) => a.outcome === 'no-capacity').map((a) => `${a.instanceType} (${a.code ?? 'no capacity'})`);
  return `Worker \`${launch.instanceId}\`: ${launch.instanceType} in ${launch.az ?? 'an unknown zone'}, ${launch.spot ? 'Spot' : 'on-demand'}`
    + `${term?.secondsAlive === null || term === undefined ? '' : `, alive ${term.secondsAlive} s, terminated`}`
    + `${skippedTypes.length === 0 ? '' : `; no capacity first for ${skippedTypes.join(', ')}`}.`;
}

export function reportStep(): StepDefinition {
  return {
    name: 'report',
    label: 'Report',
    run: async (ctx) => {
      const rows = levelRows(ctx.results);
      const bad = rows.filter((r) => r.result !== 'ok');
      if (bad.length === 0) return json({ ok: true });
      const image = read(preflightResult, ctx.results.preflight)?.image ?? 'the image';
      const worker = workerLine(ctx.results);
      await ctx.note([`*ECR pulls of \`${image}\` do not work at every level:*`, ...diagnosisLines(rows), ...(worker === undefined ? [] : [worker])].join('\n'));
      const first = bad[0] as LevelResult;
      const cause = first.result === 'skipped' ? `skipped (${first.reason ?? 'not checked'})`
        : diagnoseVerifyFailure({ level: first.level, result: first.result, error: first.error, helperError: first.helperError }).cause || 'failed';
      throw new RunnerOpsError('external', `ECR verification failed at ${bad.map((r) => `${r.level} (${r.result})`).join(', ')}: ${first.level}: ${cause}; see the diagnosis above`, { detail: levelTable(rows) });
    },
  };
}

/** The success line: every level passed. */
export function verifySummary(results: Readonly<Record<string, Json>>): string {
  const image = read(preflightResult, results.preflight)?.image ?? 'the image';
  const worker = workerLine(results);
  return `ECR pulls of \`${image}\` work at every level: manager, worker host, job container and Docker-in-Docker.\n\`\`\`\n${levelTable(levelRows(results))}\n\`\`\`${worker === undefined ? '' : `\n${worker}`}`;
}
