/**
 * Alert threads: one per instance, in event order whatever the arrival order; the critical manager
 * alert with its buttons; a storm folded into one summary that is edited in place.
 */
import { SlackFake, type SlackCall } from '../fakes/slack-fake';
import { SpotWorld, eventBody } from '../fakes/spot-world';
import { count, rootTs, startAlertsWorld, type AlertsWorld } from './alerts-harness';

const T0 = new Date('2026-11-27T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

/** The positions of `needles` in a text (-1 when absent). */
function order(text: string, needles: string[]): number[] {
  return needles.map((n) => text.indexOf(n));
}

/** Replies about events (not the affected-jobs reply). */
function eventReplies(world: AlertsWorld, ts: string): SlackCall[] {
  return world.repliesTo(ts).filter((c) => !SlackFake.textOf(c).includes('Affected CI jobs'));
}

function lastText(calls: SlackCall[]): string {
  const last = calls.at(-1);
  return last === undefined ? '' : SlackFake.textOf(last);
}

describe('Spot alert threads', () => {
  const ec2 = new SpotWorld();
  let world: AlertsWorld;

  afterEach(async () => { await world.stop(); ec2.reset(); });
  afterAll(() => { ec2.restore(); });

  it('keeps out-of-order events of one instance in one thread, in event order', async () => {
    world = await startAlertsWorld('alerts-order', ec2);
    world.start();
    const a = ec2.add();
    // A worker's state changes alone open nothing (Docker Machine scales down all the time)…
    world.send(eventBody('state', a.id, { state: 'terminated', at: at(130) }));
    await world.drained();
    world.send(eventBody('state', a.id, { state: 'shutting-down', at: at(125) }));
    await world.drained();
    expect(world.roots()).toHaveLength(0);
    expect(count(world, 'state-change/quiet')).toBe(2);
    // …until the notice arrives: the root's timeline then holds all three, in event order.
    world.send(eventBody('interruption', a.id, { at: at(5) }));
    await world.drained();
    expect(world.roots()).toHaveLength(1);
    const ts = rootTs(world, a.id) ?? '';
    const rootText = SlackFake.textOf(world.roots()[0] as SlackCall);
    const [w, sd, t] = order(rootText, ['interruption warning', 'shutting-down', 'state: *terminated*']);
    expect(w).toBeGreaterThan(-1);
    expect(sd).toBeGreaterThan(w as number);
    expect(t).toBeGreaterThan(sd as number);
    // The rebalance that happened first arrives last: a reply marked late, and the edited root
    // puts it first.
    world.send(eventBody('rebalance', a.id, { at: at(0) }));
    await world.drained();
    expect(eventReplies(world, ts)).toHaveLength(1);
    expect(lastText(eventReplies(world, ts))).toContain('Arrived late');
    expect(lastText(world.repliesTo(ts).slice(0, 1))).toContain('GITLAB_TOKEN is not set'); // says what it could not show
    const edited = lastText(world.updatesOf(ts));
    const [r, w2] = order(edited, ['rebalance recommendation', 'interruption warning']);
    expect(r).toBeGreaterThan(-1);
    expect(w2).toBeGreaterThan(r as number);

    // Replies that arrive out of order within the settle window are posted in event order.
    const b = ec2.add();
    world.send(eventBody('interruption', b.id, { at: at(0) }));
    await world.drained();
    const tsB = rootTs(world, b.id) ?? '';
    world.send(eventBody('state', b.id, { state: 'terminated', at: at(125) }));
    world.send(eventBody('state', b.id, { state: 'shutting-down', at: at(120) }));
    await world.drained();
    const replies = eventReplies(world, tsB).map((c) => SlackFake.textOf(c));
    expect(replies).toHaveLength(2);
    expect(replies[0]).toContain('shutting-down');
    expect(replies[1]).toContain('terminated');
    expect(replies.join('')).not.toContain('Arrived late');
    expect(world.roots()).toHaveLength(2);
  });

  it('makes a stopping manager a critical alert with rotate and acknowledge buttons', async () => {
    world = await startAlertsWorld('alerts-critical', ec2);
    const expected = new Set<string>();
    world.start({ expected: async (_env, id) => (expected.has(id) ? 'op-rot4te' : undefined) });
    const manager = ec2.add({ role: 'manager', type: 't4g.micro' });
    const replaced = ec2.add({ role: 'manager', type: 't4g.micro' });
    expected.add(replaced.id);
    world.send(eventBody('state', manager.id, { state: 'stopping' }));
    world.send(eventBody('state', replaced.id, { state: 'shutting-down' })); // a rotate is replacing it: not an alert
    await world.drained();

    expect(world.roots()).toHaveLength(1);
    const root = world.roots()[0] as SlackCall;
    expect(root.args.channel).toBe('C0PROD');
    const text = SlackFake.textOf(root);
    expect(text).toContain(`Critical: manager \`${manager.id}\``);
    expect(text).toContain('stopping');
    const blocks = root.args.blocks as Array<{ type: string; elements?: Array<{ action_id: string; value: string }> }>;
    const buttons = blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements ?? []);
    expect(buttons.map((b) => [b.action_id, b.value])).toEqual([['runner_rotate_manager', 'prod'], ['runner_ack_alert', manager.id]]);
    expect(count(world, 'state-change/quiet')).toBe(1);
  });

  it('folds 50 interruptions in one environment into one summary thread, edited in place', async () => {
    world = await startAlertsWorld('alerts-storm', ec2, { storm: { threshold: 5, windowSeconds: 120 } });
    world.start();
    const workers = Array.from({ length: 50 }, (_, i) => ec2.add({ type: i % 5 === 0 ? 'c7g.medium' : 'c8g.medium', az: i % 2 === 0 ? 'eu-central-1a' : 'eu-central-1b' }));
    for (const [i, w] of workers.entries()) world.send(eventBody('interruption', w.id, { at: at(i) }));
    await world.drained();

    const summaries = world.roots().filter((c) => SlackFake.textOf(c).includes('Spot interruption storm in prod'));
    expect(summaries).toHaveLength(1);
    const ts = world.slack.tsOfCall(summaries[0] as SlackCall) ?? '';
    const own = world.roots().length - 1;
    expect(own).toBeLessThanOrEqual(5);
    const updates = world.updatesOf(ts);
    expect(updates.length).toBeGreaterThanOrEqual(1);
    expect(updates.length).toBeLessThan(20); // coalesced: far fewer edits than instances
    const final = lastText(updates);
    expect(final).toContain('50 instances interrupted');
    expect(final).toContain('c8g.medium 40');
    expect(final).toContain('c7g.medium 10');
    expect(final).toContain('eu-central-1a 25');
    expect(count(world, 'interruption-warning/posted') + count(world, 'interruption-warning/summarized')).toBe(50);

    // Later events of stormed instances only move the summary on.
    const before = updates.length;
    for (const w of workers.slice(10, 30)) world.send(eventBody('state', w.id, { state: 'terminated', at: at(200) }));
    await world.drained();
    expect(world.roots()).toHaveLength(own + 1);
    expect(world.updatesOf(ts).length).toBeGreaterThan(before);
    expect(lastText(world.updatesOf(ts))).toContain('terminated 20');
  });
});
