/**
 * The bot's permissions: exactly the AWS calls src/ makes (test/infra/consistency.test.ts holds
 * the two together), each scoped as tightly as IAM allows.
 *
 * One function builds the statements for one account. The bot stack attaches them to the bot role
 * for the environments in the bot's own account (plus STS and SQS, which the bot always does with
 * its own identity); the per-account stack attaches the same statements to the `runner-ops` role
 * the bot assumes there (`roleArn`, CONTRACT §5/§6).
 *
 * What each statement allows, and why (CONTRACT §6 tags: ManagedBy=runner-ops on everything):
 * - EC2 launches only instances that carry the CONTRACT tags in the RunInstances request itself,
 *   with a runner-ops instance profile and IMDSv2 required; tags may be written only by that
 *   launch (`ec2:CreateAction`); terminate and delete only what is tagged ManagedBy=runner-ops; an
 *   explicit deny keeps the ManagedBy tag from being added, changed or removed any other way, so
 *   the bot cannot "adopt" a foreign instance and then terminate it.
 * - iam:PassRole only for the environments' manager and worker roles, only to EC2.
 * - SSM Run Command only with AWS-RunShellScript, only on managers and verify workers.
 * - Parameters only under /runner-ops/, KMS only through SSM for those parameters.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  Arns, BOT_LAUNCHED_ROLES, MANAGED_BY_KEY, MANAGED_BY_VALUE, PARAMETER_PATH_PREFIX, RUN_SHELL_SCRIPT_DOCUMENT,
  SPOT_SERVICE_NAME, TAG,
} from './naming';

/** The instance profiles and roles of one environment's fleet (fleet-roles.ts). */
export interface FleetRefs {
  environment: string;
  managerRoleArn: string;
  managerProfileArn: string;
  workerRoleArn: string;
  workerProfileArn: string;
}

export interface BotPolicyProps {
  partition: string;
  /** The account the EC2, SSM and ECR statements act in. */
  account: string;
  /** The environments this identity acts for in that account; none: no EC2/SSM/ECR statements. */
  fleets: readonly FleetRefs[];
  /** Repositories `verify-ecr` describes. Default: every repository in the account. */
  ecrRepositoryArns?: readonly string[];
  /** Keys of the token parameters. Default: any key in the account, only through SSM, only for /runner-ops/ parameters. */
  kmsKeyArns?: readonly string[];
  /** Bot identity only: the environments' `roleArn`s in other accounts. */
  assumeRoleArns?: readonly string[];
  /** Bot identity only: the Spot event queues (`alerts.queues`). */
  eventQueueArns?: readonly string[];
}

const allow = (sid: string, actions: string[], resources: string[], conditions?: Record<string, Record<string, unknown>>) =>
  new iam.PolicyStatement({ sid, effect: iam.Effect.ALLOW, actions, resources, ...(conditions !== undefined ? { conditions } : {}) });

const deny = (sid: string, actions: string[], resources: string[], conditions: Record<string, Record<string, unknown>>) =>
  new iam.PolicyStatement({ sid, effect: iam.Effect.DENY, actions, resources, conditions });

/**
 * Adding, changing or removing the ManagedBy tag other than in a launch is denied, whatever else is
 * attached to the same role: ManagedBy is what termination and Run Command are scoped by.
 */
export function denyManagedByTagOutsideLaunch(launchActions: readonly string[]): iam.PolicyStatement {
  return deny('DenyManagedByTagOutsideLaunch', ['ec2:CreateTags', 'ec2:DeleteTags'], ['*'], {
    StringNotEquals: { 'ec2:CreateAction': [...launchActions] },
    'ForAnyValue:StringEquals': { 'aws:TagKeys': [MANAGED_BY_KEY] },
  });
}

