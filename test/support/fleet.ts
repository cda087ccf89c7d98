/** A fleet file for tests: `prod` needs approval (U0CAROL, group S0SRE), `stage` does not. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFleet } from '../../src/config/load';

const envBlock = (name: string, approval: string, extra = '') => `
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

export function testFleetYaml(opts: { expiresAfterMinutes?: number; prodExtra?: string } = {}): string {
  return `environments:${envBlock('prod', `    approval:
      required: true
      approvers: [U0CAROL]
      approverGroups: [S0SRE]
      expiresAfterMinutes: ${opts.expiresAfterMinutes ?? 30}
`, opts.prodExtra ?? '')}${envBlock('stage', '    approval: { required: false, approvers: [U0CAROL] }\n')}`;
}

const made: string[] = [];

/** Writes a fleet file to a fresh temp dir (removed by removeTestFleets). Validates it unless told not to. */
export function writeTestFleet(yaml = testFleetYaml(), opts: { validate?: boolean } = {}): { path: string; dir: string } {
  if (opts.validate !== false) parseFleet(yaml); // fail early if the test fleet itself is wrong
  const dir = mkdtempSync(join(tmpdir(), 'runner-ops-fleet-'));
  made.push(dir);
  const path = join(dir, 'runner-ops.yml');
  writeFileSync(path, yaml);
  return { path, dir };
}

export function removeTestFleets(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

afterAll(() => { removeTestFleets(); });
