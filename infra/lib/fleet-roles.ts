/**
 * One environment's instance roles and profiles: the manager's and the workers'.
 *
 * One pair per environment, so that "its own token parameter only" holds: an instance role cannot
 * tell which environment its instance serves, but a role per environment can name exactly one
 * parameter, one key-pair prefix and one worker role.
 *
 * The manager runs gitlab-runner with Docker Machine's amazonec2 driver, which calls EC2 itself
 * with the manager's instance credentials. What the driver calls (GitLab's fork of
 * docker/machine, drivers/amazonec2/amazonec2.go, with `amazonec2-keypair-name` set so the key pair
 * is the manager's existing one): DescribeKeyPairs, DescribeSubnets, DescribeSecurityGroups,
 * RunInstances or RequestSpotInstances + DescribeSpotInstanceRequests (+ CancelSpotInstanceRequests
 * on failure), DescribeInstances, CreateTags (at launch in newer forks, after launch in older
 * ones), TerminateInstances, and Stop/Start/RebootInstances for `docker-machine stop|start|restart`.
 * CreateSecurityGroup and AuthorizeSecurityGroupIngress are NOT granted: the worker security group
 * must exist with tcp 22 and 2376 open to the manager (README, "The AWS side"), and then the driver
 * does not call them.
 *
 * Everything the manager may launch, tag, stop or terminate is scoped by the instance profile the
 * instance wears (`ec2:InstanceProfile` = this environment's worker profile): the manager cannot
 * touch its own instance, other managers, or anything else in the account.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { denyUntaggingManagedResources, type FleetRefs } from './bot-policy';
import { Arns, MANAGED_BY_KEY, MANAGED_BY_VALUE, SPOT_SERVICE_NAME, TAG, keyPairPattern, managerRoleName, workerRoleName } from './naming';

export interface FleetRolesProps {
  environment: string;
  partition: string;
  account: string;
  /** The environment's region: the token parameter, key pairs and workers live there. */
  region: string;
  tokenParameter: string;
  ecrRepositoryArns?: readonly string[];
  ecrPushRepositoryArns?: readonly string[];
  ssmOutputBucket?: string;
  kmsKeyArns?: readonly string[];
}

const allow = (sid: string, actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) =>
  new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources, ...(conditions !== undefined ? { conditions } : {}) });

export const SSM_MANAGED_INSTANCE_CORE = 'AmazonSSMManagedInstanceCore';

/** Credential helper pulls (docker-credential-ecr-login): a token, then layers and manifests. */
function ecrPullStatements(arns: Arns, repositories: readonly string[] | undefined): iam.PolicyStatement[] {
  return [
    allow('EcrAuthorizationToken', ['ecr:GetAuthorizationToken'], ['*']),
    allow('EcrPull', ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      [...(repositories ?? [arns.ecrRepositories()])]),
  ];
}

/** The SSM agent writes full command output to `ssm.outputBucket` with the instance's credentials. */
function commandOutputStatements(partition: string, bucket: string | undefined): iam.PolicyStatement[] {
  if (bucket === undefined) return [];
  return [
    allow('SsmCommandOutput', ['s3:PutObject', 's3:GetEncryptionConfiguration', 's3:GetBucketLocation'],
      [`arn:${partition}:s3:::${bucket}`, `arn:${partition}:s3:::${bucket}/*`]),
  ];
}

