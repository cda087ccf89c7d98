import { parseSpotEvent } from './events';

const base = { version: '0', id: '7bf73129-1428-4cd3-a780-95db273d1602', source: 'aws.ec2', account: '123456789012', time: '2026-11-27T12:00:00Z', region: 'eu-central-1', resources: [] };
const body = (o: Record<string, unknown>) => JSON.stringify({ ...base, ...o });

describe('parseSpotEvent', () => {
  it.each([
    ['interruption warning', body({ 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': 'i-1234567890abcdef0', 'instance-action': 'terminate' } }), { kind: 'interruption-warning', action: 'terminate' }],
    ['rebalance recommendation', body({ 'detail-type': 'EC2 Instance Rebalance Recommendation', detail: { 'instance-id': 'i-1234567890abcdef0' } }), { kind: 'rebalance-recommendation' }],
    ['state change', body({ 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-1234567890abcdef0', state: 'shutting-down' } }), { kind: 'state-change', state: 'shutting-down' }],
  ])('parses an %s', (_name, raw, expected) => {
    const r = parseSpotEvent(raw);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event).toMatchObject({ ...expected, id: base.id, instanceId: 'i-1234567890abcdef0', region: 'eu-central-1', account: '123456789012' });
    expect(r.event.time.toISOString()).toBe('2026-11-27T12:00:00.000Z');
  });

  it('unwraps an SNS notification envelope', () => {
    const inner = body({ 'detail-type': 'EC2 Instance Rebalance Recommendation', detail: { 'instance-id': 'i-1234567890abcdef0' } });
    const r = parseSpotEvent(JSON.stringify({ Type: 'Notification', MessageId: 'm', Message: inner }));
    expect(r.ok && r.event.kind).toBe('rebalance-recommendation');
  });

  it.each([
    ['an empty body', undefined, 'unknown'],
    ['not JSON', '{nope', 'unknown'],
    ['another detail-type', body({ 'detail-type': 'EC2 AMI State Change', detail: {} }), 'unknown'],
    ['another source', body({ source: 'aws.s3', 'detail-type': 'EC2 Instance Rebalance Recommendation', detail: { 'instance-id': 'i-1234567890abcdef0' } }), 'rebalance-recommendation'],
    ['a bad instance id', body({ 'detail-type': 'EC2 Spot Instance Interruption Warning', detail: { 'instance-id': 'i-XYZ', 'instance-action': 'terminate' } }), 'interruption-warning'],
    ['an unknown state', body({ 'detail-type': 'EC2 Instance State-change Notification', detail: { 'instance-id': 'i-1234567890abcdef0', state: 'exploded' } }), 'state-change'],
    ['a bad time', body({ time: 'yesterday', 'detail-type': 'EC2 Instance Rebalance Recommendation', detail: { 'instance-id': 'i-1234567890abcdef0' } }), 'rebalance-recommendation'],
    ['an event id that is no key', body({ id: 'a:b*c', 'detail-type': 'EC2 Instance Rebalance Recommendation', detail: { 'instance-id': 'i-1234567890abcdef0' } }), 'rebalance-recommendation'],
  ])('refuses %s, naming its kind where it can', (_name, raw, kind) => {
    const r = parseSpotEvent(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.kind).toBe(kind);
  });
});
