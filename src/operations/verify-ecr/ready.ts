/**
 * Waiting until the verify worker is usable: its SSM agent Online, then the user data's readiness
 * marker (PATHS.workerReady), polled with a tiny read-only probe over SSM (verify-probes.ts) with
 * backoff, bounded by VerifyTimings.workerReadyMs. Chosen over making verify-ecr.sh wait: the
 * thread's step line shows what is awaited, a failed user data is reported (its log tail) as soon
 * as cloud-init says so, and each round first looks at the instance, so a Spot interruption during
 * the wait is reported as one at once instead of after the bound.
 *
 * The probe is read-only, so its CommandId is not checkpointed: a resumed step sends a new one.
 */
import { getSsmInstanceInfo } from '../../adapters/aws/ssm-ping';
import { runScript } from '../../adapters/aws/ssm-commands';
import { describeWorker, interruptionOf } from '../../adapters/aws/worker-lookups';
import { RunnerOpsError, isRetryable, isRunnerOpsError } from '../../domain/errors';
import { pollUntil } from '../../domain/poll';
import { redact, tail } from '../../domain/redact';
import { readWorkerReady, type WorkerSummary } from '../../fleet/summary';
import { renderWorkerReadyCheck } from '../../fleet/verify-probes';
import type { StepDefinition } from '../framework/types';
import { awsFor, type ManagerOpsDeps, pacing } from '../manager/deps';
import { json } from '../manager/state';
import { interruptedError, launchedWorker } from './launch';
import type { VerifyTimings } from './timings';

/** Passing trouble (throttling, a 5xx, SSM not yet knowing the instance) this many times in a row is tolerated. */
const TRANSIENT_ROUNDS = 3;
const ENDED = new Set(['error', 'done', 'disabled']);

export function workerReadyStep(deps: ManagerOpsDeps, timings: VerifyTimings): StepDefinition {
  return {
    name: 'ready',
    label: 'Wait for SSM and the worker\'s user data',
    run: async (ctx) => {
      const { instanceId: id } = launchedWorker(ctx);
      const { ec2, ssm } = awsFor(deps, ctx);
      const script = renderWorkerReadyCheck(ctx.envName);
      const started = deps.clock.now();
      let waitingFor = 'the SSM agent to come online';
      let transient = 0;
      const round = async (): Promise<WorkerSummary | undefined> => {
        const gone = interruptionOf(await describeWorker(ec2, id, { abortSignal: ctx.signal }), id);
        if (gone !== undefined) throw interruptedError(gone);
        const ping = (await getSsmInstanceInfo(ssm, id, { abortSignal: ctx.signal })).pingStatus;
        if (ping !== 'Online') {
          waitingFor = `the SSM agent to come online (PingStatus ${ping})`;
          return undefined;
        }
        const probe = await runScript(ssm, {
          instanceId: id, script, comment: `runner-ops ${ctx.operation.id} verify-ecr: readiness of ${id}`,
          executionTimeoutSeconds: timings.probeSeconds, deliveryTimeoutSeconds: 30,
        }, { clock: deps.clock, signal: ctx.signal, saved: undefined, save: async () => undefined, ...pacing(deps) });
        if (!probe.ok) {
          waitingFor = `the readiness probe to run (${probe.reason})`;
          return undefined;
        }
        let state;
        try { state = readWorkerReady(probe.stdout); } catch { state = undefined; } // a marker being written
        if (state !== undefined && 'ready' in state) return state.ready;
        const cloudInit = state?.waiting.cloudInit ?? 'unknown';
        if (ENDED.has(cloudInit)) {
          throw new RunnerOpsError('external', `the verify worker's user data ended without its readiness marker (cloud-init: ${cloudInit}): Docker or the credential helper could not be installed on ${id}; its log is /var/log/runner-ops/worker-userdata.log`, { detail: tail(redact(probe.stdout), 30, 2400) });
        }
        waitingFor = `the user data to finish (cloud-init: ${cloudInit})`;
        return undefined;
      };
      let worker: WorkerSummary;
      try {
        worker = await pollUntil(async () => {
          try {
            const r = await round();
            transient = 0;
            return r;
          } catch (err) {
            transient += 1;
            if (!ctx.signal.aborted && isRetryable(err) && transient <= TRANSIENT_ROUNDS) return undefined;
            throw err;
          }
        }, {
          clock: deps.clock, signal: ctx.signal, deadline: started + timings.workerReadyMs,
          initialDelayMs: pacing(deps).initialDelayMs ?? 5_000, maxDelayMs: pacing(deps).maxDelayMs ?? 30_000,
          label: `verify worker ${id} to be ready`,
        });
      } catch (err) {
        if (!isRunnerOpsError(err) || err.code !== 'timeout' || ctx.signal.aborted) throw err;
        // Final: waiting the same bound again would not help (see finalWait).
        throw new RunnerOpsError('external', `the verify worker ${id} was not ready within ${Math.round(timings.workerReadyMs / 60_000)} min, still waiting for ${waitingFor}; its instance profile (workers.instanceProfile) needs AmazonSSMManagedInstanceCore, and its subnet a route to the SSM and ECR endpoints (NAT or VPC endpoints)`, { cause: err });
      }
      await ctx.note(`Verify worker \`${id}\` is ready: ${worker.distro} ${worker.arch}, Docker and ECR credential helper ${worker.ecrCredentialHelper} installed by its user data.`);
      return json({ arch: worker.arch, distro: worker.distro, ecrCredentialHelper: worker.ecrCredentialHelper, seconds: Math.round((deps.clock.now() - started) / 1000) });
    },
  };
}
