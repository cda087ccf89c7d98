/**
 * The EventBridge events the Spot alerts consume (CONTRACT §6), parsed with zod at the boundary.
 * An SQS message body is the event JSON as EventBridge delivers it to an SQS target:
 *
 *   { "version": "0", "id": "<uuid>", "detail-type": "EC2 Spot Instance Interruption Warning",
 *     "source": "aws.ec2", "account": "123456789012", "time": "2026-01-01T12:00:00Z",
 *     "region": "eu-central-1", "resources": ["arn:aws:ec2:…:instance/i-…"],
 *     "detail": { "instance-id": "i-…", "instance-action": "terminate" } }
 *
 * `EC2 Instance Rebalance Recommendation` has `detail: { instance-id }`; `EC2 Instance State-change
 * Notification` has `detail: { instance-id, state }`. A body relayed through SNS (an SNS
 * `Notification` envelope whose `Message` is the event) is unwrapped. Anything else is malformed:
 * counted, logged and deleted by the consumer, never retried.
 */
import { z } from 'zod';
import type { SpotEventKind } from '../operations/status/types';

export type { SpotEventKind };

export const DETAIL_TYPES = {
  'EC2 Spot Instance Interruption Warning': 'interruption-warning',
  'EC2 Instance Rebalance Recommendation': 'rebalance-recommendation',
  'EC2 Instance State-change Notification': 'state-change',
} as const satisfies Record<string, SpotEventKind>;

export const EC2_STATES = ['pending', 'running', 'stopping', 'stopped', 'shutting-down', 'terminated'] as const;
export type Ec2State = (typeof EC2_STATES)[number];

export interface SpotEvent {
  /** EventBridge event id: the dedupe key. */
  id: string;
  kind: SpotEventKind;
  instanceId: string;
  region: string;
  account: string;
  /** When EC2 emitted the event (its `time`). */
  time: Date;
  /** Interruption warning: `terminate`, `stop` or `hibernate`. */
  action?: string;
  /** State change: the new state. */
  state?: Ec2State;
}

export type ParseResult =
  | { ok: true; event: SpotEvent }
  | { ok: false; reason: string; kind: SpotEventKind | 'unknown' };

const instanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'not an EC2 instance id');
const time = z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'not a timestamp').transform((s) => new Date(s));
const envelope = {
  // EventBridge ids are UUIDs; anything that could not be a Redis key segment is refused.
  id: z.string().regex(/^[A-Za-z0-9-]{1,128}$/, 'not an event id'),
  source: z.literal('aws.ec2'),
  account: z.string().regex(/^\d{12}$/, 'not an AWS account id'),
  region: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'not an AWS region'),
  time,
};

const eventSchema = z.discriminatedUnion('detail-type', [
  z.object({
    ...envelope,
    'detail-type': z.literal('EC2 Spot Instance Interruption Warning'),
    detail: z.object({ 'instance-id': instanceId, 'instance-action': z.string().regex(/^[a-z-]{1,32}$/) }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.literal('EC2 Instance Rebalance Recommendation'),
    detail: z.object({ 'instance-id': instanceId }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.literal('EC2 Instance State-change Notification'),
    detail: z.object({ 'instance-id': instanceId, state: z.enum(EC2_STATES) }),
  }),
]);

const snsEnvelope = z.object({ Type: z.literal('Notification'), Message: z.string() });

function kindOf(value: unknown): SpotEventKind | 'unknown' {
  if (typeof value !== 'object' || value === null) return 'unknown';
  const type: unknown = (value as Record<string, unknown>)['detail-type'];
  return typeof type === 'string' && type in DETAIL_TYPES ? DETAIL_TYPES[type as keyof typeof DETAIL_TYPES] : 'unknown';
}

function firstIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  if (issue === undefined) return 'does not match';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

/** Parses one SQS message body. Never throws. */
export function parseSpotEvent(body: string | undefined): ParseResult {
  if (body === undefined || body.length === 0) return { ok: false, reason: 'empty body', kind: 'unknown' };
  if (body.length > 256 * 1024) return { ok: false, reason: 'body larger than 256 KiB', kind: 'unknown' };
  let json: unknown;
  try {
    json = JSON.parse(body);
    const sns = snsEnvelope.safeParse(json);
    if (sns.success) json = JSON.parse(sns.data.Message);
  } catch {
    return { ok: false, reason: 'body is not JSON', kind: 'unknown' };
  }
  const parsed = eventSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: firstIssue(parsed.error), kind: kindOf(json) };
  const e = parsed.data;
  const base = { id: e.id, region: e.region, account: e.account, time: e.time, instanceId: e.detail['instance-id'] };
  switch (e['detail-type']) {
    case 'EC2 Spot Instance Interruption Warning':
      return { ok: true, event: { ...base, kind: 'interruption-warning', action: e.detail['instance-action'] } };
    case 'EC2 Instance Rebalance Recommendation':
      return { ok: true, event: { ...base, kind: 'rebalance-recommendation' } };
    case 'EC2 Instance State-change Notification':
      return { ok: true, event: { ...base, kind: 'state-change', state: e.detail.state } };
  }
}
