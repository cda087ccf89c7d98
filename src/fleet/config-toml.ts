/**
 * config.toml for the manager's gitlab-runner, generated with smol-toml. The token, the manager's
 * instance id and (for resolve:ssm: AMIs) the worker AMI are placeholders (placeholders.ts) that
 * manager-bootstrap.sh fills in on the manager. gitlab-runner reloads this file by itself when it
 * changes, so a new config.toml never needs a restart.
 */
import { stringify } from 'smol-toml';
import type { EnvironmentConfig } from '../config/fleet-schema';
import { executorProfile, type TomlTable } from './executors';
import { PATHS, PLACEHOLDER } from './placeholders';

export interface ConfigTomlInput {
  readonly envName: string;
  readonly env: EnvironmentConfig;
  readonly gitlabUrl: string;
}

/** Read-only mounts that give job containers (and the docker CLI in them) the worker's ECR helper. */
export const JOB_VOLUMES: readonly string[] = [
  `${PATHS.helper}:${PATHS.helper}:ro`,
  `${PATHS.dockerConfig}:${PATHS.dockerConfig}:ro`,
  '/certs/client',
  '/cache',
];

export function configTomlDocument({ envName, env, gitlabUrl }: ConfigTomlInput): TomlTable {
  const profile = executorProfile(env.workers.executor);
  const runner: TomlTable = {
    name: `runner-ops ${envName}: ${env.gitlab.description}`,
    url: gitlabUrl,
    token: PLACEHOLDER.runnerToken,
    executor: profile.executor,
    // Runner tokens change only through runner-ops (CONTRACT §6).
    feature_flags: { FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true },
    docker: {
      image: 'alpine:3',
      // Docker-in-Docker needs a privileged service container.
      privileged: true,
      tls_verify: false,
      disable_cache: false,
      volumes: [...JOB_VOLUMES],
      shm_size: 0,
    },
    ...profile.runnerTables({ envName, env }),
  };
  return {
    concurrent: env.workers.concurrent,
    check_interval: 3,
    // How long gitlab-runner waits for running jobs on a graceful stop (SIGQUIT), in seconds.
    shutdown_timeout: env.manager.drainTimeoutMinutes * 60,
    runners: [runner],
  };
}

export function renderConfigToml(input: ConfigTomlInput): string {
  const header = `# config.toml for runner-ops environment ${input.envName}; generated, do not edit.\n`
    + '# @@…@@ placeholders are filled in on the manager by manager-bootstrap.sh.\n';
  return `${header}${stringify(configTomlDocument(input))}\n`;
}
