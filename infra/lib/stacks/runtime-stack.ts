/**
 * Optional: the bot on ECS Fargate with ElastiCache (Redis OSS), for teams that outgrow one host.
 *
 * Replicas scale because the bot keeps no state of its own: queue, approvals, locks, dedupe and
 * audit live in Redis (CONTRACT §7), and Socket Mode spreads Slack's deliveries over the
 * replicas' connections. So this stack runs N identical tasks and needs no load balancer (Socket
 * Mode: SLACK_APP_TOKEN). For HTTP mode, put an ALB with your certificate in front of port 3000.
 *
 * - Task role: the bot role of the bot stack (same account and region; imported by name).
 * - Secrets: one Secrets Manager secret with SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN
 *   and GITLAB_TOKEN (created empty to fill in, or an existing one); the execution role reads it.
 * - The fleet file: an SSM String parameter outside /runner-ops/ (the bot may write there; it must
 *   not rewrite its own configuration), written to /tmp at start and named by RUNNER_OPS_CONFIG.
 * - Redis: a primary and a replica in two zones with automatic failover, TLS, encryption at rest,
 *   `maxmemory-policy noeviction` (BullMQ's requirement). ElastiCache has no AOF: durability is
 *   the replica, so a failover may lose the last writes, which the bot's idempotent steps absorb.
 */
import { CfnOutput, Duration, SecretValue, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { RuntimeConfig } from '../config';
import { Arns, BOT_ROLE_NAME, FLEET_FILE_PARAMETER } from '../naming';

export const SECRET_KEYS = ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'GITLAB_TOKEN'] as const;
const STANDARD_PARAMETER_MAX = 4096;
const ADVANCED_PARAMETER_MAX = 8192;
const PORT = 3000;

export interface RuntimeStackProps extends StackProps {
  runtime: RuntimeConfig;
  partition: string;
  /** The fleet file's text (read at synth from runtime.fleetFile). */
  fleetFileText: string;
}

