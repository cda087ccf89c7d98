/**
 * Plan text shared by the manager operations: what exists, and the artifacts an approver (or a
 * --dry-run) can read in full.
 */
import type { EnvironmentConfig } from '../../config/fleet-schema';
import type { RenderedFleet } from '../../fleet/render';
import type { PlanDetail } from '../framework/types';
import type { InspectResult } from './state';

export function existing(info: InspectResult): string {
  const managers = info.managers.length === 0 ? 'no manager'
    : info.managers.map((m) => `manager \`${m.id}\` (generation ${m.generation})`).join(', ');
  const runners = info.runners.length === 0 ? 'no runner in GitLab'
    : `runner(s) ${info.runners.map((r) => `#${r.id} (${r.status})`).join(', ')}`;
  const parameter = info.parameterVersion === null ? 'no token parameter' : `token parameter version ${info.parameterVersion}`;
  return `*Now:* ${managers}; ${runners}; ${parameter}.`;
}

export function launchLine(env: EnvironmentConfig, generation: number): string {
  const m = env.manager;
  return `Launch an on-demand \`${m.instanceType}\` manager (generation ${generation}) from \`${m.ami}\` in \`${m.subnetId}\` with profile \`${m.instanceProfile}\`, IMDSv2 required.`;
}

export function bootstrapDetails(fleet: RenderedFleet): PlanDetail[] {
  return [
    ...fleet.managerPhases.map((p) => ({ title: `Bootstrap phase ${p.name}`, filename: `manager-bootstrap-${p.name}.sh`, content: p.script })),
    { title: 'config.toml (token, manager id and worker AMI filled in on the manager)', filename: 'config.toml', content: fleet.artifacts['config.toml'] },
  ];
}

export function versionsLine(fleet: RenderedFleet): string {
  const v = fleet.versions;
  return `gitlab-runner ${v.gitlabRunner}, docker-machine ${v.dockerMachine.version}, ECR credential helper ${v.ecrCredentialHelper.version}`;
}

export const bullets = (lines: readonly string[]): string => lines.map((l) => `• ${l}`).join('\n');