export function managerPolicyStatements(props: FleetRolesProps, refs: FleetRefs): iam.PolicyStatement[] {
  const arns = new Arns(props.partition, props.account);
  const r = props.region;
  const tokenArn = arns.parameter(props.tokenParameter, r);
  const workerInstance = { ArnEquals: { 'ec2:InstanceProfile': refs.workerProfileArn } };
  const keyPairs = arns.ec2(`key-pair/${keyPairPattern(props.environment)}`, r);
  return [
    ...ecrPullStatements(arns, props.ecrRepositoryArns),
    // manager-bootstrap.sh reads the runner token (--with-decryption) into config.toml.
    allow('ReadOwnRunnerToken', ['ssm:GetParameter'], [tokenArn]),
    allow('DecryptOwnRunnerToken', ['kms:Decrypt'], [...(props.kmsKeyArns ?? [arns.kmsKeys(r)])], {
      StringEquals: {
        'kms:ViaService': `ssm.${r}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': tokenArn,
      },
    }),
    // resolve_worker_ami: `aws ssm get-parameter` of a resolve:ssm: worker AMI.
    allow('ResolveWorkerAmi', ['ssm:GetParameter'], [arns.publicParameters(r)]),
    // phase_keypair: import its SSH key once, tagged (CONTRACT §6).
    allow('ImportOwnKeyPair', ['ec2:ImportKeyPair'], [keyPairs], {
      StringEquals: {
        [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE,
        [`aws:RequestTag/${TAG.environment}`]: props.environment,
      },
    }),
    allow('TagKeyPairOnImport', ['ec2:CreateTags'], [keyPairs], { StringEquals: { 'ec2:CreateAction': 'ImportKeyPair' } }),
    allow('DockerMachineDescribe', [
      'ec2:DescribeInstances', 'ec2:DescribeKeyPairs', 'ec2:DescribeSubnets', 'ec2:DescribeSecurityGroups', 'ec2:DescribeSpotInstanceRequests',
    ], ['*']),
    // On-demand workers (and Spot through RunInstances in forks that use it): only with the worker profile.
    allow('DockerMachineRunWorkers', ['ec2:RunInstances'], [arns.ec2('instance/*', r)], {
      ArnEquals: { 'ec2:InstanceProfile': refs.workerProfileArn },
      StringEquals: { 'ec2:MetadataHttpTokens': 'required' },
    }),
    allow('DockerMachineRunResources', ['ec2:RunInstances'], [
      arns.image(r),
      arns.ec2('subnet/*', r),
      arns.ec2('security-group/*', r),
      arns.ec2('network-interface/*', r),
      arns.ec2('volume/*', r),
      arns.ec2('spot-instances-request/*', r),
      keyPairs,
    ]),
    // `amazonec2-request-spot-instance=true`: the Spot service launches the instance (with the
    // worker profile, which PassRole below limits), so the request itself has no instance to scope.
    allow('DockerMachineSpotRequests', ['ec2:RequestSpotInstances', 'ec2:CancelSpotInstanceRequests'], ['*'], {
      StringEquals: { 'aws:RequestedRegion': r },
    }),
    allow('DockerMachineTagOnLaunch', ['ec2:CreateTags'], [
      arns.ec2('instance/*', r), arns.ec2('volume/*', r), arns.ec2('network-interface/*', r), arns.ec2('spot-instances-request/*', r),
    ], { StringEquals: { 'ec2:CreateAction': ['RunInstances', 'RequestSpotInstances'] } }),
    // Older forks tag after launch: only instances wearing the worker profile, only with ManagedBy.
    allow('DockerMachineTagWorkers', ['ec2:CreateTags'], [arns.ec2('instance/*', r)], {
      ...workerInstance,
      StringEquals: { [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE },
    }),
    allow('DockerMachineManageWorkers', ['ec2:TerminateInstances', 'ec2:StopInstances', 'ec2:StartInstances', 'ec2:RebootInstances'],
      [arns.ec2('instance/*', r)], workerInstance),
    allow('PassWorkerRoleOnly', ['iam:PassRole'], [refs.workerRoleArn], { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
    allow('CreateSpotServiceLinkedRole', ['iam:CreateServiceLinkedRole'], [arns.spotServiceLinkedRole()], {
      StringEquals: { 'iam:AWSServiceName': SPOT_SERVICE_NAME },
    }),
    ...commandOutputStatements(props.partition, props.ssmOutputBucket),
    denyUntaggingManagedResources(),
  ];
}

export function workerPolicyStatements(props: FleetRolesProps): iam.PolicyStatement[] {
  const arns = new Arns(props.partition, props.account);
  const push = props.ecrPushRepositoryArns ?? [];
  return [
    ...ecrPullStatements(arns, props.ecrRepositoryArns),
    ...(push.length > 0
      ? [allow('EcrPush', [
        'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchCheckLayerAvailability',
      ], [...push])]
      : []),
    ...commandOutputStatements(props.partition, props.ssmOutputBucket),
  ];
}

export function fleetRefs(partition: string, account: string, environment: string): FleetRefs {
  const arns = new Arns(partition, account);
  return {
    environment,
    managerRoleArn: arns.role(managerRoleName(environment)),
    managerProfileArn: arns.instanceProfile(managerRoleName(environment)),
    workerRoleArn: arns.role(workerRoleName(environment)),
    workerProfileArn: arns.instanceProfile(workerRoleName(environment)),
  };
}

/** The manager's and the workers' roles and instance profiles of one environment. */
export class FleetRoles extends Construct {
  readonly refs: FleetRefs;
  readonly managerRole: iam.Role;
  readonly workerRole: iam.Role;
  readonly managerProfile: iam.InstanceProfile;
  readonly workerProfile: iam.InstanceProfile;

  constructor(scope: Construct, id: string, props: FleetRolesProps) {
    super(scope, id);
    this.refs = fleetRefs(props.partition, props.account, props.environment);
    const core = iam.ManagedPolicy.fromAwsManagedPolicyName(SSM_MANAGED_INSTANCE_CORE);
    const ec2 = new iam.ServicePrincipal('ec2.amazonaws.com');

    this.managerRole = new iam.Role(this, 'ManagerRole', {
      roleName: managerRoleName(props.environment),
      description: `runner-ops ${props.environment}: the manager instance (gitlab-runner, Docker Machine)`,
      assumedBy: ec2,
      managedPolicies: [core],
      inlinePolicies: { 'runner-ops-manager': new iam.PolicyDocument({ statements: managerPolicyStatements(props, this.refs) }) },
    });
    this.managerProfile = new iam.InstanceProfile(this, 'ManagerProfile', {
      instanceProfileName: managerRoleName(props.environment),
      role: this.managerRole,
    });

    const workerStatements = workerPolicyStatements(props);
    this.workerRole = new iam.Role(this, 'WorkerRole', {
      roleName: workerRoleName(props.environment),
      description: `runner-ops ${props.environment}: CI workers (Docker Machine) and verify-ecr workers`,
      assumedBy: ec2,
      managedPolicies: [core],
      inlinePolicies: { 'runner-ops-worker': new iam.PolicyDocument({ statements: workerStatements }) },
    });
    this.workerProfile = new iam.InstanceProfile(this, 'WorkerProfile', {
      instanceProfileName: workerRoleName(props.environment),
      role: this.workerRole,
    });
  }
}
