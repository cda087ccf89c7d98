/** Expected IAM statements, shared by the bot-policy and account-stack tests. */

/**
 * The statements the bot policy has for the environments of one account, in order: the bot role's
 * for its own account, and the per-account runner-ops role's (the same construct).
 */
export function environmentStatements(account: string, fleet: string[], ecrRepositories: string[]): Record<string, unknown>[] {
  const params = `arn:aws:ssm:*:${account}:parameter/runner-ops/*`;
  const instances = `arn:aws:ec2:*:${account}:instance/*`;
  return [
    { Sid: 'Ec2Describe', Effect: 'Allow', Action: ['ec2:DescribeInstances', 'ec2:DescribeKeyPairs', 'ec2:DescribeSecurityGroups'], Resource: '*' },
    {
      Sid: 'Ec2RunTaggedInstances', Effect: 'Allow', Action: 'ec2:RunInstances', Resource: instances,
      Condition: {
        StringEquals: {
          'aws:RequestTag/ManagedBy': 'runner-ops',
          'aws:RequestTag/runner-ops:role': ['manager', 'verify-worker'],
          'ec2:MetadataHttpTokens': 'required',
        },
        Null: { 'aws:RequestTag/runner-ops:environment': 'false', 'aws:RequestTag/runner-ops:operation': 'false' },
        ArnEquals: { 'ec2:InstanceProfile': fleet.flatMap((e) => [`arn:aws:iam::${account}:instance-profile/runner-ops-${e}-manager`, `arn:aws:iam::${account}:instance-profile/runner-ops-${e}-worker`]) },
      },
    },
    {
      Sid: 'Ec2RunInstanceResources', Effect: 'Allow', Action: 'ec2:RunInstances',
      Resource: [
        'arn:aws:ec2:*::image/*',
        `arn:aws:ec2:*:${account}:subnet/*`,
        `arn:aws:ec2:*:${account}:security-group/*`,
        `arn:aws:ec2:*:${account}:network-interface/*`,
        `arn:aws:ec2:*:${account}:volume/*`,
        `arn:aws:ec2:*:${account}:key-pair/*`,
        `arn:aws:ec2:*:${account}:spot-instances-request/*`,
      ],
    },
    {
      Sid: 'Ec2TagOnLaunchOnly', Effect: 'Allow', Action: 'ec2:CreateTags',
      Resource: [instances, `arn:aws:ec2:*:${account}:volume/*`, `arn:aws:ec2:*:${account}:network-interface/*`, `arn:aws:ec2:*:${account}:spot-instances-request/*`],
      Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    },
    {
      Sid: 'Ec2TerminateManagedInstances', Effect: 'Allow', Action: 'ec2:TerminateInstances', Resource: instances,
      Condition: { StringEquals: { 'ec2:ResourceTag/ManagedBy': 'runner-ops' } },
    },
    {
      Sid: 'Ec2DeleteManagedKeyPairs', Effect: 'Allow', Action: 'ec2:DeleteKeyPair', Resource: `arn:aws:ec2:*:${account}:key-pair/runner-ops-*`,
      Condition: { StringEquals: { 'ec2:ResourceTag/ManagedBy': 'runner-ops' } },
    },
    {
      Sid: 'DenyManagedByTagOutsideLaunch', Effect: 'Deny', Action: ['ec2:CreateTags', 'ec2:DeleteTags'], Resource: '*',
      Condition: { StringNotEquals: { 'ec2:CreateAction': ['RunInstances'] }, 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['ManagedBy'] } },
    },
    {
      Sid: 'DenyUntaggingManagedResources', Effect: 'Deny', Action: 'ec2:DeleteTags', Resource: '*',
      Condition: { StringEquals: { 'ec2:ResourceTag/ManagedBy': 'runner-ops' } },
    },
    {
      Sid: 'PassFleetRolesToEc2', Effect: 'Allow', Action: 'iam:PassRole',
      Resource: fleet.flatMap((e) => [`arn:aws:iam::${account}:role/runner-ops-${e}-manager`, `arn:aws:iam::${account}:role/runner-ops-${e}-worker`]),
      Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    },
    {
      Sid: 'CreateSpotServiceLinkedRole', Effect: 'Allow', Action: 'iam:CreateServiceLinkedRole',
      Resource: `arn:aws:iam::${account}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
      Condition: { StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' } },
    },
    {
      Sid: 'SsmReadAgentsAndCommands', Effect: 'Allow',
      Action: ['ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation', 'ssm:CancelCommand'], Resource: '*',
    },
    { Sid: 'SsmRunShellScriptDocument', Effect: 'Allow', Action: 'ssm:SendCommand', Resource: 'arn:aws:ssm:*::document/AWS-RunShellScript' },
    {
      Sid: 'SsmSendToManagedInstances', Effect: 'Allow', Action: 'ssm:SendCommand', Resource: instances,
      Condition: { StringEquals: { 'ssm:resourceTag/ManagedBy': 'runner-ops', 'ssm:resourceTag/runner-ops:role': ['manager', 'verify-worker'] } },
    },
    { Sid: 'SsmTokenParameters', Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter'], Resource: params },
    {
      Sid: 'SsmTagTokenParameters', Effect: 'Allow', Action: 'ssm:AddTagsToResource', Resource: params,
      Condition: { StringEquals: { 'aws:RequestTag/ManagedBy': 'runner-ops' } },
    },
    { Sid: 'SsmPublicAmiParameters', Effect: 'Allow', Action: ['ssm:GetParameter', 'ssm:GetParameters'], Resource: 'arn:aws:ssm:*::parameter/aws/service/*' },
    {
      Sid: 'KmsTokenParameters', Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], Resource: `arn:aws:kms:*:${account}:key/*`,
      Condition: { StringLike: { 'kms:ViaService': 'ssm.*.amazonaws.com', 'kms:EncryptionContext:PARAMETER_ARN': params } },
    },
    { Sid: 'EcrDescribeImages', Effect: 'Allow', Action: 'ecr:DescribeImages', Resource: ecrRepositories.length === 1 ? ecrRepositories[0] : ecrRepositories },
  ];
}
