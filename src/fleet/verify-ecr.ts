/**
 * verify-ecr.sh, run through SSM on a fresh verify worker (user data `verify` variant, readiness
 * marker present). It proves ECR pulls at three levels and prints one JSON line per level:
 *   host      the worker's docker CLI pulls through the credential helper;
 *   container a job-like container with the config.toml read-only mounts pulls with the docker
 *             CLI against the host daemon;
 *   dind      a privileged docker:dind plus a docker CLI container with those mounts pull inside
 *             the nested daemon (the container must reach IMDS: hop limit 2).
 * On failure a line carries the pull's last error line and the helper's own error, run in the
 * same place (its stdout, which would hold credentials, is discarded). Exit status 1 if any level
 * failed; every level runs regardless, so one run shows which levels work.
 */
import type { EnvironmentConfig } from '../config/fleet-schema';
import { IMAGE_REFERENCE } from '../config/grammar';
import { COMMON_FUNCTIONS, preamble } from './bash-lib';
import { PATHS } from './placeholders';
import { shAssign } from './shell';
import type { VersionCatalogue } from './versions';

export interface VerifyEcrInput {
  readonly envName: string;
  readonly env: EnvironmentConfig;
  /** Defaults to `ecr.verifyImage`; must be an image reference validated by the caller's grammar. */
  readonly image?: string | undefined;
  readonly verifyImages: VersionCatalogue['verifyImages'];
}

const BODY = `
[ -f "$ROOT${PATHS.workerReady}" ] || fail 'worker user data has not finished (no ${PATHS.workerReady})'
ERR_FILE=$(mktemp)
FAILED=false
NET=runner-ops-verify
DIND=runner-ops-verify-dind
CERTS=runner-ops-verify-certs
MOUNTS=(-v "$ROOT${PATHS.helper}:${PATHS.helper}:ro" -v "$ROOT${PATHS.dockerConfig}:${PATHS.dockerConfig}:ro")
DIND_ENV=(-e DOCKER_HOST=tcp://docker:2376 -e DOCKER_TLS_VERIFY=1 -e DOCKER_CERT_PATH=/certs/client -v "$CERTS:/certs/client:ro")

cleanup() {
  docker rm -f "$DIND" || true
  docker network rm "$NET" || true
  docker volume rm "$CERTS" || true
  rm -f "$ERR_FILE"
}

# The helper's own error at one level (its stdout holds credentials and is discarded).
helper_error() {
  local level=$1 out
  case "$level" in
    host) out=$(printf '%s' "$REGISTRY" | docker-credential-ecr-login get 2>&1 >/dev/null) ;;
    container) out=$(printf '%s' "$REGISTRY" | docker run --rm -i "\${MOUNTS[@]}" "$CLI_IMAGE" docker-credential-ecr-login get 2>&1 >/dev/null) ;;
    dind) out=$(printf '%s' "$REGISTRY" | docker run --rm -i --network "$NET" "\${MOUNTS[@]}" "$CLI_IMAGE" docker-credential-ecr-login get 2>&1 >/dev/null) ;;
  esac
  printf '%s' "$out" | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-500 || true
}

# check_level LEVEL COMMAND…: runs the pull, prints the level's JSON line.
check_level() {
  local level=$1 start rc=0 error
  shift
  step "$level"
  start=$(date +%s)
  "$@" >>"$LOG" 2>"$ERR_FILE" || rc=$?
  cat "$ERR_FILE" >>"$LOG"
  if [ "$rc" -eq 0 ]; then
    printf '{"kind":"verify-ecr","level":"%s","result":"ok","seconds":%s}\\n' "$level" "$(($(date +%s) - start))"
  else
    FAILED=true
    error=$(grep -v '^[[:space:]]*$' "$ERR_FILE" | tail -n 1 | cut -c1-500 || true)
    printf '{"kind":"verify-ecr","level":"%s","result":"failed","seconds":%s,"error":%s,"helperError":%s}\\n' \\
      "$level" "$(($(date +%s) - start))" "$(json_str "$error")" "$(json_str "$(helper_error "$level")")"
  fi
}

start_dind() {
  docker network create "$NET"
  docker volume create "$CERTS"
  docker run -d --privileged --name "$DIND" --network "$NET" --network-alias docker \\
    -e DOCKER_TLS_CERTDIR=/certs -v "$CERTS:/certs/client" "$DIND_IMAGE"
  local i
  for i in $(seq 1 30); do
    if docker run --rm --network "$NET" "\${DIND_ENV[@]}" "$CLI_IMAGE" docker info; then return 0; fi
    printf 'waiting for the nested daemon (%s)\\n' "$i"
    sleep 2
  done
  return 1
}

step 'images'
run docker pull "$CLI_IMAGE"
run docker pull "$DIND_IMAGE"

check_level host docker --config "$ROOT/root/.docker" pull "$IMAGE"
check_level container docker run --rm "\${MOUNTS[@]}" -v /var/run/docker.sock:/var/run/docker.sock "$CLI_IMAGE" docker pull "$IMAGE"
if run start_dind; then
  check_level dind docker run --rm --network "$NET" "\${DIND_ENV[@]}" "\${MOUNTS[@]}" "$CLI_IMAGE" docker pull "$IMAGE"
else
  FAILED=true
  printf '{"kind":"verify-ecr","level":"dind","result":"failed","seconds":0,"error":"the docker:dind service did not start","helperError":""}\\n'
fi

printf '{"kind":"verify-ecr-summary","image":%s,"ok":%s}\\n' "$(json_str "$IMAGE")" "$([ "$FAILED" = false ] && echo true || echo false)"
if [ "$FAILED" = true ]; then STEP='verification'; exit 1; fi
`;

export function renderVerifyEcr(input: VerifyEcrInput): string {
  const image = input.image ?? input.env.ecr.verifyImage;
  const registry = IMAGE_REFERENCE.exec(image)?.groups?.registry;
  if (registry === undefined) throw new Error(`not an image reference with a registry host: ${image}`);
  return [
    preamble('verify-ecr', `ECR pull verification (host, job container, Docker-in-Docker) for runner-ops environment ${input.envName}.`),
    shAssign('IMAGE', image),
    shAssign('REGISTRY', registry),
    shAssign('CLI_IMAGE', input.verifyImages.cli),
    shAssign('DIND_IMAGE', input.verifyImages.dind),
    COMMON_FUNCTIONS,
    BODY,
  ].join('\n');
}