const ECR_IMAGE = /^(?<account>\d{12})\.dkr\.ecr\.(?<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?\/(?<repository>[^:@]+)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/;

/** An ECR image through the repository (so the execution role gets pull rights); anything else by name. */
function containerImage(scope: Construct, image: string, partition: string): ecs.ContainerImage {
  const m = ECR_IMAGE.exec(image)?.groups;
  if (m === undefined || m.account === undefined || m.region === undefined || m.repository === undefined) {
    return ecs.ContainerImage.fromRegistry(image);
  }
  const repository = ecr.Repository.fromRepositoryArn(scope, 'ImageRepository',
    `arn:${partition}:ecr:${m.region}:${m.account}:repository/${m.repository}`);
  return ecs.ContainerImage.fromEcrRepository(repository, m.digest ?? m.tag ?? 'latest');
}

export class RuntimeStack extends Stack {
  readonly service: ecs.FargateService;
  readonly redis: elasticache.CfnReplicationGroup;

  constructor(scope: Construct, id: string, props: RuntimeStackProps) {
    super(scope, id, props);
    const rt = props.runtime;

    const vpc: ec2.IVpc = rt.vpc !== undefined
      ? ec2.Vpc.fromVpcAttributes(this, 'Vpc', rt.vpc)
      : new ec2.Vpc(this, 'Vpc', {
        // Named zones: synth needs no AWS lookup.
        availabilityZones: rt.availabilityZones,
        natGateways: 1,
        subnetConfiguration: [
          { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
          { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 24 },
        ],
      });
    const privateSubnets = vpc.privateSubnets;

    const serviceSg = new ec2.SecurityGroup(this, 'BotSecurityGroup', {
      vpc, description: 'runner-ops bot tasks: no inbound (Socket Mode), outbound to Slack, GitLab, AWS and Redis',
    });
    const redisSg = new ec2.SecurityGroup(this, 'RedisSecurityGroup', {
      vpc, description: 'runner-ops Redis: only the bot tasks', allowAllOutbound: false,
    });
    redisSg.addIngressRule(serviceSg, ec2.Port.tcp(6379), 'runner-ops bot tasks');

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'runner-ops Redis', subnetIds: privateSubnets.map((s) => s.subnetId),
    });
    const parameters = new elasticache.CfnParameterGroup(this, 'RedisParameters', {
      cacheParameterGroupFamily: 'redis7',
      description: 'runner-ops: BullMQ needs noeviction',
      properties: { 'maxmemory-policy': 'noeviction' },
    });
    this.redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'runner-ops: job queue, approvals, locks, audit',
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: rt.redisNodeType,
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      atRestEncryptionEnabled: true,
      cacheSubnetGroupName: subnetGroup.ref,
      cacheParameterGroupName: parameters.ref,
      securityGroupIds: [redisSg.securityGroupId],
      snapshotRetentionLimit: 7,
    });

    const secret: secretsmanager.ISecret = rt.secretArn !== undefined
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'BotSecrets', rt.secretArn)
      : new secretsmanager.Secret(this, 'BotSecrets', {
        secretName: 'runner-ops/bot',
        description: 'runner-ops bot: fill in SLACK_BOT_TOKEN, GITLAB_TOKEN and SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET',
        // Empty placeholders: the keys must exist for ECS to inject them; an empty value counts as unset.
        secretObjectValue: Object.fromEntries(SECRET_KEYS.map((k) => [k, SecretValue.unsafePlainText('')])),
      });

    const size = Buffer.byteLength(props.fleetFileText, 'utf8');
    if (size > ADVANCED_PARAMETER_MAX) {
      throw new Error(`runtime.fleetFile is ${size} bytes; an SSM parameter holds at most ${ADVANCED_PARAMETER_MAX}`);
    }
    const fleetFile = new ssm.StringParameter(this, 'FleetFile', {
      parameterName: FLEET_FILE_PARAMETER,
      description: 'runner-ops.yml for the Fargate bot (redeploy the runtime stack to change it)',
      stringValue: props.fleetFileText,
      tier: size > STANDARD_PARAMETER_MAX ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
    });

    const botRole = iam.Role.fromRoleArn(this, 'BotRole', new Arns(props.partition, this.account).role(BOT_ROLE_NAME), { mutable: false });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      family: 'runner-ops',
      cpu: rt.cpu,
      memoryLimitMiB: rt.memoryMiB,
      taskRole: botRole,
      runtimePlatform: {
        cpuArchitecture: rt.cpuArchitecture === 'ARM64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { logGroupName: '/runner-ops/bot', retention: logs.RetentionDays.ONE_MONTH });
    taskDefinition.addContainer('bot', {
      image: containerImage(this, rt.image, props.partition),
      // The image's CMD, after writing the fleet file where RUNNER_OPS_CONFIG points; exec keeps
      // node as PID 1 so that SIGTERM reaches it (graceful stop within stopTimeout).
      command: ['sh', '-c', 'printf "%s" "$RUNNER_OPS_FLEET_FILE" > /tmp/runner-ops.yml && exec node dist/src/main.js'],
      environment: {
        ...rt.environment,
        RUNNER_OPS_CONFIG: '/tmp/runner-ops.yml',
        REDIS_URL: `rediss://${this.redis.attrPrimaryEndPointAddress}:${this.redis.attrPrimaryEndPointPort}`,
        PORT: String(PORT),
      },
      secrets: {
        ...Object.fromEntries(SECRET_KEYS.map((k) => [k, ecs.Secret.fromSecretsManager(secret, k)])),
        RUNNER_OPS_FLEET_FILE: ecs.Secret.fromSsmParameter(fleetFile),
      },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'bot', logGroup }),
      portMappings: [{ containerPort: PORT }],
      healthCheck: {
        command: ['CMD', 'node', '-e', `fetch('http://127.0.0.1:${PORT}/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        startPeriod: Duration.seconds(30),
      },
      stopTimeout: Duration.seconds(120),
    });

    const cluster = new ecs.Cluster(this, 'Cluster', { vpc, clusterName: 'runner-ops' });
    this.service = new ecs.FargateService(this, 'Service', {
      serviceName: 'runner-ops-bot',
      cluster,
      taskDefinition,
      desiredCount: rt.desiredCount,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      securityGroups: [serviceSg],
      vpcSubnets: { subnets: privateSubnets },
      assignPublicIp: false,
    });
    this.service.autoScaleTaskCount({ minCapacity: rt.desiredCount, maxCapacity: rt.maxCount })
      .scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: 60 });

    new CfnOutput(this, 'ServiceName', { value: this.service.serviceName });
    new CfnOutput(this, 'ClusterName', { value: cluster.clusterName });
    new CfnOutput(this, 'SecretArn', { value: secret.secretArn, description: 'fill in the Slack and GitLab tokens here' });
    new CfnOutput(this, 'FleetFileParameter', { value: fleetFile.parameterName, description: 'runner-ops.yml as the tasks see it' });
    new CfnOutput(this, 'RedisEndpoint', { value: this.redis.attrPrimaryEndPointAddress });
  }
}
