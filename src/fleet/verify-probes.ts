/**
 * The two small scripts verify-ecr runs over SSM besides verify-ecr.sh:
 *
 * - manager-ecr-check.sh, on the environment's manager: asks the credential helper for the
 *   registry's credentials exactly as gitlab-runner does for `image:` and `services:` pulls
 *   (DESIGN §2 level 1) and checks that /root/.docker/config.json names `ecr-login` for the
 *   registry in `credHelpers`. The helper's stdout (the credential) goes to /dev/null and never
 *   reaches a variable: SSM stores command output and the thread shows it. stdout is ONE line,
 *   `{"kind":"manager-ecr",...}` (summary.ts), whatever happens; the exit status is 0 when the
 *   check ran, whether or not the helper succeeded.
 * - worker-ready-check.sh, on the verify worker: a read-only probe the bot repeats with backoff
 *   until the user data's readiness marker exists (it then prints the marker, a `worker` line), or
 *   cloud-init reports that the user data failed. Until then it prints `{"kind":"worker-wait",...}`.
 *   Being read-only, a probe that is sent twice (after a restart) does no harm, so its CommandId
 *   is not checkpointed.
 */
import { COMMON_FUNCTIONS, preamble } from './bash-lib';
import { PATHS } from './placeholders';
import { shAssign } from './shell';

export function renderManagerEcrCheck(envName: string, registry: string): string {
  return `${preamble('manager-ecr-check', `ECR credential check on the manager (credential helper for one registry; no credential is printed) for runner-ops environment ${envName}.`)}
${shAssign('REGISTRY', registry)}
${COMMON_FUNCTIONS}
# SSM runs this without a login shell: the helper keeps its cache under $HOME/.ecr.
export HOME="\${HOME:-/root}"
STEP='credential helper'
START=$(date +%s)
ERR_FILE=$(mktemp)
cleanup() { rm -f "$ERR_FILE"; }
CONFIG="$ROOT${PATHS.dockerConfig}"
OK=false
ERROR=''
CRED_HELPER=''
if [ -f "$CONFIG" ]; then
  CRED_HELPER=$(python3 - "$CONFIG" "$REGISTRY" 2>>"$LOG" <<'RUNNER_OPS_PY' || true
import json, sys
try:
    with open(sys.argv[1]) as f:
        helpers = json.load(f).get('credHelpers') or {}
    sys.stdout.write(str(helpers.get(sys.argv[2], '')))
except (ValueError, AttributeError, OSError) as err:
    sys.stderr.write('cannot read %s: %s\\n' % (sys.argv[1], err))
RUNNER_OPS_PY
  )
fi
if ! command -v docker-credential-ecr-login >/dev/null 2>&1; then
  ERROR='docker-credential-ecr-login: executable file not found in PATH (the helper is not installed on the manager)'
# The credential is written to /dev/null: only the helper's stderr is kept.
elif printf '%s' "$REGISTRY" | docker-credential-ecr-login get 2>"$ERR_FILE" >/dev/null; then
  if [ "$CRED_HELPER" = ecr-login ]; then
    OK=true
  else
    ERROR="no credHelpers entry \\"ecr-login\\" for $REGISTRY in ${PATHS.dockerConfig} (found: \${CRED_HELPER:-none}): gitlab-runner will not ask the helper"
  fi
else
  cat "$ERR_FILE" >>"$LOG"
  ERROR=$(grep -v '^[[:space:]]*$' "$ERR_FILE" | tail -n 1 | cut -c1-500 || true)
  [ -n "$ERROR" ] || ERROR='docker-credential-ecr-login get failed without an error message'
fi
printf '{"kind":"manager-ecr","registry":%s,"ok":%s,"seconds":%s,"credHelper":%s,"error":%s}\\n' \\
  "$(json_str "$REGISTRY")" "$OK" "$(($(date +%s) - START))" "$(json_str "$CRED_HELPER")" "$(json_str "$ERROR")"
`;
}

export function renderWorkerReadyCheck(envName: string): string {
  return `${preamble('worker-ready-check', `Readiness check of a runner-ops verify worker of environment ${envName} (has the user data finished?).`)}
${COMMON_FUNCTIONS}
STEP='readiness'
MARKER="$ROOT${PATHS.workerReady}"
if [ -s "$MARKER" ]; then
  cat "$MARKER"
  exit 0
fi
CLOUD_INIT=$(cloud-init status 2>/dev/null | sed -n 's/^status: //p' | head -n 1 || true)
[ -n "$CLOUD_INIT" ] || CLOUD_INIT=unknown
case "$CLOUD_INIT" in
  error | done | disabled)
    # The user data ended without writing the marker: show why.
    printf 'last lines of /var/log/runner-ops/worker-userdata.log:\\n'
    tail -n 20 "$ROOT/var/log/runner-ops/worker-userdata.log" 2>/dev/null | cut -c1-300 | sed 's/^/   | /' || true
    ;;
esac
printf '{"kind":"worker-wait","cloudInit":%s}\\n' "$(json_str "$CLOUD_INIT")"
`;
}
