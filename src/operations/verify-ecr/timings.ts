/**
 * The bounds of verify-ecr's own waits (the instance reaching `running` and termination use the
 * manager operations' timings, OperationTimings in ../manager/deps.ts).
 */
export interface VerifyTimings {
  /**
   * From `running` to ready: the SSM agent Online and the user data's readiness marker. The
   * verify variant installs the Docker engine and the credential helper (typically 2-5 min).
   */
  workerReadyMs: number;
  /** executionTimeout of one readiness probe, in seconds. */
  probeSeconds: number;
  /** executionTimeout of the manager's credential check, in seconds. */
  managerCheckSeconds: number;
  /** executionTimeout of verify-ecr.sh (three pulls and a docker:dind start), in seconds. */
  verifySeconds: number;
}

export const DEFAULT_VERIFY_TIMINGS: VerifyTimings = {
  workerReadyMs: 15 * 60_000,
  probeSeconds: 60,
  managerCheckSeconds: 120,
  verifySeconds: 20 * 60,
};
