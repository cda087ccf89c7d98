/**
 * Level 1 of DESIGN §2, the manager: over SSM on the environment's current manager, ask the
 * credential helper for the registry's credentials as gitlab-runner does, and check its
 * credHelpers entry (src/fleet/verify-probes.ts). Only ok or the helper's error comes back; the
 * credential never reaches stdout. No manager, or one SSM cannot reach, makes the level
 * "skipped" with the reason; the worker levels are verified regardless.
 */
import { findManager } from '../../adapters/aws/ec2-instances';
import { getSsmInstanceInfo } from '../../adapters/aws/ssm-ping';
import { isRetryable, isRunnerOpsError, userMessage } from '../../domain/errors';
import { readManagerEcrResult } from '../../fleet/summary';
import { renderManagerEcrCheck } from '../../fleet/verify-probes';
import type { StepDefinition } from '../framework/types';
import { runOnManager } from '../manager/commands';
import { awsFor, type ManagerOpsDeps } from '../manager/deps';
import { json } from '../manager/state';
import { preflightResult, resultOf } from './state';
import type { VerifyTimings } from './timings';

export function managerLevelStep(deps: ManagerOpsDeps, timings: VerifyTimings): StepDefinition {
  return {
    name: 'manager',
    label: 'Manager level: the credential helper on the manager',
    run: async (ctx) => {
      const { registry } = resultOf(ctx, 'preflight', preflightResult);
      const { ec2, ssm } = awsFor(deps, ctx);
      const abort = { abortSignal: ctx.signal };
      const skipped = async (managerId: string | null, reason: string) => {
        await ctx.note(`Manager level skipped: ${reason}.`);
        return json({ level: 'manager', result: 'skipped', seconds: null, reason, managerId });
      };
      const manager = await findManager(ec2, ctx.envName, abort);
      if (manager === undefined) return skipped(null, `${ctx.envName} has no manager (run \`/runner bootstrap ${ctx.envName}\`)`);
      const ping = await getSsmInstanceInfo(ssm, manager.id, abort);
      if (ping.pingStatus !== 'Online') return skipped(manager.id, `manager \`${manager.id}\` is not reachable through SSM (PingStatus ${ping.pingStatus})`);
      const failed = (error: string) => json({ level: 'manager', result: 'failed', seconds: null, error, managerId: manager.id });
      try {
        const result = await runOnManager(deps, ctx, {
          instanceId: manager.id, script: renderManagerEcrCheck(ctx.envName, registry),
          what: `ECR credential check on ${manager.id}`, executionTimeoutSeconds: timings.managerCheckSeconds,
        });
        const line = result.ok ? readManagerEcrResult(result.stdout) : undefined;
        if (line === undefined) return failed(`the credential check did not run on ${manager.id}: ${result.reason}`);
        return json({ level: 'manager', result: line.ok ? 'ok' : 'failed', seconds: line.seconds, ...(line.ok ? {} : { error: line.error }), managerId: manager.id });
      } catch (err) {
        // Cancellation, shutdown and passing trouble go to the runner; a definite failure is the
        // level's result, and the worker levels are still worth knowing.
        if (ctx.signal.aborted || isRetryable(err) || (isRunnerOpsError(err) && err.code === 'cancelled')) throw err;
        return failed(userMessage(err));
      }
    },
  };
}
