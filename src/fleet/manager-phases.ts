/**
 * The manager bootstrap's phases as bash functions. Each phase is idempotent: it looks at the
 * machine, changes only what differs from the fleet file, and records what it changed (CHANGED).
 * Written as TypeScript strings: `\${` is a literal bash `${`.
 */
import { PATHS, PLACEHOLDER } from './placeholders';
import { heredoc } from './shell';

export type ManagerPhaseName = 'host' | 'tools' | 'keypair' | 'runner';
export const MANAGER_PHASES: readonly ManagerPhaseName[] = ['host', 'tools', 'keypair', 'runner'];

/** Functions every phase may use: architecture/distribution, the instance's own identity. */
export const MANAGER_FUNCTIONS = `
prepare() {
  detect_arch
  detect_distro
}

by_arch() {
  case "$ARCH" in
    amd64) printf '%s' "$1" ;;
    arm64) printf '%s' "$2" ;;
  esac
}

# The instance's own id and region from IMDSv2 (a session token first).
load_context() {
  if [ -n "\${INSTANCE_ID:-}" ]; then return 0; fi
  local imds=http://169.254.169.254/latest imds_token
  imds_token=$(curl --fail --retry 6 -L -sS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$imds/api/token" 2>>"$LOG")
  INSTANCE_ID=$(curl --fail --retry 6 -L -sS -H "X-aws-ec2-metadata-token: $imds_token" "$imds/meta-data/instance-id" 2>>"$LOG")
  INSTANCE_REGION=$(curl --fail --retry 6 -L -sS -H "X-aws-ec2-metadata-token: $imds_token" "$imds/meta-data/placement/region" 2>>"$LOG")
  [[ $INSTANCE_ID =~ ^i-[0-9a-f]{8,17}$ ]] || fail 'IMDS returned no instance id'
  [ "$INSTANCE_REGION" = "$REGION" ] || fail "this instance is in $INSTANCE_REGION, environment $ENV_NAME is in $REGION"
  KEY_PAIR_NAME="runner-ops-$ENV_NAME-$INSTANCE_ID"
}
`;

const HOST = `
phase_host() {
  step 'detect'
  prepare
  step 'docker engine'
  install_docker
  step 'aws cli'
  if ! command -v aws >/dev/null 2>&1; then
    if [ "$PKG" = apt ]; then run snap install aws-cli --classic; else pkg_install awscli-2; fi
    note_change 'aws cli'
  fi
}
`;

const TOOLS = `
add_gitlab_repository() {
  local list kind script
  if [ "$PKG" = apt ]; then
    list="$ROOT/etc/apt/sources.list.d/runner_gitlab-runner.list"; kind=deb
  else
    list="$ROOT/etc/yum.repos.d/runner_gitlab-runner.repo"; kind=rpm
  fi
  if [ -f "$list" ]; then return 0; fi
  script=$(mktemp)
  fetch "https://packages.gitlab.com/install/repositories/runner/gitlab-runner/script.$kind.sh" "$script"
  run bash "$script"
  rm -f "$script"
  APT_UPDATED=true
  note_change 'gitlab-runner package repository'
}

phase_tools() {
  prepare
  step 'gitlab-runner'
  local want="$GITLAB_RUNNER_VERSION-1"
  if [ "$(pkg_version gitlab-runner)" != "$want" ]; then
    add_gitlab_repository
    if [ "$PKG" = apt ]; then
      pkg_install "gitlab-runner=$want" "gitlab-runner-helper-images=$want"
      run apt-mark hold gitlab-runner gitlab-runner-helper-images
    else
      pkg_install "gitlab-runner-$want" "gitlab-runner-helper-images-$want"
    fi
    note_change "gitlab-runner $want"
  fi
  step 'docker-machine'
  install_binary "https://gitlab-docker-machine-downloads.s3.amazonaws.com/v$DOCKER_MACHINE_VERSION/docker-machine-$UNAME_S-$UNAME_M" \\
    "$(by_arch "$DOCKER_MACHINE_SHA256_AMD64" "$DOCKER_MACHINE_SHA256_ARM64")" "$ROOT${PATHS.dockerMachine}"
  step 'ecr credential helper'
  install_binary "https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/$HELPER_VERSION/linux-$ARCH/docker-credential-ecr-login" \\
    "$(by_arch "$HELPER_SHA256_AMD64" "$HELPER_SHA256_ARM64")" "$ROOT${PATHS.helper}"
  step 'docker config'
  merge_cred_helpers "\${ECR_REGISTRIES[@]}"
}
`;

