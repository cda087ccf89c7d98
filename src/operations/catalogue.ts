/**
 * The changing operations this build offers. Each later capability (bootstrap, rotate,
 * reregister, verify-ecr, destroy) registers here; a verb that is not registered is answered
 * "not available in this version" and nothing is queued.
 */
import type { AwsClientFactory } from '../adapters/aws/clients';
import type { GitlabClient } from '../adapters/gitlab/client';
import type { OperationRegistry } from './framework/registry';

export function registerProductOperations(_registry: OperationRegistry, _clients: { aws: AwsClientFactory; gitlab: GitlabClient | undefined }): void {
  // None yet: the operations framework ships first (issue 2); the verbs follow in later issues.
}
