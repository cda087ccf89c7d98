/**
 * `/runner verify-ecr <env> [<image>]` (CONTRACT §4): will a CI job on this fleet pull the image?
 * Proves each level of DESIGN §2 and always leaves nothing behind:
 *
 *   preflight  the image parses, names one of ecr.registries, and exists (DescribeImages; not for
 *              ECR Public). A failure here launches nothing.
 *   manager    the credential helper on the environment's manager, over SSM (skipped without one).
 *   launch     one worker like the fleet's (Spot where the fleet's are, capacity fallback across
 *              workers.instanceTypes), ClientToken per alternative, checkpointed around RunInstances.
 *   ready      SSM Online and the user data's readiness marker (bounded, with backoff).
 *   verify     verify-ecr.sh over SSM: worker host, job container, Docker-in-Docker.
 *   terminate  the worker, always; the cleanup does it on failure and cancel, the reaper after a
 *              crash (runner-ops:expires-at).
 *   report     the table; fails the operation unless every level passed.
 *
 * A Spot interruption of the worker is reported as an interruption, never as an ECR failure.
 */
import type { OperationDefinition } from '../framework/types';
import type { ManagerOpsDeps } from '../manager/deps';
import { launchWorkerStep } from './launch';
import { managerLevelStep } from './manager-level';
import { verifyEcrPlan } from './plan';
import { preflightStep } from './preflight';
import { workerReadyStep } from './ready';
import { reportStep, verifySummary } from './report';
import { cleanupVerifyWorker, terminateStep } from './terminate';
import { DEFAULT_VERIFY_TIMINGS, type VerifyTimings } from './timings';
import { workerLevelsStep } from './worker-levels';

export { DEFAULT_VERIFY_TIMINGS, type VerifyTimings } from './timings';

export function verifyEcrOperation(deps: ManagerOpsDeps, timings: VerifyTimings = DEFAULT_VERIFY_TIMINGS): OperationDefinition {
  const steps = [
    preflightStep(deps),
    managerLevelStep(deps, timings),
    launchWorkerStep(deps),
    workerReadyStep(deps, timings),
    workerLevelsStep(deps, timings),
    terminateStep(deps),
    reportStep(),
  ];
  return {
    verb: 'verify-ecr',
    steps,
    plan: (input) => verifyEcrPlan(deps, input, steps.map((s) => s.label)),
    cleanup: (ctx) => cleanupVerifyWorker(deps, ctx),
    summarize: (results) => verifySummary(results),
  };
}
