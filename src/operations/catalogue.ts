/**
 * The changing operations this build offers. A verb that is not registered is answered "not
 * available in this version" and nothing is queued.
 */
import type { AwsClientFactory } from '../adapters/aws/clients';
import type { GitlabClient } from '../adapters/gitlab/client';
import { systemClock } from '../domain/clock';
import type { OperationRegistry } from './framework/registry';
import type { OperationDefinition } from './framework/types';
import { bootstrapOperation } from './manager/bootstrap';
import { DEFAULT_TIMINGS, type ManagerOpsDeps } from './manager/deps';
import { destroyOperation } from './manager/destroy';
import { reregisterOperation } from './manager/reregister';
import { rotateOperation } from './manager/rotate';
import { verifyEcrOperation } from './verify-ecr';
import { staleRunnersOperation } from './stale-runners';

export interface ProductClients {
  aws: AwsClientFactory;
  gitlab: GitlabClient | undefined;
  gitlabUrl: string;
}

export function productOperations(deps: ManagerOpsDeps): OperationDefinition[] {
  return [bootstrapOperation(deps), rotateOperation(deps), reregisterOperation(deps), destroyOperation(deps), staleRunnersOperation(deps), verifyEcrOperation(deps)];
}

export function registerProductOperations(registry: OperationRegistry, clients: ProductClients): void {
  for (const def of productOperations({ ...clients, clock: systemClock, timings: DEFAULT_TIMINGS })) registry.register(def);
}
