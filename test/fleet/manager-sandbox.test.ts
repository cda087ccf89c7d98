/**
 * manager-bootstrap.sh executed for real by bash in the sandbox, on both distributions and both
 * architectures: it installs and configures on the first run, changes and restarts nothing on the
 * second, keeps other docker config keys, and never shows the runner token.
 */
import { parse } from 'smol-toml';
import { readManagerResult } from '../../src/fleet/summary';
import { renderFleet } from '../../src/fleet/render';
import { exampleEnv } from './fixtures';
import { createSandbox, type Distro, INSTANCE_ID, type Machine, type Sandbox, sandboxCatalogue, TOKEN } from './sandbox';

const rendered = renderFleet({ envName: 'prod', env: exampleEnv(), gitlabUrl: 'https://gitlab.example.com', catalogue: sandboxCatalogue() });
const script = rendered.artifacts['manager-bootstrap.sh'];

const changing = (calls: string[][]) => calls.filter(([cmd, ...args]) =>
  (cmd === 'apt-get' && args[0] === 'install') || (cmd === 'dnf' && args[0] === 'install')
  || (cmd === 'systemctl' && ['restart', 'enable', 'start', 'daemon-reload'].includes(args[0] ?? ''))
  || cmd === 'ssh-keygen' || (cmd === 'aws' && args.includes('import-key-pair'))
  || (cmd === 'curl' && !args.some((a) => a.includes('169.254.169.254'))));

describe.each<[Distro, Machine]>([
  ['ubuntu-24.04', 'aarch64'], ['ubuntu-24.04', 'x86_64'], ['ubuntu-22.04', 'x86_64'], ['amzn-2023', 'aarch64'], ['amzn-2023', 'x86_64'],
])('manager-bootstrap.sh on %s %s', (distro, machine) => {
  let sb: Sandbox;
  beforeAll(() => { sb = createSandbox({ distro, machine }); });
  afterAll(() => sb.cleanup());

  it('configures the manager on the first run', () => {
    const r = sb.run(script);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const { manager, phases } = readManagerResult(r.stdout);
    const arch = machine === 'x86_64' ? 'amd64' : 'arm64';
    expect(manager).toMatchObject({ kind: 'manager', arch, distro, instanceId: INSTANCE_ID, keyPair: `runner-ops-prod-${INSTANCE_ID}`, workerAmi: 'ami-0123456789abcdef0', restarted: true, changed: true, versions: { gitlabRunner: '18.5.0', dockerMachine: '0.16.2-gitlab.21', ecrCredentialHelper: '0.11.0' } });
    expect(phases.map((p) => p.phase)).toEqual(['host', 'tools', 'keypair', 'runner']);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^\{"kind":"manager"/);
    const calls = sb.calls();
    const urls = calls.filter(([c]) => c === 'curl').map((c) => c.at(-1));
    expect(urls).toContain(`https://gitlab-docker-machine-downloads.s3.amazonaws.com/v0.16.2-gitlab.21/docker-machine-Linux-${machine}`);
    expect(urls).toContain(`https://amazon-ecr-credential-helper-releases.s3.us-east-2.amazonaws.com/0.11.0/linux-${arch}/docker-credential-ecr-login`);
    for (const c of calls.filter(([cmd]) => cmd === 'curl')) expect(c).toEqual(expect.arrayContaining(['--fail', '--retry', '6', '-L']));
    const installs = calls.filter(([c, a]) => (c === 'apt-get' || c === 'dnf') && a === 'install').flat();
    expect(installs).toEqual(expect.arrayContaining(distro.startsWith('ubuntu')
      ? ['gitlab-runner=18.5.0-1', 'gitlab-runner-helper-images=18.5.0-1'] : ['gitlab-runner-18.5.0-1', 'gitlab-runner-helper-images-18.5.0-1', 'docker']));
    expect(calls).toContainEqual(['systemctl', 'restart', 'gitlab-runner']);
    expect(calls).toContainEqual(['gitlab-runner', 'verify', '--config', `${sb.root}/etc/gitlab-runner/config.toml`]);
    const toml = parse(sb.readFile('etc/gitlab-runner/config.toml')) as { runners: { token: string; machine: { MachineOptions: string[] } }[] };
    expect(toml.runners[0]?.token).toBe(TOKEN);
    expect(toml.runners[0]?.machine.MachineOptions).toEqual(expect.arrayContaining([`amazonec2-keypair-name=runner-ops-prod-${INSTANCE_ID}`, 'amazonec2-ami=ami-0123456789abcdef0']));
    expect(sb.readFile('etc/gitlab-runner/worker-userdata.sh')).toBe(rendered.workerUserData.fleet);
    expect(sb.readFile('etc/systemd/system/gitlab-runner.service.d/10-runner-ops.conf')).toBe('[Service]\nKillSignal=SIGQUIT\nTimeoutStopSec=1800\n');
    expect(JSON.parse(sb.readFile('root/.docker/config.json'))).toEqual({ credHelpers: { '123456789012.dkr.ecr.eu-central-1.amazonaws.com': 'ecr-login', 'public.ecr.aws': 'ecr-login' } });
  });

  it('changes nothing and restarts nothing on the second run', () => {
    const before = sb.snapshot();
    sb.clearCalls();
    const r = sb.run(script);
    expect(r.code).toBe(0);
    const { manager, phases } = readManagerResult(r.stdout);
    expect(manager).toMatchObject({ changed: false, restarted: false });
    expect(phases.every((p) => !p.changed)).toBe(true);
    expect(changing(sb.calls())).toEqual([]);
    expect(sb.snapshot()).toEqual(before);
  });

  it('never shows the token outside config.toml', () => {
    const r = sb.run(script);
    expect(r.stdout).not.toContain(TOKEN);
    expect(r.stderr).not.toContain(TOKEN);
    expect(sb.calls().flat().join('\n')).not.toContain(TOKEN);
    const holders = Object.keys(sb.snapshot()).filter((p) => sb.readFile(p.slice(1)).includes(TOKEN));
    expect(holders).toEqual(['/etc/gitlab-runner/config.toml']);
    for (const log of ['manager-bootstrap.log']) expect(sb.readFile(`var/log/runner-ops/${log}`)).not.toContain(TOKEN);
  });
});