const KEYPAIR = `
phase_keypair() {
  prepare
  load_context
  step 'ssh key'
  local key="$ROOT${PATHS.sshKey}"
  # Made once and never overwritten: workers already running trust it.
  if [ ! -f "$key" ]; then
    mkdir -p "$(dirname "$key")"
    chmod 0700 "$(dirname "$key")"
    run ssh-keygen -q -t ed25519 -N '' -C "runner-ops-$ENV_NAME@$INSTANCE_ID" -f "$key"
    note_change 'ssh key'
  fi
  step 'ec2 key pair'
  if run aws ec2 describe-key-pairs --region "$REGION" --key-names "$KEY_PAIR_NAME"; then
    printf 'key pair %s exists\\n' "$KEY_PAIR_NAME" >>"$LOG"
  else
    run aws ec2 import-key-pair --region "$REGION" --key-name "$KEY_PAIR_NAME" \\
      --public-key-material "fileb://$key.pub" \\
      --tag-specifications "ResourceType=key-pair,Tags=[{Key=ManagedBy,Value=runner-ops},{Key=runner-ops:environment,Value=$ENV_NAME},{Key=runner-ops:manager,Value=$INSTANCE_ID}]"
    note_change "key pair $KEY_PAIR_NAME"
  fi
}
`;

function runnerPhase(workerUserData: string, configToml: string, drainSeconds: number): string {
  return `
resolve_worker_ami() {
  case "$WORKER_AMI_REF" in
    resolve:ssm:*)
      WORKER_AMI=$(aws ssm get-parameter --region "$REGION" --name "\${WORKER_AMI_REF#resolve:ssm:}" --query Parameter.Value --output text 2>>"$LOG") ;;
    *) WORKER_AMI=$WORKER_AMI_REF ;;
  esac
  [[ $WORKER_AMI =~ ^ami-[0-9a-f]{8,17}$ ]] || fail "could not resolve the worker AMI from $WORKER_AMI_REF"
}

# The runner token goes from Parameter Store into a variable and from there into config.toml:
# it is never printed, logged or passed as a command argument (printf is a shell builtin).
write_config_toml() {
  local dest="$ROOT${PATHS.runnerConfig}" template token config tmp
  ${heredoc('IFS= read -r -d \'\' template', 'RUNNER_OPS_CONFIG_TOML', configToml, ' || true')}
  token=$(aws ssm get-parameter --region "$REGION" --name "$TOKEN_PARAMETER" --with-decryption --query Parameter.Value --output text 2>>"$LOG") \\
    || fail "could not read $TOKEN_PARAMETER from Parameter Store"
  [[ $token =~ ^glrt-[A-Za-z0-9._-]+$ ]] || fail "$TOKEN_PARAMETER does not hold a glrt- runner authentication token"
  config=\${template//"${PLACEHOLDER.runnerToken}"/"$token"}
  config=\${config//"${PLACEHOLDER.managerInstanceId}"/"$INSTANCE_ID"}
  config=\${config//"${PLACEHOLDER.workerAmi}"/"$WORKER_AMI"}
  unset token
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$(dirname "$dest")/.config.toml.XXXXXX")
  printf '%s' "$config" >"$tmp"
  unset config
  replace_if_changed "$tmp" "$dest" 0600
}

# gitlab-runner reloads config.toml by itself. A restart waits for every running job
# (KillSignal=SIGQUIT), so it happens only when the package or its systemd unit changed.
apply_service() {
  local stamp_file="$ROOT/var/lib/runner-ops/gitlab-runner.stamp" unit="$ROOT/etc/systemd/system/gitlab-runner.service" stamp old=''
  stamp="package=$(pkg_version gitlab-runner) dropin=$(sha256_of "$ROOT${PATHS.systemdDropIn}")"
  if [ -f "$unit" ]; then stamp="$stamp unit=$(sha256_of "$unit")"; fi
  if [ -f "$stamp_file" ]; then old=$(<"$stamp_file"); fi
  if ! systemctl is-enabled --quiet gitlab-runner; then
    run systemctl enable gitlab-runner
    note_change 'gitlab-runner enabled'
  fi
  if [ "$stamp" != "$old" ]; then
    run systemctl daemon-reload
    run systemctl restart gitlab-runner
    RESTARTED=true
    printf '%s\\n' "$stamp" >"$stamp_file"
    note_change 'gitlab-runner restarted'
  elif ! systemctl is-active --quiet gitlab-runner; then
    run systemctl start gitlab-runner
    note_change 'gitlab-runner started'
  fi
}

phase_runner() {
  prepare
  load_context
  step 'worker user data'
  ${heredoc(`install_content "$ROOT${PATHS.workerUserData}" 0755`, 'RUNNER_OPS_WORKER_USERDATA', workerUserData)}
  step 'worker ami'
  resolve_worker_ami
  step 'config.toml'
  write_config_toml
  step 'systemd'
  ${heredoc(`install_content "$ROOT${PATHS.systemdDropIn}" 0644`, 'RUNNER_OPS_DROPIN', `[Service]\nKillSignal=SIGQUIT\nTimeoutStopSec=${drainSeconds}\n`)}
  apply_service
  step 'verify'
  run gitlab-runner verify --config "$ROOT${PATHS.runnerConfig}"
}
`;
}

export interface PhaseSources {
  readonly workerUserData: string;
  readonly configToml: string;
  readonly drainSeconds: number;
}

/** The bash function that implements one phase (`phase_<name>`). */
export function phaseFunction(name: ManagerPhaseName, sources: PhaseSources): string {
  switch (name) {
    case 'host': return HOST;
    case 'tools': return TOOLS;
    case 'keypair': return KEYPAIR;
    case 'runner': return runnerPhase(sources.workerUserData, sources.configToml, sources.drainSeconds);
  }
}