/** DeleteTags without tag keys removes every tag: never on a runner-ops resource. */
export function denyUntaggingManagedResources(): iam.PolicyStatement {
  return deny('DenyUntaggingManagedResources', ['ec2:DeleteTags'], ['*'], {
    StringEquals: { [`ec2:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE },
  });
}

export function botPolicyStatements(props: BotPolicyProps): iam.PolicyStatement[] {
  const arns = new Arns(props.partition, props.account);
  const statements: iam.PolicyStatement[] = [];

  if (props.fleets.length > 0) {
    const profiles = props.fleets.flatMap((f) => [f.managerProfileArn, f.workerProfileArn]);
    const roles = props.fleets.flatMap((f) => [f.managerRoleArn, f.workerRoleArn]);
    const runnerOpsParameters = arns.parameter(`${PARAMETER_PATH_PREFIX}*`);
    statements.push(
      // Describe* and DescribeInstanceInformation support no resource-level permissions.
      // DescribeSecurityGroups: verify-ecr finds the workers' group by name (workers.securityGroup).
      allow('Ec2Describe', ['ec2:DescribeInstances', 'ec2:DescribeKeyPairs', 'ec2:DescribeSecurityGroups'], ['*']),
      // The instance itself: only with the CONTRACT §6 tags in the request, a runner-ops instance
      // profile and IMDSv2 required (launcher.ts sets HttpTokens=required; DESIGN §2).
      allow('Ec2RunTaggedInstances', ['ec2:RunInstances'], [arns.ec2('instance/*')], {
        StringEquals: {
          [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE,
          [`aws:RequestTag/${TAG.role}`]: [...BOT_LAUNCHED_ROLES],
          'ec2:MetadataHttpTokens': 'required',
        },
        Null: {
          [`aws:RequestTag/${TAG.environment}`]: 'false',
          [`aws:RequestTag/${TAG.operation}`]: 'false',
        },
        ArnEquals: { 'ec2:InstanceProfile': profiles },
      }),
      // What the launch uses or creates besides the instance: RunInstances cannot make any of these
      // outside a launch, so they need no condition. Spot verify workers (InstanceMarketOptions)
      // need nothing beyond ec2:RunInstances but the spot-instances-request resource.
      allow('Ec2RunInstanceResources', ['ec2:RunInstances'], [
        arns.image(),
        arns.ec2('subnet/*'),
        arns.ec2('security-group/*'),
        arns.ec2('network-interface/*'),
        arns.ec2('volume/*'),
        arns.ec2('key-pair/*'),
        arns.ec2('spot-instances-request/*'),
      ]),
      allow('Ec2TagOnLaunchOnly', ['ec2:CreateTags'], [
        arns.ec2('instance/*'), arns.ec2('volume/*'), arns.ec2('network-interface/*'), arns.ec2('spot-instances-request/*'),
      ], { StringEquals: { 'ec2:CreateAction': 'RunInstances' } }),
      allow('Ec2TerminateManagedInstances', ['ec2:TerminateInstances'], [arns.ec2('instance/*')], {
        StringEquals: { [`ec2:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE },
      }),
      // The managers' key pairs (imported and tagged by the manager, deleted by destroy).
      allow('Ec2DeleteManagedKeyPairs', ['ec2:DeleteKeyPair'], [arns.ec2('key-pair/runner-ops-*')], {
        StringEquals: { [`ec2:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE },
      }),
      denyManagedByTagOutsideLaunch(['RunInstances']),
      denyUntaggingManagedResources(),
      allow('PassFleetRolesToEc2', ['iam:PassRole'], roles, { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }),
      // A Spot launch creates the account's Spot service-linked role the first time; only that role.
      allow('CreateSpotServiceLinkedRole', ['iam:CreateServiceLinkedRole'], [arns.spotServiceLinkedRole()], {
        StringEquals: { 'iam:AWSServiceName': SPOT_SERVICE_NAME },
      }),
      allow('SsmReadAgentsAndCommands', ['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:CancelCommand'], ['*']),
      // SendCommand is authorised on the document and on each instance: two statements, so that
      // the tag condition applies to the instances only.
      allow('SsmRunShellScriptDocument', ['ssm:SendCommand'], [arns.awsDocument(RUN_SHELL_SCRIPT_DOCUMENT)]),
      allow('SsmSendToManagedInstances', ['ssm:SendCommand'], [arns.ec2('instance/*')], {
        StringEquals: {
          [`ssm:resourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE,
          [`ssm:resourceTag/${TAG.role}`]: [...BOT_LAUNCHED_ROLES],
        },
      }),
      allow('SsmTokenParameters', ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter'], [runnerOpsParameters]),
      // PutParameter with Tags (creation) is also authorised as AddTagsToResource.
      allow('SsmTagTokenParameters', ['ssm:AddTagsToResource'], [runnerOpsParameters], {
        StringEquals: { [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE },
      }),
      // RunInstances resolves `resolve:ssm:` AMIs with the caller's permissions.
      allow('SsmPublicAmiParameters', ['ssm:GetParameter', 'ssm:GetParameters'], [arns.publicParameters()]),
      // SecureString put (Encrypt; GenerateDataKey for advanced parameters) and restore (Decrypt).
      // The default aws/ssm key allows this through its key policy; a customer key needs it here.
      allow('KmsTokenParameters', ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], [...(props.kmsKeyArns ?? [arns.kmsKeys()])], {
        StringLike: {
          'kms:ViaService': 'ssm.*.amazonaws.com',
          'kms:EncryptionContext:PARAMETER_ARN': runnerOpsParameters,
        },
      }),
      allow('EcrDescribeImages', ['ecr:DescribeImages'], [...(props.ecrRepositoryArns ?? [arns.ecrRepositories()])]),
    );
  }

  if (props.assumeRoleArns !== undefined && props.assumeRoleArns.length > 0) {
    statements.push(allow('StsAssumeEnvironmentRoles', ['sts:AssumeRole'], [...props.assumeRoleArns]));
  }
  if (props.eventQueueArns !== undefined && props.eventQueueArns.length > 0) {
    statements.push(allow('SqsConsumeSpotEvents', [
      'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes',
    ], [...props.eventQueueArns]));
  }
  return statements;
}

export interface BotPolicyConstructProps extends BotPolicyProps {
  managedPolicyName: string;
  description: string;
  roles: iam.IRole[];
}

/** The statements as one customer managed policy, attached to the given roles. */
export class BotPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: BotPolicyConstructProps) {
    super(scope, id);
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: props.managedPolicyName,
      description: props.description,
      statements: botPolicyStatements(props),
      roles: props.roles,
    });
  }
}
