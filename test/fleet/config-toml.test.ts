/** config.toml parsed back with smol-toml and asserted key by key. */
import { parse } from 'smol-toml';
import { renderConfigToml } from '../../src/fleet/config-toml';
import { exampleEnv, withWorkers } from './fixtures';

interface Runner {
  name: string; url: string; token: string; executor: string; limit: number;
  feature_flags: Record<string, boolean>;
  docker: { image: string; privileged: boolean; volumes: string[] };
  machine: { IdleCount: number; IdleTime: number; MaxBuilds: number; MachineDriver: string; MachineName: string; MachineOptions: string[]; autoscaling?: { Periods: string[]; IdleCount: number; IdleTime: number; Timezone?: string }[] };
}
const read = (text: string) => parse(text) as unknown as { concurrent: number; check_interval: number; shutdown_timeout: number; runners: Runner[] };

describe.each([
  ['arm64 Spot with autoscaling', exampleEnv(), 'c8g.medium'],
  ['x86_64 on-demand without autoscaling', withWorkers(exampleEnv(), { instanceTypes: ['c7i.large', 'c6i.large'], spot: false, autoscaling: [] }), 'c7i.large'],
  ['x86_64 Spot with a price', withWorkers(exampleEnv(), { instanceTypes: ['m7i.large'], spot: true, spotPrice: '0.05', autoscaling: [] }), 'm7i.large'],
])('config.toml for %s', (_name, env, instanceType) => {
  const doc = read(renderConfigToml({ envName: 'prod', env, gitlabUrl: 'https://gitlab.example.com' }));
  const runner = doc.runners[0] as Runner;

  it('has the global settings and one runner', () => {
    expect(doc.concurrent).toBe(env.workers.concurrent);
    expect(doc.check_interval).toBe(3);
    expect(doc.shutdown_timeout).toBe(1800);
    expect(doc.runners).toHaveLength(1);
    expect(runner).toMatchObject({ url: 'https://gitlab.example.com', token: '@@RUNNER_OPS_RUNNER_TOKEN@@', executor: 'docker+machine', limit: env.workers.concurrent });
    expect(runner.feature_flags).toEqual({ FF_DISABLE_AUTOMATIC_TOKEN_ROTATION: true });
  });

  it('runs Docker-in-Docker with the helper and docker config mounted read-only', () => {
    expect(runner.docker.privileged).toBe(true);
    expect(runner.docker.volumes).toEqual([
      '/usr/local/bin/docker-credential-ecr-login:/usr/local/bin/docker-credential-ecr-login:ro',
      '/root/.docker/config.json:/root/.docker/config.json:ro',
      '/certs/client',
      '/cache',
    ]);
  });

  it('drives amazonec2 workers as the fleet file says', () => {
    const m = runner.machine;
    expect(m).toMatchObject({ IdleCount: env.workers.idleCount, IdleTime: env.workers.idleTimeSeconds, MaxBuilds: env.workers.maxBuilds, MachineDriver: 'amazonec2', MachineName: 'runner-ops-prod-%s' });
    const opts = Object.fromEntries(m.MachineOptions.map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]));
    expect(opts).toMatchObject({
      'amazonec2-region': 'eu-central-1', 'amazonec2-vpc-id': 'vpc-0aaa', 'amazonec2-subnet-id': 'subnet-0bbb', 'amazonec2-zone': 'a',
      'amazonec2-security-group': 'gitlab-runner-workers', 'amazonec2-instance-type': instanceType, 'amazonec2-iam-instance-profile': 'gitlab-runner-worker',
      'amazonec2-metadata-token': 'required', 'amazonec2-metadata-token-response-hop-limit': '2', 'amazonec2-userdata': '/etc/gitlab-runner/worker-userdata.sh',
      'amazonec2-root-size': '30', 'amazonec2-private-address-only': 'true', 'amazonec2-ami': '@@RUNNER_OPS_WORKER_AMI@@',
      'amazonec2-tags': 'ManagedBy,runner-ops,runner-ops:environment,prod,runner-ops:role,worker,runner-ops:manager,@@RUNNER_OPS_MANAGER_INSTANCE_ID@@',
    });
    expect(opts['amazonec2-request-spot-instance']).toBe(env.workers.spot ? 'true' : undefined);
    expect(opts['amazonec2-spot-price']).toBe(env.workers.spot ? env.workers.spotPrice : undefined);
    expect(m.autoscaling).toEqual(env.workers.autoscaling.length === 0 ? undefined
      : [{ Periods: ['* * 9-17 * * mon-fri *'], IdleCount: 2, IdleTime: 3600, Timezone: 'Europe/Berlin' }]);
  });
});

it('uses a literal AMI id as is', () => {
  const doc = read(renderConfigToml({ envName: 'prod', env: withWorkers(exampleEnv(), { ami: 'ami-0abcdef1234567890' }), gitlabUrl: 'https://gitlab.com' }));
  expect(doc.runners[0]?.machine.MachineOptions).toContain('amazonec2-ami=ami-0abcdef1234567890');
});
