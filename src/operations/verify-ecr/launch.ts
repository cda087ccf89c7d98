/**
 * Launching the verify worker, and telling its interruption from an ECR failure.
 *
 * Crash safety (as launchStep in ../manager/provision.ts): before each RunInstances the step saves
 * the alternative it is about to try and the `runner-ops:expires-at` value, right after it the
 * instance id. A resumed step without an id calls RunInstances again from the saved alternative
 * with the same ClientToken and identical parameters (hence the saved expiry), and EC2 answers
 * with the instance it already launched. Capacity answers move to the next alternative (new
 * token) and the thread says so; permission and quota answers stop (launcher.ts).
 */
import { launchVerifyWorker, verifyWorkerAlternatives, waitUntilRunning, type LaunchAttempt } from '../../adapters/aws/launcher';
import { describeWorker, interruptionOf, securityGroupIdByName } from '../../adapters/aws/worker-lookups';
import { RunnerOpsError, isRunnerOpsError } from '../../domain/errors';
import { renderFleet } from '../../fleet/render';
import type { OperationContext, StepContext, StepDefinition } from '../framework/types';
import { awsFor, finalWait, type ManagerOpsDeps, pacing } from '../manager/deps';
import { json } from '../manager/state';
import { launchResult, launchSaved, read, resultOf, type LaunchResult } from './state';

export const LAUNCH_STEP = 'launch';

/** The verify variant of the worker user data (installs Docker, then the credential helper). */
export function verifyUserData(deps: ManagerOpsDeps, ctx: Pick<OperationContext, 'envName' | 'env'>): string {
  return renderFleet({ envName: ctx.envName, env: ctx.env, gitlabUrl: deps.gitlabUrl, ...(deps.catalogue === undefined ? {} : { catalogue: deps.catalogue }) }).workerUserData.verify;
}

/** An interruption of the worker: a definite failure of this run that says nothing about ECR. */
export function interruptedError(message: string): RunnerOpsError {
  return new RunnerOpsError('external', `${message}. This is not an ECR failure: the check could not finish, so nothing was learnt about ECR pulls; run verify-ecr again (more types in workers.instanceTypes give it more chances)`);
}

/**
 * Runs `work`; when it fails (other than by a cancellation or shutdown) and the worker is going or
 * gone, the failure becomes the interruption it really is.
 */
export async function guardInterruption<T>(deps: ManagerOpsDeps, ctx: OperationContext, instanceId: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (ctx.signal.aborted || (isRunnerOpsError(err) && err.code === 'cancelled')) throw err;
    const gone = await interruptionNow(deps, ctx, instanceId).catch(() => undefined);
    throw gone === undefined ? err : interruptedError(gone);
  }
}

/** Why the worker cannot answer any more, or undefined while it runs. */
export async function interruptionNow(deps: ManagerOpsDeps, ctx: OperationContext, instanceId: string): Promise<string | undefined> {
  const { ec2 } = awsFor(deps, ctx);
  return interruptionOf(await describeWorker(ec2, instanceId, { abortSignal: ctx.signal }), instanceId);
}

function capacityNote(attempt: LaunchAttempt, next: { instanceType: string; subnetId: string } | undefined, spot: boolean): string {
  const what = `No ${spot ? 'Spot' : 'on-demand'} capacity for \`${attempt.instanceType}\` in \`${attempt.subnetId}\` (${attempt.code ?? 'capacity'})`;
  return next === undefined ? `${what}; no alternative left in workers.instanceTypes.` : `${what}: trying \`${next.instanceType}\` in \`${next.subnetId}\` next.`;
}

export function launchWorkerStep(deps: ManagerOpsDeps): StepDefinition {
  return {
    name: LAUNCH_STEP,
    label: 'Launch a worker like the fleet\'s',
    run: async (ctx: StepContext) => {
      const w = ctx.env.workers;
      const { ec2 } = awsFor(deps, ctx);
      const saved = read(launchSaved, ctx.saved);
      const expiresAt = saved?.expiresAt ?? new Date(deps.clock.now() + ctx.env.ecr.verifyTtlMinutes * 60_000).toISOString();
      let instanceId = saved?.instanceId;
      let attempts = saved?.attempts ?? [];
      let index = saved?.index ?? 0;
      if (instanceId === undefined) {
        const securityGroupId = await securityGroupIdByName(ec2, w.vpcId, w.securityGroup, { abortSignal: ctx.signal });
        const spec = { envName: ctx.envName, operationId: ctx.operation.id, step: 'launch-worker', workers: w, securityGroupId, userData: verifyUserData(deps, ctx), expiresAt: new Date(expiresAt) };
        const launched = await launchVerifyWorker(ec2, spec, {
          abortSignal: ctx.signal,
          startAt: index,
          beforeAttempt: async (i) => { index = i; await ctx.save(json({ expiresAt, index: i, attempts })); },
          onNoCapacity: async (attempt, next) => {
            attempts = [...attempts, attempt];
            await ctx.note(capacityNote(attempt, next, w.spot));
          },
        });
        instanceId = launched.instanceId;
        attempts = [...attempts, ...launched.attempts.filter((a) => a.outcome === 'launched')];
        await ctx.save(json({ expiresAt, index: launched.index, instanceId, attempts }));
        await ctx.note(`Launched verify worker \`${instanceId}\` (${launched.alternative.instanceType}, ${w.spot ? 'one-time Spot' : 'on-demand'}, \`${launched.alternative.subnetId}\`); the reaper terminates it after ${expiresAt} if this operation cannot.`);
      }
      const id = instanceId;
      const running = await guardInterruption(deps, ctx, id, () => finalWait(waitUntilRunning(ec2, id, { clock: deps.clock, signal: ctx.signal, timeoutMs: deps.timings.instanceRunningMs, ...pacing(deps) })));
      const alt = verifyWorkerAlternatives(w)[index];
      const result: LaunchResult = {
        instanceId: id,
        instanceType: running.type ?? alt?.instanceType ?? '?',
        subnetId: alt?.subnetId ?? w.subnetId,
        az: running.az ?? null,
        spot: running.spot,
        launchedAt: running.launchTime?.getTime() ?? deps.clock.now(),
        expiresAt,
        attempts,
      };
      return json(result);
    },
  };
}

/** The launch step's result (the worker the later steps work on). */
export function launchedWorker(ctx: Pick<OperationContext, 'results'>): LaunchResult {
  return resultOf(ctx, LAUNCH_STEP, launchResult);
}
