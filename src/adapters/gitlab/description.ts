/**
 * How runner-ops recognises its own runners in GitLab: the runner description ends with a marker
 * naming the environment (and, once known, the manager instance), e.g.
 * `prod autoscaling runner [runner-ops:prod manager:i-0abc]`. The marker, not the free text
 * before it, decides membership, so editing `gitlab.description` in the fleet file does not
 * orphan existing runners.
 */
import type { EnvironmentConfig } from '../../config/fleet-schema';

const MARKER = / \[runner-ops:([a-z][a-z0-9-]{0,31})(?: manager:(i-[0-9a-f]{8,17}))?\]$/;

export function runnerDescription(envName: string, gitlabCfg: Pick<EnvironmentConfig['gitlab'], 'description'>, managerId?: string): string {
  return `${gitlabCfg.description} [runner-ops:${envName}${managerId !== undefined ? ` manager:${managerId}` : ''}]`;
}

export interface RunnerMarker {
  environment: string;
  managerId: string | undefined;
}

export function parseRunnerDescription(description: string): RunnerMarker | undefined {
  const m = MARKER.exec(description);
  if (m === null || m[1] === undefined) return undefined;
  return { environment: m[1], managerId: m[2] };
}

/** Whether a runner's description marks it as belonging to `envName` (exactly: `prod` is not `prod-eu`). */
export function isEnvironmentRunner(description: string, envName: string): boolean {
  return parseRunnerDescription(description)?.environment === envName;
}
