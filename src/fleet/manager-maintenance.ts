/**
 * Scripts that rotate, destroy and reregister run on a manager besides the bootstrap phases:
 *
 * - drain: stop gitlab-runner gracefully. SIGQUIT makes it stop asking GitLab for jobs and wait
 *   for the running ones; the wait is bounded by the environment's drainTimeoutMinutes, after which
 *   the service is stopped for good (systemd kills what is left). The service is disabled so a
 *   reboot does not bring the old manager back into the pool.
 * - remove-workers: `docker-machine rm -y` every machine the manager's Docker Machine knows, so the
 *   driver terminates its Spot workers and deletes their key pairs; the bot terminates leftovers
 *   tagged with the manager's id afterwards.
 *
 * Both print short step markers and one JSON summary line (summary.ts), like the bootstrap.
 */
import { COMMON_FUNCTIONS, preamble } from './bash-lib';
import { shAssign } from './shell';

export function renderDrainScript(envName: string, drainSeconds: number): string {
  if (!Number.isSafeInteger(drainSeconds) || drainSeconds < 1) throw new RangeError(`drain seconds must be a positive integer, got ${drainSeconds}`);
  return `${preamble('manager-drain', `Drain the gitlab-runner of a runner-ops manager of environment ${envName}.`)}
${shAssign('DRAIN_SECONDS', drainSeconds)}
${COMMON_FUNCTIONS}
GRACEFUL=true
WAITED=0
step 'stop taking jobs'
if systemctl is-active --quiet gitlab-runner; then
  # SIGQUIT to the main process only: gitlab-runner finishes its running jobs, then exits.
  run systemctl kill --kill-whom=main --signal=SIGQUIT gitlab-runner
  step 'wait for running jobs'
  while systemctl is-active --quiet gitlab-runner; do
    if [ "$WAITED" -ge "$DRAIN_SECONDS" ]; then GRACEFUL=false; break; fi
    sleep 5
    WAITED=$((WAITED + 5))
  done
  note_change 'gitlab-runner stopped'
fi
step 'stop and disable the service'
run systemctl stop gitlab-runner
run systemctl disable gitlab-runner
printf '{"kind":"drain","graceful":%s,"waitedSeconds":%s}\\n' "$GRACEFUL" "$WAITED"
`;
}

export function renderRemoveWorkersScript(envName: string): string {
  return `${preamble('manager-remove-workers', `Remove the Docker Machine workers of a runner-ops manager of environment ${envName}.`)}
${COMMON_FUNCTIONS}
export MACHINE_STORAGE_PATH="$ROOT/root/.docker/machine"
REMOVED=0
FAILED=0
step 'list machines'
MACHINES=()
if command -v docker-machine >/dev/null 2>&1; then
  mapfile -t MACHINES < <(docker-machine ls -q 2>>"$LOG" || true)
fi
step 'docker-machine rm'
for machine in "\${MACHINES[@]}"; do
  [ -n "$machine" ] || continue
  if run docker-machine rm -y "$machine"; then
    REMOVED=$((REMOVED + 1))
    note_change "machine $machine"
  else
    FAILED=$((FAILED + 1))
  fi
done
printf '{"kind":"workers","removed":%s,"failed":%s}\\n' "$REMOVED" "$FAILED"
`;
}
