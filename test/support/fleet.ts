/** A fleet file for tests: `prod` needs approval (U0CAROL, group S0SRE), `stage` does not. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetEnvBlock } from '../../bench/fleet';
import { parseFleet } from '../../src/config/load';

export function testFleetYaml(opts: { expiresAfterMinutes?: number; prodExtra?: string } = {}): string {
  return `environments:${fleetEnvBlock('prod', `    approval:
      required: true
      approvers: [U0CAROL]
      approverGroups: [S0SRE]
      expiresAfterMinutes: ${opts.expiresAfterMinutes ?? 30}
`, opts.prodExtra ?? '')}${fleetEnvBlock('stage', '    approval: { required: false, approvers: [U0CAROL] }\n')}`;
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
