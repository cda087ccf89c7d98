/**
 * The seam between config.toml and the executor. config-toml.ts writes what every runner has
 * (global settings, [[runners]] identity, [runners.docker] with the ECR mounts, feature flags);
 * an ExecutorProfile adds only what its executor needs. A `docker-autoscaler` profile
 * (fleeting-plugin-aws on an Auto Scaling group) is a new file here plus one entry in
 * executors/index.ts, not a change to the rest.
 */
import type { EnvironmentConfig } from '../../config/fleet-schema';

export type TomlPrimitive = string | number | boolean;
export type TomlValue = TomlPrimitive | TomlValue[] | TomlTable;
export interface TomlTable { [key: string]: TomlValue }

export interface ExecutorContext {
  readonly envName: string;
  readonly env: EnvironmentConfig;
}

export interface ExecutorProfile {
  /** The value of `executor` in [[runners]]. */
  readonly executor: string;
  /** Keys this executor adds to the [[runners]] table (sub-tables such as `machine` included). */
  runnerTables(ctx: ExecutorContext): TomlTable;
}
