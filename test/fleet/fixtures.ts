/** The example fleet file's prod environment, and variations of it for tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../../src/config/fleet-schema';
import { parseFleet } from '../../src/config/load';

export const EXAMPLE_PATH = join(__dirname, '../../runner-ops.example.yml');

export function exampleEnv(): EnvironmentConfig {
  const prod = parseFleet(readFileSync(EXAMPLE_PATH, 'utf8')).environments.prod;
  if (prod === undefined) throw new Error('prod missing from the example');
  return prod;
}

export function withWorkers(env: EnvironmentConfig, workers: Partial<EnvironmentConfig['workers']>): EnvironmentConfig {
  return { ...env, workers: { ...env.workers, ...workers } };
}
