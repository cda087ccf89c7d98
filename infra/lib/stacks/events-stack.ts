/**
 * Spot events of one account and region (EventBridge rules are regional): the rules, the queue
 * and its dead-letter queue (spot-events.ts). Where the account is not the bot's, the queue policy
 * also lets the bot role receive: cross-account SQS needs both the bot's IAM policy and this.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { fleetFileOutput } from '../outputs';
import { SpotEvents } from '../spot-events';

export interface EventsStackProps extends StackProps {
  /** The bot role, where it lives in another account. */
  consumerArns?: readonly string[];
}

export class EventsStack extends Stack {
  readonly spotEvents: SpotEvents;

  constructor(scope: Construct, id: string, props: EventsStackProps = {}) {
    super(scope, id, props);
    this.spotEvents = new SpotEvents(this, 'SpotEvents', props.consumerArns !== undefined ? { consumerArns: props.consumerArns } : {});
    fleetFileOutput(this, 'QueueUrl', this.spotEvents.queue.queueUrl, 'alerts.queues[] (one entry per events stack)');
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.spotEvents.deadLetterQueue.queueUrl,
      description: 'events EventBridge could not deliver or the bot could not process (kept 14 days)',
    });
  }
}
