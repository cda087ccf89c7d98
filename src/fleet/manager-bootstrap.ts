/**
 * manager-bootstrap.sh, whole and as phases. An operation may run the whole script as one SSM
 * command, or one command per phase (each a complete standalone script) to move a progress line.
 * Every phase prints `{"kind":"phase",…}` when it ends; the script (or the last phase) ends with
 * one `{"kind":"manager",…}` line (summary.ts parses both). In per-phase mode, "anything changed"
 * is the OR of the phase lines' `changed`.
 */
import type { EnvironmentConfig } from '../config/fleet-schema';
import { COMMON_FUNCTIONS, preamble } from './bash-lib';
import { PACKAGE_FUNCTIONS } from './bash-packages';
import { MANAGER_FUNCTIONS, MANAGER_PHASES, type ManagerPhaseName, phaseFunction, type PhaseSources } from './manager-phases';
import { shArray, shAssign } from './shell';
import type { ResolvedVersions } from './versions';

export interface ManagerBootstrapInput {
  readonly envName: string;
  readonly env: EnvironmentConfig;
  readonly versions: ResolvedVersions;
  /** The fleet variant of the worker user data, written to /etc/gitlab-runner/worker-userdata.sh. */
  readonly workerUserData: string;
  /** config.toml with placeholders (config-toml.ts). */
  readonly configToml: string;
}

export interface ScriptPhase {
  readonly name: ManagerPhaseName;
  readonly script: string;
}

function values({ envName, env, versions }: ManagerBootstrapInput): string {
  const dm = versions.dockerMachine;
  const helper = versions.ecrCredentialHelper;
  const lines = [
    shAssign('ENV_NAME', envName),
    shAssign('REGION', env.region),
    shAssign('TOKEN_PARAMETER', env.gitlab.tokenParameter),
    shAssign('WORKER_AMI_REF', env.workers.ami),
    shArray('ECR_REGISTRIES', env.ecr.registries),
    shAssign('GITLAB_RUNNER_VERSION', versions.gitlabRunner),
    shAssign('DOCKER_MACHINE_VERSION', dm.version),
    `# sha256 source: ${dm.source}${dm.confirmed ? '' : ' (UNCONFIRMED)'}`,
    shAssign('DOCKER_MACHINE_SHA256_AMD64', dm.sha256.amd64),
    shAssign('DOCKER_MACHINE_SHA256_ARM64', dm.sha256.arm64),
    shAssign('HELPER_VERSION', helper.version),
    `# sha256 source: ${helper.source}${helper.confirmed ? '' : ' (UNCONFIRMED)'}`,
    shAssign('HELPER_SHA256_AMD64', helper.sha256.amd64),
    shAssign('HELPER_SHA256_ARM64', helper.sha256.arm64),
    'ANY_CHANGED=false',
    'RESTARTED=false',
    'WORKER_AMI=',
    'KEY_PAIR_NAME=',
  ];
  return [
    '# Values from the fleet file (validated when it loaded, quoted by src/fleet/shell.ts).',
    '# shellcheck disable=SC2034 # a phase script uses only some of them',
    '{',
    ...lines.map((l) => `  ${l}`),
    '}',
  ].join('\n');
}

const FINISH_FUNCTIONS = `
phase_done() {
  printf '{"kind":"phase","phase":"%s","changed":%s}\\n' "$1" "$CHANGED"
  if [ "$CHANGED" = true ]; then ANY_CHANGED=true; fi
  CHANGED=false
}

manager_summary() {
  printf '{"kind":"manager","environment":%s,"instanceId":"%s","region":"%s","arch":"%s","distro":%s,"keyPair":"%s","workerAmi":"%s","versions":{"gitlabRunner":"%s","dockerMachine":"%s","ecrCredentialHelper":"%s"},"restarted":%s,"changed":%s}\\n' \\
    "$(json_str "$ENV_NAME")" "$INSTANCE_ID" "$REGION" "$ARCH" "$(json_str "$DISTRO")" "$KEY_PAIR_NAME" "$WORKER_AMI" \\
    "$GITLAB_RUNNER_VERSION" "$DOCKER_MACHINE_VERSION" "$HELPER_VERSION" "$RESTARTED" "$ANY_CHANGED"
}
`;

function sources(input: ManagerBootstrapInput): PhaseSources {
  return { workerUserData: input.workerUserData, configToml: input.configToml, drainSeconds: input.env.manager.drainTimeoutMinutes * 60 };
}

function assemble(input: ManagerBootstrapInput, scriptName: string, title: string, phases: readonly ManagerPhaseName[]): string {
  const src = sources(input);
  const calls = phases.map((p) => `phase_${p}\nphase_done ${p}`);
  const last = phases[phases.length - 1];
  return [
    preamble(scriptName, title),
    values(input),
    COMMON_FUNCTIONS,
    PACKAGE_FUNCTIONS,
    MANAGER_FUNCTIONS,
    ...phases.map((p) => phaseFunction(p, src)),
    FINISH_FUNCTIONS,
    '# --- main ---',
    ...calls,
    ...(last === 'runner' ? ['manager_summary'] : []),
    '',
  ].join('\n');
}

/** The whole bootstrap as one script. */
export function renderManagerBootstrap(input: ManagerBootstrapInput): string {
  return assemble(input, 'manager-bootstrap', `Manager bootstrap for runner-ops environment ${input.envName}.`, MANAGER_PHASES);
}

/** The bootstrap as ordered phases, each a complete standalone script (one SSM command each). */
export function renderManagerPhases(input: ManagerBootstrapInput): ScriptPhase[] {
  return MANAGER_PHASES.map((name, i) => ({
    name,
    script: assemble(input, `manager-bootstrap-${name}`, `Manager bootstrap phase ${i + 1}/${MANAGER_PHASES.length} (${name}) for runner-ops environment ${input.envName}.`, [name]),
  }));
}
