/**
 * The docker+machine executor (GitLab's docker-machine fork, amazonec2 driver): [runners.machine]
 * and its autoscaling periods. Values that only the manager knows (its instance id, the resolved
 * worker AMI) are placeholders filled in by manager-bootstrap.sh.
 */
import { PATHS, PLACEHOLDER } from '../placeholders';
import type { ExecutorContext, ExecutorProfile, TomlTable } from './types';

/** The EC2 key pair the manager imports its SSH key as (CONTRACT §6 naming: environment + manager). */
export function keyPairName(envName: string, managerInstanceId: string): string {
  return `runner-ops-${envName}-${managerInstanceId}`;
}

/** CONTRACT §6 worker tags, as amazonec2-tags wants them: key1,value1,key2,value2. */
export function workerTags(envName: string, managerInstanceId: string): string {
  return [
    'ManagedBy', 'runner-ops',
    'runner-ops:environment', envName,
    'runner-ops:role', 'worker',
    'runner-ops:manager', managerInstanceId,
  ].join(',');
}

/** The amazonec2 driver options, in a fixed order (golden files diff readably). */
export function machineOptions({ envName, env }: ExecutorContext): string[] {
  const w = env.workers;
  const ami = w.ami.startsWith('ami-') ? w.ami : PLACEHOLDER.workerAmi;
  const instanceType = w.instanceTypes[0];
  if (instanceType === undefined) throw new Error('workers.instanceTypes is empty');
  return [
    `amazonec2-region=${env.region}`,
    `amazonec2-vpc-id=${w.vpcId}`,
    `amazonec2-subnet-id=${w.subnetId}`,
    `amazonec2-zone=${w.zone}`,
    `amazonec2-security-group=${w.securityGroup}`,
    `amazonec2-instance-type=${instanceType}`,
    `amazonec2-iam-instance-profile=${w.instanceProfile}`,
    `amazonec2-ami=${ami}`,
    `amazonec2-root-size=${w.rootSizeGb}`,
    ...(w.spot ? ['amazonec2-request-spot-instance=true'] : []),
    ...(w.spot && w.spotPrice !== undefined ? [`amazonec2-spot-price=${w.spotPrice}`] : []),
    // IMDSv2 with a hop limit of 2: job containers (one hop further) reach instance credentials,
    // which the credential helper inside Docker-in-Docker needs (DESIGN §2).
    'amazonec2-metadata-token=required',
    'amazonec2-metadata-token-response-hop-limit=2',
    'amazonec2-private-address-only=true',
    'amazonec2-use-private-address=true',
    `amazonec2-keypair-name=${keyPairName(envName, PLACEHOLDER.managerInstanceId)}`,
    `amazonec2-ssh-keypath=${PATHS.sshKey}`,
    `amazonec2-userdata=${PATHS.workerUserData}`,
    `amazonec2-tags=${workerTags(envName, PLACEHOLDER.managerInstanceId)}`,
  ];
}

export const dockerMachineExecutor: ExecutorProfile = {
  executor: 'docker+machine',
  runnerTables(ctx: ExecutorContext): TomlTable {
    const w = ctx.env.workers;
    const machine: TomlTable = {
      IdleCount: w.idleCount,
      IdleTime: w.idleTimeSeconds,
      MaxBuilds: w.maxBuilds,
      MachineDriver: 'amazonec2',
      MachineName: `runner-ops-${ctx.envName}-%s`,
      MachineOptions: machineOptions(ctx),
    };
    if (w.autoscaling.length > 0) {
      machine.autoscaling = w.autoscaling.map((period) => ({
        Periods: [...period.periods],
        IdleCount: period.idleCount,
        IdleTime: period.idleTimeSeconds,
        ...(period.timezone === undefined ? {} : { Timezone: period.timezone }),
      }));
    }
    // `limit` caps the machines this runner keeps; one job per machine at a time.
    return { limit: w.concurrent, machine };
  },
};
