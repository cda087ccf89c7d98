/**
 * Levels 2 and 3 of DESIGN §2 on the verify worker: verify-ecr.sh over SSM (host, job container,
 * Docker-in-Docker), resumable like every command (its CommandId is saved before it is polled).
 * The script exits 1 when a level failed; that is a result, not a step failure. The step fails
 * only when the script could not report any level (the worker could not pull the docker:cli or
 * docker:dind images, say), or when the worker was interrupted, which is reported as such.
 */
import { commandFailed } from '../../adapters/aws/ssm-commands';
import { renderFleet } from '../../fleet/render';
import { readVerifyEcrResult } from '../../fleet/summary';
import type { StepDefinition } from '../framework/types';
import { runOnManager } from '../manager/commands';
import type { ManagerOpsDeps } from '../manager/deps';
import { json } from '../manager/state';
import { guardInterruption, interruptedError, interruptionNow, launchedWorker } from './launch';
import { preflightResult, resultOf, type LevelResult } from './state';
import type { VerifyTimings } from './timings';

export const WORKER_LEVELS = ['host', 'container', 'dind'] as const;

export function workerLevelsStep(deps: ManagerOpsDeps, timings: VerifyTimings): StepDefinition {
  return {
    name: 'verify',
    label: 'Worker levels: host, job container, Docker-in-Docker',
    run: async (ctx) => {
      const { instanceId } = launchedWorker(ctx);
      const { image } = resultOf(ctx, 'preflight', preflightResult);
      const script = renderFleet({
        envName: ctx.envName, env: ctx.env, gitlabUrl: deps.gitlabUrl, verifyImage: image,
        ...(deps.catalogue === undefined ? {} : { catalogue: deps.catalogue }),
      }).artifacts['verify-ecr.sh'];
      const result = await guardInterruption(deps, ctx, instanceId, () => runOnManager(deps, ctx, {
        instanceId, script, what: `verify-ecr.sh on ${instanceId}`, executionTimeoutSeconds: timings.verifySeconds,
      }));
      if (!result.ok) {
        const gone = await interruptionNow(deps, ctx, instanceId).catch(() => undefined);
        if (gone !== undefined) throw interruptedError(gone);
      }
      const parsed = readVerifyEcrResult(result.stdout);
      if (parsed.levels.length === 0) throw commandFailed(`verify-ecr.sh on ${instanceId}`, result);
      const levels: LevelResult[] = WORKER_LEVELS.map((level) => {
        const l = parsed.levels.find((x) => x.level === level);
        if (l === undefined) return { level, result: 'skipped', seconds: null, reason: `verify-ecr.sh did not get there (${result.reason})` };
        return { level, result: l.result, seconds: l.seconds, ...(l.error === undefined ? {} : { error: l.error }), ...(l.helperError === undefined ? {} : { helperError: l.helperError }) };
      });
      return json({ ok: parsed.ok, levels, status: result.status, reason: result.reason });
    },
  };
}
