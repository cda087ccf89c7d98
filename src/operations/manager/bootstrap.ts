/**
 * `/runner bootstrap <env>`: make the environment's manager exist and match the fleet file. Find
 * the manager (or launch one), make sure a runner exists (create it and store its token when
 * needed), run the bootstrap phases through SSM, wait for the runner to be online in GitLab. On a
 * healthy environment every phase reports no change and the summary says so.
 *
 * Failure: a manager this operation launched is removed with its workers and key pair; a runner it
 * created is deleted and the token parameter put back as it was. A manager that existed before is
 * left as it is (the phases are idempotent: run bootstrap again after fixing the cause).
 */
import { launchResult, phaseResult, runnerResult } from './state';
import type { Json, OperationDefinition } from '../framework/types';
import { renderFor, rerenderConfig } from './commands';
import { describeTokenParameter } from '../../adapters/aws/token-parameter';
import { awsFor } from './deps';
import type { ManagerOpsDeps } from './deps';
import { inspectEnvironment, inspectStep } from './inspect';
import { bootstrapDetails, bullets, existing, launchLine, versionsLine } from './plan-text';
import { launchedManager, launchStep, phaseSteps, ssmOnlineStep } from './provision';
import { runnerOnlineStep, runnerStep, undoRunner, usableRunner } from './runner-steps';
import { removeLaunchedManagers } from './teardown';
import { cleanupContext, reportCleanup } from './cleanup';

export function bootstrapOperation(deps: ManagerOpsDeps): OperationDefinition {
  const steps = [
    inspectStep(deps),
    launchStep(deps, 'if-absent'),
    runnerStep(deps, 'reuse-if-present', launchedManager),
    ssmOnlineStep(deps, launchedManager),
    ...phaseSteps(deps, launchedManager),
    runnerOnlineStep(deps),
  ];
  return {
    verb: 'bootstrap',
    steps,
    async plan(input) {
      const fleet = renderFor(deps, input);
      const info = await inspectEnvironment(deps, input);
      const usable = usableRunner(info, info.managerId) !== undefined;
      const lines = [
        info.managerId === null ? launchLine(input.env, info.generation + 1) : `Configure the existing manager \`${info.managerId}\` through SSM Run Command.`,
        usable ? 'Keep the existing runner and its token.' : `Create a ${input.env.gitlab.runnerType} runner in GitLab (tags ${input.env.gitlab.tags.map((t) => `\`${t}\``).join(', ') || 'none'}) and store its token in \`${input.env.gitlab.tokenParameter}\` (SecureString).`,
        `Run the bootstrap in ${fleet.managerPhases.length} SSM commands (${fleet.managerPhases.map((p) => p.name).join(', ')}): ${versionsLine(fleet)}. Nothing that already matches is changed.`,
        'Wait until the runner is online in GitLab.',
      ];
      return { summary: `${existing(info)}\n${bullets(lines)}`, steps: steps.map((s) => s.label), details: bootstrapDetails(fleet) };
    },
    async cleanup(raw) {
      const ctx = cleanupContext(raw);
      const lines = [...await removeLaunchedManagers(deps, ctx), ...await undoRunner(deps, ctx)];
      // A manager that existed before keeps serving: if this operation gave it a new runner's token
      // (the runner phase started) and that runner is gone again, render config.toml from the
      // restored parameter.
      // (The runner step saves state only when it creates a runner.)
      const kept = launchResult.safeParse(ctx.results.launch);
      if (kept.success && !kept.data.launched && ctx.saved.runner !== undefined && ctx.saved['phase-runner'] !== undefined
        && (await describeTokenParameter(awsFor(deps, ctx).ssm, ctx.env.gitlab.tokenParameter)).exists) {
        lines.push(await rerenderConfig(deps, ctx, kept.data.instanceId));
      }
      await reportCleanup(ctx, lines, 'The environment is as it was before this operation.');
    },
    summarize: (results) => bootstrapSummary(results),
  };
}

function bootstrapSummary(results: Readonly<Record<string, Json>>): string {
  const launch = launchResult.safeParse(results.launch);
  const runner = runnerResult.safeParse(results.runner);
  const phasesChanged = Object.entries(results).filter(([k]) => k.startsWith('phase-')).some(([, v]) => {
    const p = phaseResult.safeParse(v);
    return !p.success || p.data.changed;
  });
  const id = launch.success ? launch.data.instanceId : '?';
  const runnerId = runner.success ? runner.data.runnerId : '?';
  if (launch.success && !launch.data.launched && runner.success && !runner.data.created && !phasesChanged) {
    return `Nothing changed: manager \`${id}\` already matched the fleet file and runner #${runnerId} is online.`;
  }
  const what = [
    launch.success && launch.data.launched ? `launched manager \`${id}\`` : `configured manager \`${id}\``,
    runner.success && runner.data.created ? `created runner #${runnerId}` : `kept runner #${runnerId}`,
  ];
  return `Bootstrapped: ${what.join(', ')}; the runner is online in GitLab.`;
}
