/**
 * `status <env>`: read-only, no approval, answered ephemerally. Every source (EC2, SSM, GitLab,
 * open operations, Spot events) is asked in parallel and bounded; a failing source is named in
 * the answer instead of failing it.
 */
import type { Logger } from 'pino';
import type { AwsClientFactory } from '../adapters/aws/clients';
import type { GitlabClient } from '../adapters/gitlab/client';
import type { FleetSource } from '../config/fleet-source';
import { RunnerOpsError } from '../domain/errors';
import type { OperationStore } from '../store/operation-store';
import { redisUnavailableAsError } from '../store/redis';
import type { Answer } from './service';
import { gatherStatus, renderStatusBlocks, type SpotEventSummary } from './status';

export interface StatusDeps {
  fleet: FleetSource;
  aws: AwsClientFactory;
  gitlab: GitlabClient | undefined;
  store: OperationStore;
  log: Logger;
  /** The environment's recent Spot events, newest first (the alerts' record); absent: none shown. */
  spotEvents?: (envName: string) => Promise<SpotEventSummary[]>;
}

/** A source kept in Redis: Redis being away is named as such in the answer, not as an internal error. */
async function fromRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw redisUnavailableAsError(err);
  }
}

export async function statusAnswer(deps: StatusDeps, envName: string): Promise<Answer> {
  const env = deps.fleet().environments[envName];
  if (env === undefined) throw new RunnerOpsError('not_found', `there is no environment \`${envName}\``);
  const report = await gatherStatus({
    aws: deps.aws.forEnvironment(env),
    gitlab: deps.gitlab,
    now: () => new Date(),
    openOperations: () => fromRedis(async () => (await deps.store.listOpen(envName)).map((op) => ({
      id: op.id, verb: op.verb, state: op.state, requester: op.requesterId, createdAt: new Date(op.createdAt),
    }))),
    recentSpotEvents: () => fromRedis(async () => (deps.spotEvents === undefined ? [] : deps.spotEvents(envName))),
  }, envName, env);
  return renderStatusBlocks(report);
}
