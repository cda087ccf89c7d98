/**
 * CONTRACT §6 Spot events: three EventBridge rules (source aws.ec2, one detail-type each) -> one SQS
 * queue, a dead-letter queue, and queue policies that admit only those rules (aws:SourceArn) and,
 * cross-account, the bot role's receive calls.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { BOT_ACCOUNT, BOT_ROLE_ARN, synthesize, type Synthesized } from './support/fixtures';
import type { Statement } from './support/iam';

let synth: Synthesized;
beforeAll(() => { synth = synthesize(); });
afterAll(() => synth.cleanup());

const DETAIL_TYPES = ['EC2 Spot Instance Interruption Warning', 'EC2 Instance Rebalance Recommendation', 'EC2 Instance State-change Notification'];

function logicalId(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${JSON.stringify(props)}, found ${ids.length}`);
  return ids[0] as string;
}

function queuePolicy(template: Template, queueId: string): Statement[] {
  const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [{ Ref: queueId }] } }));
  if (policies.length !== 1) throw new Error(`expected one policy for ${queueId}, found ${policies.length}`);
  return (policies[0]?.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

function ruleIds(template: Template): string[] {
  return Object.keys(template.findResources('AWS::Events::Rule'));
}

describe.each([
  ['the bot account', () => synth.botEvents, false],
  ['another account', () => synth.otherEvents, true],
] as const)('Spot events in %s', (_where, template, crossAccount) => {
  it('has exactly three rules, one per CONTRACT §6 detail-type, source aws.ec2', () => {
    const patterns = Object.values(template().findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern as Record<string, unknown>);
    expect(patterns.map((p) => p['detail-type'])).toEqual(DETAIL_TYPES.map((d) => [d]));
    for (const p of patterns) expect(p.source).toEqual(['aws.ec2']);
  });

  it.each(DETAIL_TYPES)('%s: its exact event pattern, target the queue with the DLQ and no role', (detailType) => {
    const queue = logicalId(template(), 'AWS::SQS::Queue', { QueueName: 'runner-ops-events' });
    const dlq = logicalId(template(), 'AWS::SQS::Queue', { QueueName: 'runner-ops-events-dlq' });
    template().hasResourceProperties('AWS::Events::Rule', {
      State: 'ENABLED',
      EventPattern: Match.objectEquals({
        source: ['aws.ec2'],
        'detail-type': [detailType],
        ...(detailType === 'EC2 Instance State-change Notification' ? { detail: { state: ['stopping', 'stopped', 'shutting-down', 'terminated'] } } : {}),
      }),
      Targets: [Match.objectEquals({
        Id: 'Target0',
        Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
      })],
    });
  });

  it('queue: SSE-SQS, redrive to the DLQ after 5 receives; DLQ keeps 14 days', () => {
    const dlq = logicalId(template(), 'AWS::SQS::Queue', { QueueName: 'runner-ops-events-dlq' });
    template().hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'runner-ops-events',
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      MessageRetentionPeriod: 86400,
      VisibilityTimeout: 60,
    });
    template().hasResourceProperties('AWS::SQS::Queue', { QueueName: 'runner-ops-events-dlq', SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  it.each(['runner-ops-events', 'runner-ops-events-dlq'])('%s policy: EventBridge only for these rules (aws:SourceArn), TLS only', (queueName) => {
    const t = template();
    const queue = logicalId(t, 'AWS::SQS::Queue', { QueueName: queueName });
    const statements = queuePolicy(t, queue);
    const rules = new Set(ruleIds(t));
    const fromEvents = statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }));
    // One statement per rule, each bound to that rule's ARN.
    expect(fromEvents.map((s) => (s.Condition?.ArnEquals?.['aws:SourceArn'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]).sort()).toEqual([...rules].sort());
    for (const s of fromEvents) {
      expect(s.Effect).toBe('Allow');
      expect(Object.keys(s.Condition ?? {})).toEqual(['ArnEquals']);
      expect([s.Action].flat()).toContain('sqs:SendMessage');
      expect(s.Resource).toEqual({ 'Fn::GetAtt': [queue, 'Arn'] });
    }
    // Plain HTTP refused for everyone.
    expect(statements).toContainEqual({
      Action: 'sqs:*', Effect: 'Deny', Principal: { AWS: '*' }, Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const rest = statements.filter((s) => !fromEvents.includes(s) && s.Effect === 'Allow');
    if (queueName === 'runner-ops-events' && crossAccount) {
      expect(rest).toEqual([{
        Sid: 'BotConsumesEvents', Effect: 'Allow', Principal: { AWS: BOT_ROLE_ARN },
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'],
        Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
      }]);
    } else {
      expect(rest).toEqual([]);
    }
  });

  it('outputs the queue URL for alerts.queues', () => {
    const queue = logicalId(template(), 'AWS::SQS::Queue', { QueueName: 'runner-ops-events' });
    template().hasOutput('QueueUrl', { Value: { Ref: queue }, Description: 'runner-ops.yml: alerts.queues[] (one entry per events stack)' });
  });
});

it('puts one events stack in each account and region that has environments', () => {
  expect(synth.built.events.map((s) => `${s.account}/${s.region}`).sort()).toEqual([`${BOT_ACCOUNT}/eu-central-1`, '222222222222/eu-west-1']);
});
