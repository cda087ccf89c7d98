/**
 * CONTRACT §6 Spot events: EventBridge rules for the three EC2 event types, each targeting one SQS
 * queue whose message body is the event JSON (the default target input), with a dead-letter queue.
 *
 * - The queue policy admits EventBridge only on behalf of these rules (`aws:SourceArn`, added by
 *   targets.SqsQueue) and, where the bot lives in another account, the bot role's receive calls.
 *   The target has no role: SQS targets are authorised by the queue policy.
 * - SSE-SQS encryption: EventBridge cannot use the AWS managed aws/sqs KMS key, and SSE-SQS needs
 *   no key policy. Plain HTTP is refused (`enforceSSL`).
 * - One dead-letter queue takes both what EventBridge could not deliver (target DeadLetterConfig)
 *   and what the bot could not process after `maxReceiveCount` receives (redrive policy).
 * - Events are regional: one of these per account and region that has environments.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EVENTS_DLQ_NAME, EVENTS_QUEUE_NAME } from './naming';

/** CONTRACT §6, in the order the bot's alert threads tell them. */
export const SPOT_EVENT_RULES = [
  { id: 'SpotInterruptionWarning', name: 'runner-ops-spot-interruption-warning', detailType: 'EC2 Spot Instance Interruption Warning' },
  { id: 'RebalanceRecommendation', name: 'runner-ops-rebalance-recommendation', detailType: 'EC2 Instance Rebalance Recommendation' },
  { id: 'InstanceStateChange', name: 'runner-ops-instance-state-change', detailType: 'EC2 Instance State-change Notification' },
] as const;

/**
 * State changes that matter to alert threads (a stopping or terminating manager, shutting-down and
 * terminated workers). `pending` and `running` of every instance in the region would be most of the
 * traffic and are left out at the source.
 */
export const STATE_CHANGE_STATES = ['stopping', 'stopped', 'shutting-down', 'terminated'] as const;

export const MAX_RECEIVE_COUNT = 5;

export interface SpotEventsProps {
  /** Principals in another account that consume the queue (the bot role); same-account consumers need only their IAM policy. */
  consumerArns?: readonly string[];
}

export class SpotEvents extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly rules: events.Rule[];

  constructor(scope: Construct, id: string, props: SpotEventsProps = {}) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      queueName: EVENTS_DLQ_NAME,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      queueName: EVENTS_QUEUE_NAME,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // An alert is worth little after a day; the bot long-polls and deletes after recording.
      retentionPeriod: Duration.days(1),
      visibilityTimeout: Duration.seconds(60),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    this.rules = SPOT_EVENT_RULES.map((r) => {
      const rule = new events.Rule(this, r.id, {
        ruleName: r.name,
        description: `runner-ops: ${r.detailType} -> ${EVENTS_QUEUE_NAME}`,
        eventPattern: {
          source: ['aws.ec2'],
          detailType: [r.detailType],
          ...(r.id === 'InstanceStateChange' ? { detail: { state: [...STATE_CHANGE_STATES] } } : {}),
        },
      });
      rule.addTarget(new targets.SqsQueue(this.queue, {
        deadLetterQueue: this.deadLetterQueue,
        // A two-minute warning is stale after an hour; the DLQ keeps what could not be delivered.
        maxEventAge: Duration.hours(1),
        retryAttempts: 20,
      }));
      return rule;
    });

    const consumers = props.consumerArns ?? [];
    if (consumers.length > 0) {
      this.queue.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'BotConsumesEvents',
        effect: iam.Effect.ALLOW,
        principals: consumers.map((arn) => new iam.ArnPrincipal(arn)),
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        resources: [this.queue.queueArn],
      }));
    }
  }
}
