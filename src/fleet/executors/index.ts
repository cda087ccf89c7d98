/** The executor profiles by fleet-file `workers.executor`. Add docker-autoscaler here. */
import type { EnvironmentConfig } from '../../config/fleet-schema';
import { dockerMachineExecutor } from './docker-machine';
import type { ExecutorProfile } from './types';

const PROFILES: Record<EnvironmentConfig['workers']['executor'], ExecutorProfile> = {
  'docker+machine': dockerMachineExecutor,
};

export function executorProfile(executor: EnvironmentConfig['workers']['executor']): ExecutorProfile {
  return PROFILES[executor];
}

export type { ExecutorContext, ExecutorProfile, TomlTable, TomlValue } from './types';
