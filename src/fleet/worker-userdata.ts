/**
 * Worker user data (cloud-init runs it at first boot, as root). One generator, two variants:
 * - `fleet`: workers Docker Machine creates. Its provisioner installs Docker over SSH while this
 *   runs, so this variant uses no package manager (no apt lock fights): it only installs the
 *   static ECR credential helper for the worker's own architecture and merges credHelpers.
 * - `verify`: the worker runner-ops launches itself for verify-ecr. Nothing provisions it, so it
 *   first installs the Docker engine the way Docker Machine's provisioner would (Docker's
 *   get.docker.com script on Ubuntu; the distribution's docker package on Amazon Linux 2023).
 * Both end by writing the readiness marker /var/lib/runner-ops/worker-ready (the summary JSON),
 * which the bot polls along with `cloud-init status`. At most 16 KB (EC2's user data limit).
 */
import type { EnvironmentConfig } from '../config/fleet-schema';
import { COMMON_FUNCTIONS, preamble } from './bash-lib';
import { PACKAGE_FUNCTIONS } from './bash-packages';
import { PATHS } from './placeholders';
import { shArray, shAssign } from './shell';
import type { PinnedBinary } from './versions';

export type WorkerVariant = 'fleet' | 'verify';
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export interface WorkerUserDataInput {
  readonly envName: string;
  readonly env: EnvironmentConfig;
  readonly ecrCredentialHelper: PinnedBinary;
  readonly variant: WorkerVariant;
}


export function renderWorkerUserData(input: WorkerUserDataInput): string {
  const { envName, env, ecrCredentialHelper: helper, variant } = input;
  const values = [
    shAssign('ENV_NAME', envName),
    shAssign('VARIANT', variant),
    shAssign('HELPER_VERSION', helper.version),
    `# sha256 source: ${helper.source}${helper.confirmed ? '' : ' (UNCONFIRMED)'}`,
    shAssign('HELPER_SHA256_AMD64', helper.sha256.amd64),
    shAssign('HELPER_SHA256_ARM64', helper.sha256.arm64),
    shArray('ECR_REGISTRIES', env.ecr.registries),
  ].join('\n');
  const main = `
step 'detect'
detect_arch
detect_distro
${variant === 'verify' ? "step 'docker engine'\ninstall_docker" : ': # Docker comes from Docker Machine\'s provisioner'}

step 'ecr credential helper'
case "$ARCH" in
  amd64) HELPER_SHA256=$HELPER_SHA256_AMD64 ;;
  arm64) HELPER_SHA256=$HELPER_SHA256_ARM64 ;;
esac
install_binary "https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/$HELPER_VERSION/linux-$ARCH/docker-credential-ecr-login" \\
  "$HELPER_SHA256" "$ROOT${PATHS.helper}"

step 'docker config'
merge_cred_helpers "\${ECR_REGISTRIES[@]}"

step 'ready'
SUMMARY=$(printf '{"kind":"worker","environment":%s,"variant":"%s","arch":"%s","distro":%s,"ecrCredentialHelper":"%s","changed":%s}' \\
  "$(json_str "$ENV_NAME")" "$VARIANT" "$ARCH" "$(json_str "$DISTRO")" "$HELPER_VERSION" "$CHANGED")
printf '%s\\n' "$SUMMARY" >"$ROOT${PATHS.workerReady}"
printf '%s\\n' "$SUMMARY"
`;
  const script = [
    preamble('worker-userdata', `Worker user data (${variant} variant) for runner-ops environment ${envName}.`),
    values,
    COMMON_FUNCTIONS,
    variant === 'verify' ? PACKAGE_FUNCTIONS : '',
    main,
  ].join('\n');
  const size = Buffer.byteLength(script, 'utf8');
  if (size > USER_DATA_LIMIT_BYTES) throw new Error(`worker user data is ${size} bytes; EC2 allows ${USER_DATA_LIMIT_BYTES}`);
  return script;
}
