/**
 * What the manager operations (bootstrap, rotate, destroy, reregister) are given: clients, the
 * clock every wait runs on, and the bounds of every wait. main.ts passes the defaults; tests pass
 * short ones and their own version catalogue.
 */
import type { AwsClientFactory, AwsClients } from '../../adapters/aws/clients';
import type { GitlabClient } from '../../adapters/gitlab/client';
import type { Clock } from '../../domain/clock';
import { RunnerOpsError } from '../../domain/errors';
import type { VersionCatalogue } from '../../fleet/versions';
import type { OperationContext } from '../framework/types';

export interface OperationTimings {
  /** A launched instance reaching `running`. */
  instanceRunningMs: number;
  /** The SSM agent reporting Online (a fresh instance: boot, cloud-init, agent registration). */
  ssmOnlineMs: number;
  /** A new runner contacting GitLab after its config.toml was written. */
  runnerOnlineMs: number;
  /** Terminated instances reaching `terminated`. */
  terminatedMs: number;
  /** executionTimeout of each bootstrap phase, in seconds. */
  phaseSeconds: { host: number; tools: number; keypair: number; runner: number };
  /** executionTimeout of docker-machine rm over SSM, in seconds. */
  removeWorkersSeconds: number;
  /** Poll pacing for every wait (tests shrink these; production uses each adapter's defaults). */
  poll?: { initialDelayMs: number; maxDelayMs: number };
}

export const DEFAULT_TIMINGS: OperationTimings = {
  instanceRunningMs: 5 * 60_000,
  ssmOnlineMs: 10 * 60_000,
  runnerOnlineMs: 10 * 60_000,
  terminatedMs: 5 * 60_000,
  phaseSeconds: { host: 1_800, tools: 1_800, keypair: 300, runner: 900 },
  removeWorkersSeconds: 900,
};

export interface ManagerOpsDeps {
  aws: AwsClientFactory;
  gitlab: GitlabClient | undefined;
  gitlabUrl: string;
  clock: Clock;
  timings: OperationTimings;
  /** Pinned versions and digests; tests pass the sandbox catalogue. */
  catalogue?: VersionCatalogue;
}

/** The environment's AWS clients, with STS sessions named after the operation (CONTRACT §6). */
export function awsFor(deps: ManagerOpsDeps, ctx: Pick<OperationContext, 'env' | 'operation'>): AwsClients {
  return deps.aws.forEnvironment(ctx.env, `runner-ops-${ctx.operation.id}`);
}

export function gitlabOf(deps: ManagerOpsDeps): GitlabClient {
  if (deps.gitlab === undefined) {
    throw new RunnerOpsError('config_invalid', 'GITLAB_TOKEN is not set: runner operations need a token with the create_runner and manage_runner scopes');
  }
  return deps.gitlab;
}

/** Options for withGitlabRetry: the operation's clock, its signal, and the test pacing if any. */
export function gitlabRetry(deps: ManagerOpsDeps, signal?: AbortSignal): { clock: Clock; signal?: AbortSignal; baseDelayMs?: number } {
  return {
    clock: deps.clock,
    ...(signal === undefined ? {} : { signal }),
    ...(deps.timings.poll === undefined ? {} : { baseDelayMs: deps.timings.poll.initialDelayMs }),
  };
}

/** Poll pacing for a wait, from the timings (undefined fields fall back to the adapter's defaults). */
export function pacing(deps: ManagerOpsDeps): { initialDelayMs?: number; maxDelayMs?: number } {
  return deps.timings.poll === undefined ? {} : { initialDelayMs: deps.timings.poll.initialDelayMs, maxDelayMs: deps.timings.poll.maxDelayMs };
}

/**
 * A bounded wait that ran out inside a step is final for this attempt: retrying the whole step
 * would wait the same bound again (BullMQ attempts 3), so the timeout becomes a definite failure.
 */
export async function finalWait<T>(wait: Promise<T>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    if (err instanceof RunnerOpsError && err.code === 'timeout') throw new RunnerOpsError('external', err.message, { cause: err, ...(err.detail === undefined ? {} : { detail: err.detail }) });
    throw err;
  }
}
