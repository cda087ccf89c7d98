/**
 * `/runner reregister <env>`: a new runner authentication token without a gap in CI. Create a new
 * runner, put its token in the parameter, re-render config.toml on the manager from it (the runner
 * phase: gitlab-runner reloads config.toml by itself, no restart, so no running job waits), wait
 * until the new runner is online, then delete the old runner(s).
 *
 * If the new runner never comes online (or anything before that fails): the previous token goes
 * back into the parameter (its previous version), config.toml is rendered from it again when it
 * had already been changed, the new runner is deleted; the old runner kept serving throughout.
 */
import { RunnerOpsError } from '../../domain/errors';
import type { OperationDefinition, StepContext } from '../framework/types';
import { renderFor, rerenderConfig, runPhase } from './commands';
import type { ManagerOpsDeps } from './deps';
import { inspected, inspectEnvironment, inspectStep, requireManager } from './inspect';
import { bullets, existing } from './plan-text';
import { ssmOnlineStep } from './provision';
import { deleteRunners, runnerOnlineStep, runnerStep, theRunner, undoRunner } from './runner-steps';
import { cleanupContext, reportCleanup } from './cleanup';
import { json } from './state';

const manager = (ctx: Pick<StepContext, 'results' | 'envName'>): string => requireManager(inspected(ctx), ctx.envName, 'reregister');

export function reregisterOperation(deps: ManagerOpsDeps): OperationDefinition {
  const steps = [
    inspectStep(deps, (info, envName) => { requireManager(info, envName, 'reregister'); }),
    ssmOnlineStep(deps, manager),
    runnerStep(deps, 'always-new', manager),
    { name: 'apply', label: 'Write the new token into config.toml on the manager', run: async (ctx: StepContext) => json(await runPhase(deps, ctx, manager(ctx), 'runner')) },
    runnerOnlineStep(deps),
    { name: 'runners-old', label: 'Delete the old runner(s) in GitLab', run: async (ctx: StepContext) => {
      const { runnerId } = theRunner(ctx);
      // This manager's runners (and unmarked legacy ones) as they were before; never another manager's.
      const mgr = manager(ctx);
      const old = inspected(ctx).runners.filter((r) => r.managerId === mgr || r.managerId === null).map((r) => r.id).filter((id) => id !== runnerId);
      const r = await deleteRunners(deps, ctx, (x) => x.id !== runnerId && old.includes(x.id));
      if (r.failed.length > 0) throw new RunnerOpsError('external', `could not delete ${r.failed.join(', ')}`);
      return json({ deleted: r.deleted });
    } },
  ];
  return {
    verb: 'reregister',
    steps,
    async plan(input) {
      renderFor(deps, input); // refuses an environment whose artifacts cannot be rendered
      const info = await inspectEnvironment(deps, input);
      const id = requireManager(info, input.envName, 'reregister');
      const lines = [
        `Create a new ${input.env.gitlab.runnerType} runner in GitLab for manager \`${id}\` and store its token in \`${input.env.gitlab.tokenParameter}\` (SecureString, overwritten; the previous version is kept for rollback).`,
        'On the manager, through SSM: render config.toml from the parameter (gitlab-runner reloads it without a restart) and run `gitlab-runner verify`.',
        'Wait until the new runner is online in GitLab.',
        info.runners.length === 0 ? 'No old runner to delete.' : `Then delete the old runner(s) ${info.runners.map((r) => `#${r.id}`).join(', ')}.`,
      ];
      return { summary: `${existing(info)}\n${bullets(lines)}`, steps: steps.map((s) => s.label) };
    },
    async cleanup(raw) {
      const ctx = cleanupContext(raw);
      if (ctx.results.online !== undefined) {
        await ctx.note('The new runner is online and serving; the old runner(s) could not all be deleted: delete them in GitLab, or use the stale-runner clean-up in `/runner status`.');
        return;
      }
      const lines = await undoRunner(deps, ctx);
      // config.toml may hold the new token already: render it again from the restored parameter.
      if (ctx.saved.apply !== undefined || ctx.results.apply !== undefined) lines.push(await rerenderConfig(deps, ctx, manager(ctx)));
      await reportCleanup(ctx, lines, 'The old runner keeps serving.');
    },
    summarize: (results) => {
      const r = results.runner;
      const o = results['runners-old'];
      const newId = typeof r === 'object' && r !== null && !Array.isArray(r) ? String(r.runnerId) : '?';
      const deleted = typeof o === 'object' && o !== null && !Array.isArray(o) && Array.isArray(o.deleted) ? o.deleted.map((x) => `#${String(x)}`) : [];
      return `Reregistered: new runner #${newId} is online${deleted.length > 0 ? `; deleted old runner(s) ${deleted.join(', ')}` : ''}.`;
    },
  };
}
