/** A one-environment fleet file (`prod`) in a temp dir, same shape as the tests' fleet. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * One environment section of a fleet file, as the tests and the bench use it (region
 * eu-central-1, group runners in group 42, one ECR registry). `approval` is the indented
 * `approval:` block; `extra` is inserted after it.
 */
export function fleetEnvBlock(name: string, approval: string, extra = ''): string {
  return `
  ${name}:
    region: eu-central-1
    channel: C0${name.toUpperCase()}
    operators: [U0ALICE, U0BOB, U0CAROL]
${approval}${extra}
    manager:
      instanceType: t4g.micro
      ami: ami-0123456789abcdef0
      subnetId: subnet-0aaa
      securityGroupIds: [sg-0aaa]
      instanceProfile: gitlab-runner-manager
    workers:
      executor: docker+machine
      instanceTypes: [c8g.medium]
      ami: ami-0123456789abcdef0
      vpcId: vpc-0aaa
      subnetId: subnet-0bbb
      zone: a
      securityGroup: gitlab-runner-workers
      instanceProfile: gitlab-runner-worker
    gitlab:
      runnerType: group_type
      groupId: 42
      tags: [docker]
      description: ${name} runner
      tokenParameter: /runner-ops/${name}/runner-token
    ecr:
      registries: [123456789012.dkr.ecr.eu-central-1.amazonaws.com]
      verifyImage: 123456789012.dkr.ecr.eu-central-1.amazonaws.com/ci/base:latest
`;
}

export const BENCH_FLEET_YAML = `environments:${fleetEnvBlock('prod', `    approval:
      required: true
      approvers: [U0CAROL]
      expiresAfterMinutes: 30
`)}`;

export function writeBenchFleet(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'runner-ops-bench-'));
  const path = join(dir, 'runner-ops.yml');
  writeFileSync(path, BENCH_FLEET_YAML);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
