/**
 * `/runner rotate <env>`, blue/green: launch the next-generation manager, bootstrap it with a new
 * runner, wait until that runner is online in GitLab (the switch), then take the old manager out:
 * drain (SIGQUIT, bounded by drainTimeoutMinutes), remove its workers, delete its runner(s) and key
 * pair, terminate it.
 *
 * Failure before the switch: the new manager is removed, the new runner deleted, the previous token
 * put back in the parameter; the old manager never stopped serving. Failure after the switch: the
 * new manager serves; the thread lists exactly what of the old one remains.
 */
import { RunnerOpsError, userMessage } from '../../domain/errors';
import type { CleanupContext, OperationDefinition, StepContext } from '../framework/types';
import { renderFor } from './commands';
import type { ManagerOpsDeps } from './deps';
import { inspected, inspectEnvironment, inspectStep, requireManager } from './inspect';
import { bootstrapDetails, bullets, existing, launchLine, versionsLine } from './plan-text';
import { launchedManager, launchStep, phaseSteps, ssmOnlineStep } from './provision';
import { deleteRunners, runnerOnlineStep, runnerStep, theRunner, undoRunner } from './runner-steps';
import { deleteManagerKeyPair, drainManager, removeLaunchedManagers, removeWorkers, terminateManagers } from './teardown';
import { cleanupContext, reportCleanup } from './cleanup';
import { json } from './state';

const oldManager = (ctx: Pick<StepContext, 'results' | 'envName'>): string => requireManager(inspected(ctx), ctx.envName, 'rotate');

/** Steps after the switch, in order; the cleanup reads which of them finished. */
const AFTER_SWITCH = ['drain-old', 'workers-old', 'runners-old', 'keypair-old', 'terminate-old'] as const;

export function rotateOperation(deps: ManagerOpsDeps): OperationDefinition {
  const steps = [
    inspectStep(deps, (info, envName) => { requireManager(info, envName, 'rotate'); }),
    launchStep(deps, 'next-generation'),
    runnerStep(deps, 'always-new', launchedManager),
    ssmOnlineStep(deps, launchedManager),
    ...phaseSteps(deps, launchedManager),
    runnerOnlineStep(deps),
    { name: 'drain-old', label: 'Drain the old manager', run: async (ctx: StepContext) => {
      const line = await drainManager(deps, ctx, oldManager(ctx));
      await ctx.note(line);
      return json({ line });
    } },
    { name: 'workers-old', label: 'Remove the old manager\'s workers', run: async (ctx: StepContext) => {
      const r = await removeWorkers(deps, ctx, oldManager(ctx));
      if (r.lines.length > 0) await ctx.note(r.lines.join('\n'));
      if (r.remaining.length > 0) throw new RunnerOpsError('external', `could not remove: ${r.remaining.join(', ')}`);
    } },
    { name: 'runners-old', label: 'Delete the old runner in GitLab', run: async (ctx: StepContext) => {
      const old = oldManager(ctx);
      const { runnerId } = theRunner(ctx);
      const r = await deleteRunners(deps, ctx, (x) => x.id !== runnerId && (x.managerId === old || x.managerId === undefined));
      if (r.deleted.length > 0) await ctx.note(`Deleted runner(s) ${r.deleted.map((i) => `#${i}`).join(', ')}.`);
      if (r.failed.length > 0) throw new RunnerOpsError('external', `could not delete ${r.failed.join(', ')}`);
      return json({ deleted: r.deleted });
    } },
    { name: 'keypair-old', label: 'Delete the old key pair', run: async (ctx: StepContext) => { await ctx.note(await deleteManagerKeyPair(deps, ctx, oldManager(ctx))); } },
    { name: 'terminate-old', label: 'Terminate the old manager', run: async (ctx: StepContext) => {
      const r = await terminateManagers(deps, ctx, [oldManager(ctx)]);
      if (r.remaining.length > 0) throw new RunnerOpsError('external', `could not terminate ${r.remaining.join(', ')}`);
    } },
  ];
  return {
    verb: 'rotate',
    steps,
    async plan(input) {
      const fleet = renderFor(deps, input);
      const info = await inspectEnvironment(deps, input);
      const old = requireManager(info, input.envName, 'rotate');
      const oldRunners = info.runners.filter((r) => r.managerId === old || r.managerId === null).map((r) => `#${r.id}`);
      const lines = [
        launchLine(input.env, info.generation + 1),
        `Create a new runner in GitLab for it and store its token in \`${input.env.gitlab.tokenParameter}\` (the old manager keeps its own copy and keeps serving).`,
        `Bootstrap it in ${fleet.managerPhases.length} SSM commands: ${versionsLine(fleet)}; wait until the new runner is online.`,
        `Then drain the old manager \`${old}\` (gitlab-runner stops with SIGQUIT; running jobs get up to ${input.env.manager.drainTimeoutMinutes} min), remove its Docker Machine workers, delete runner(s) ${oldRunners.join(', ') || '(none found)'}, delete its key pair and terminate it.`,
      ];
      return { summary: `${existing(info)}\n${bullets(lines)}`, steps: steps.map((s) => s.label), details: bootstrapDetails(fleet) };
    },
    async cleanup(raw) {
      const ctx = cleanupContext(raw);
      if (ctx.results.online === undefined) {
        const lines = [...await removeLaunchedManagers(deps, ctx), ...await undoRunner(deps, ctx)];
        await reportCleanup(ctx, lines, 'The old manager was not touched and keeps serving.');
        return;
      }
      await ctx.note(afterSwitchReport(ctx));
    },
    summarize: (results) => {
      const newId = typeof results.launch === 'object' && results.launch !== null && !Array.isArray(results.launch) ? String(results.launch.instanceId) : '?';
      return `Rotated: manager \`${newId}\` serves with its new runner; the old manager, its workers, runner and key pair are gone.`;
    },
  };
}

/** After the switch nothing is rolled back: say what serves and what of the old manager remains. */
function afterSwitchReport(ctx: CleanupContext): string {
  let newId = '?';
  let old = '?';
  try { newId = launchedManager(ctx); old = oldManager(ctx); } catch (err) { return `Could not read the operation's state: ${userMessage(err)}`; }
  const done = new Set(AFTER_SWITCH.filter((s) => ctx.results[s] !== undefined));
  const remains: string[] = [];
  if (!done.has('drain-old')) remains.push(`the old manager \`${old}\` may still be running jobs (not drained)`);
  if (!done.has('workers-old')) remains.push(`Docker Machine workers of \`${old}\` (tagged runner-ops:manager=${old}; the reaper removes them once the manager is gone)`);
  if (!done.has('runners-old')) remains.push(`the old runner(s) in GitLab (description ends with \`manager:${old}]\`)`);
  if (!done.has('keypair-old')) remains.push(`the key pair \`runner-ops-${ctx.envName}-${old}\``);
  if (!done.has('terminate-old')) remains.push(`the old manager instance \`${old}\`${done.has('drain-old') ? ' (stopped gitlab-runner, still present)' : ''}`);
  return `The new manager \`${newId}\` is serving. Not rolled back. What remains of the old one:\n${remains.map((r) => `• ${r}`).join('\n')}\nRemove it by hand, or run \`/runner destroy\` only if you mean the whole environment.`;
}
