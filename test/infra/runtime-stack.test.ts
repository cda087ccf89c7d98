/**
 * The optional Fargate + ElastiCache runtime: the bot role as task role, secrets from Secrets
 * Manager, the fleet file from a parameter the bot cannot write, Redis with noeviction and TLS,
 * no public IP and no inbound port.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { BOT_ACCOUNT, BOT_REGION, REPO_ROOT, synthesize, type Synthesized } from './support/fixtures';

let synth: Synthesized;
beforeAll(() => { synth = synthesize(); });
afterAll(() => synth.cleanup());

const ref = (prefix: string) => ({ Ref: Match.stringLikeRegexp(`^${prefix}`) });

describe('the runtime stack', () => {
  it('runs the bot as the bot role, with the tokens from Secrets Manager and the fleet file from SSM', () => {
    synth.runtime.hasResourceProperties('AWS::ECS::TaskDefinition', {
      TaskRoleArn: `arn:aws:iam::${BOT_ACCOUNT}:role/runner-ops-bot`,
      RequiresCompatibilities: ['FARGATE'],
      ContainerDefinitions: [Match.objectLike({
        Image: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('runner-ops:1\\.2\\.3$')])]) }),
        Command: ['sh', '-c', 'printf "%s" "$RUNNER_OPS_FLEET_FILE" > /tmp/runner-ops.yml && exec node dist/src/main.js'],
        Environment: Match.arrayWith([
          { Name: 'GITLAB_URL', Value: 'https://gitlab.example.com' },
          { Name: 'RUNNER_OPS_CONFIG', Value: '/tmp/runner-ops.yml' },
          Match.objectLike({ Name: 'REDIS_URL', Value: { 'Fn::Join': ['', Match.arrayWith(['rediss://'])] } }),
        ]),
        Secrets: Match.arrayWith(['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'GITLAB_TOKEN']
          .map((name) => Match.objectLike({ Name: name, ValueFrom: Match.anyValue() }))
          .concat([Match.objectLike({ Name: 'RUNNER_OPS_FLEET_FILE' })])),
        StopTimeout: 120,
        HealthCheck: Match.objectLike({ Command: Match.arrayWith(['CMD', 'node']) }),
      })],
    });
  });

  it('stores the fleet file outside /runner-ops/, which the bot may write', () => {
    synth.runtime.hasResourceProperties('AWS::SSM::Parameter', {
      Name: '/runner-ops-runtime/fleet-file',
      Type: 'String',
      Value: readFileSync(resolve(REPO_ROOT, 'runner-ops.example.yml'), 'utf8'),
    });
  });

  it('creates the secret with empty placeholders for the four tokens', () => {
    synth.runtime.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: 'runner-ops/bot',
      SecretString: JSON.stringify({ SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', SLACK_APP_TOKEN: '', GITLAB_TOKEN: '' }),
    });
  });

  it('runs the configured replicas in private subnets, no public IP, rolling back failed deployments, scaling on CPU', () => {
    synth.runtime.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED', Subnets: ['subnet-0aaa1111', 'subnet-0bbb2222'] }) },
    });
    synth.runtime.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 2, MaxCapacity: 3 });
    synth.runtime.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 60 }),
    });
  });

  it('gives the tasks no inbound port and Redis only the tasks', () => {
    const groups = Object.values(synth.runtime.findResources('AWS::EC2::SecurityGroup')).map((g) => g.Properties as Record<string, unknown>);
    for (const g of groups) expect(g.SecurityGroupIngress).toBeUndefined();
    synth.runtime.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
    synth.runtime.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379,
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RedisSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BotSecurityGroup'), 'GroupId'] },
    });
  });

  it('runs Redis as BullMQ needs it: noeviction, TLS, encrypted, a replica with automatic failover', () => {
    synth.runtime.hasResourceProperties('AWS::ElastiCache::ParameterGroup', { CacheParameterGroupFamily: 'redis7', Properties: { 'maxmemory-policy': 'noeviction' } });
    synth.runtime.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: 'redis',
      NumCacheClusters: 2,
      AutomaticFailoverEnabled: true,
      MultiAZEnabled: true,
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      CacheParameterGroupName: ref('RedisParameters'),
    });
  });

  it('lets the execution role pull the ECR image and nothing more', () => {
    synth.runtime.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({
          Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
          Resource: `arn:aws:ecr:${BOT_REGION}:${BOT_ACCOUNT}:repository/runner-ops`,
        })]),
      },
    });
  });
});
