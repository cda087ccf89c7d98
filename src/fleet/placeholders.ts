/**
 * Values only the manager knows, left as placeholders in the rendered config.toml and filled in on
 * the manager by manager-bootstrap.sh (so `runner-ops render` works offline and the token never
 * leaves Parameter Store except into config.toml). No fleet-file value may contain the marker
 * (src/config/fleet-schema.ts refuses `@@` in every value), so a substitution can only hit these.
 */
export const PLACEHOLDER = {
  /** The glrt- runner authentication token, from SSM Parameter Store with decryption. */
  runnerToken: '@@RUNNER_OPS_RUNNER_TOKEN@@',
  /** The manager's EC2 instance id, from IMDSv2. */
  managerInstanceId: '@@RUNNER_OPS_MANAGER_INSTANCE_ID@@',
  /** The worker AMI id, resolved on the manager when the fleet file names a resolve:ssm: parameter. */
  workerAmi: '@@RUNNER_OPS_WORKER_AMI@@',
} as const;

export const PLACEHOLDER_MARKER = '@@';

/** Fixed paths on the machines (real paths; scripts prefix them with $ROOT). */
export const PATHS = {
  helper: '/usr/local/bin/docker-credential-ecr-login',
  dockerMachine: '/usr/local/bin/docker-machine',
  dockerConfig: '/root/.docker/config.json',
  runnerConfig: '/etc/gitlab-runner/config.toml',
  workerUserData: '/etc/gitlab-runner/worker-userdata.sh',
  sshKey: '/root/.ssh/runner-ops-ed25519',
  systemdDropIn: '/etc/systemd/system/gitlab-runner.service.d/10-runner-ops.conf',
  workerReady: '/var/lib/runner-ops/worker-ready',
} as const;
