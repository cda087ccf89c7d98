/**
 * The Spot alert intake end to end: a local SQS over HTTP (the real SQSClient, MD5 checks
 * included), EC2 through aws-sdk-client-mock, Slack over HTTP, real Redis. At-least-once in,
 * exactly-once out: duplicates, replicas, crashes and garbage never produce a second alert, and
 * the loop never stops.
 */
import { randomUUID } from 'node:crypto';
import { SlackFake } from '../fakes/slack-fake';
import { SpotWorld, eventBody } from '../fakes/spot-world';
import { AlertStore } from '../../src/alerts/alert-store';
import { parseSpotEvent } from '../../src/alerts/events';
import { count, rootTs, startAlertsWorld, waitUntil, type AlertsWorld } from './alerts-harness';

describe('Spot alert consumer', () => {
  const ec2 = new SpotWorld();
  let world: AlertsWorld;

  afterEach(async () => { await world.stop(); ec2.reset(); });
  afterAll(() => { ec2.restore(); });

  it('posts one alert per event for duplicate deliveries to two consumers on one Redis', async () => {
    world = await startAlertsWorld('alerts-dupes', ec2, { storm: { threshold: 20 } });
    const instances = Array.from({ length: 6 }, () => ec2.add());
    // Both replicas long-poll before anything arrives; the first receives hand the same messages
    // to both (as SQS may), and every event is also delivered twice as separate messages.
    world.start();
    world.start();
    world.sqs.skipHide(2);
    for (const i of instances) {
      const id = randomUUID();
      world.send(eventBody('interruption', i.id, { id }));
      world.send(eventBody('interruption', i.id, { id }));
    }
    await world.drained();

    expect(world.roots()).toHaveLength(instances.length);
    for (const i of instances) {
      expect(world.roots().filter((c) => SlackFake.textOf(c).includes(i.id))).toHaveLength(1);
    }
    expect(count(world, 'interruption-warning/posted')).toBe(instances.length);
    expect(count(world, 'interruption-warning/duplicate')).toBeGreaterThanOrEqual(instances.length);
    // Lookups of one receive go out together: far fewer DescribeInstances than events.
    expect(ec2.describeCalls).toBeLessThan(instances.length);
  });

  it('posts nothing new for a message redelivered after a crash between recording and deleting', async () => {
    world = await startAlertsWorld('alerts-crash', ec2, { visibilityMs: 300 });
    const a = ec2.add();
    const b = ec2.add();
    // 1. The delete fails for good (the SDK's three attempts), as if the process died after
    //    recording: SQS hands the message out again after its visibility timeout.
    world.sqs.fail('DeleteMessageBatch', 3);
    world.start();
    const first = world.sqs.send(world.queueUrl, eventBody('interruption', a.id));
    await waitUntil(() => first.deleted, 10_000, 'the redelivered message to be deleted');
    expect(first.receiveCount).toBe(2);

    // 2. A replica recorded an event and died before deleting or posting: a fresh replica gets
    //    the message again, posts the recorded alert once, and the duplicate adds nothing.
    const body = eventBody('interruption', b.id);
    const parsed = parseSpotEvent(body);
    if (!parsed.ok) throw new Error(parsed.reason);
    await new AlertStore(world.redis, world.prefix).record(parsed.event, {
      envName: 'prod', known: true, channel: 'C0PROD', role: 'worker', type: 'c8g.medium', az: 'eu-central-1a', region: 'eu-central-1', account: '123456789012',
    }, { now: Date.now(), dueAt: Date.now() });
    world.send(body);
    await world.drained();

    expect(world.roots().filter((c) => SlackFake.textOf(c).includes(a.id))).toHaveLength(1);
    expect(world.roots().filter((c) => SlackFake.textOf(c).includes(b.id))).toHaveLength(1);
    expect(count(world, 'interruption-warning/duplicate')).toBe(2);
  });

  it('counts, deletes and does not post malformed bodies and foreign instances; the loop stays alive', async () => {
    world = await startAlertsWorld('alerts-garbage', ec2, { visibilityMs: 200 });
    const foreign = ec2.add({ foreign: true });
    const mine = ec2.add();
    const errors: string[] = [];
    world.start({ onQueueError: (stage) => errors.push(stage) });
    world.sqs.corruptMd5(1); // the SDK rejects the first receive that carries a message: it comes back later
    world.send('not json at all');
    world.send('{}');
    world.send(JSON.stringify({ 'detail-type': 'EC2 Spot Instance Interruption Warning', source: 'aws.ec2', id: 'x', detail: {} }));
    world.send(eventBody('interruption', 'i-nothex'));
    world.send(eventBody('interruption', foreign.id));
    world.send(eventBody('interruption', 'i-0123456789abcdef0')); // unknown to EC2
    world.send(eventBody('rebalance', mine.id, { region: 'ap-southeast-2' })); // no environment there
    world.send(eventBody('state', mine.id, { state: 'running' })); // not an alert at all
    await world.drained();
    expect(world.roots()).toHaveLength(0);

    world.send(eventBody('interruption', mine.id));
    await world.drained();

    expect(world.roots()).toHaveLength(1);
    expect(rootTs(world, mine.id)).toBeDefined();
    expect(count(world, 'unknown/malformed')).toBe(2);
    expect(count(world, 'interruption-warning/malformed')).toBe(2);
    expect(count(world, 'interruption-warning/foreign')).toBe(2);
    expect(count(world, 'rebalance-recommendation/foreign')).toBe(1);
    expect(count(world, 'state-change/ignored')).toBe(1);
    expect(errors).toContain('receive'); // the MD5 mismatch, survived
    expect(world.sqs.remaining(world.queueUrl)).toHaveLength(0);
  });

  it('stops promptly while a long poll is waiting', async () => {
    world = await startAlertsWorld('alerts-stop', ec2);
    const replica = world.start();
    await waitUntil(() => (world.sqs.calls.get('ReceiveMessage') ?? 0) > 0, 5_000, 'a long poll');
    const t0 = Date.now();
    await replica.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
