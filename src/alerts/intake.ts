/**
 * One SQS message in: parse, resolve the instance, record. The verdict tells the consumer whether
 * the message may be deleted: only once the event is in Redis (or can never be: malformed,
 * foreign, irrelevant). Everything that can fail for a while (Redis, EC2) throws instead, and the
 * message comes back after its visibility timeout.
 *
 * Slack is not touched here: the flusher posts from what was recorded, so a crash between
 * recording and posting loses nothing (the due entry stays in Redis for any replica).
 */
import type { Logger } from 'pino';
import type { FleetConfig } from '../config/fleet-schema';
import type { AlertStore, InstanceFacts } from './alert-store';
import { parseSpotEvent, type SpotEvent, type SpotEventKind } from './events';
import type { InstanceResolver } from './instance-resolver';
import { isRelevantState } from './policy';
import type { MessageVerdict, QueueMessage } from './queue-consumer';

export type IntakeOutcome = 'duplicate' | 'foreign' | 'malformed' | 'ignored';

export interface IntakeDeps {
  store: AlertStore;
  resolver: InstanceResolver;
  fleet: () => FleetConfig;
  log: Logger;
  now: () => number;
  /** Replies wait this long for events that may still arrive out of order. */
  settleMs: number;
  count: (kind: SpotEventKind | 'unknown', outcome: IntakeOutcome) => void;
}

async function factsFor(deps: IntakeDeps, event: SpotEvent): Promise<{ facts: InstanceFacts; hasThread: boolean } | { foreign: string }> {
  const earlier = await deps.store.knownFacts(event.instanceId);
  if (earlier !== undefined) return earlier;
  const res = await deps.resolver.resolve(event);
  if (res.kind === 'foreign') return { foreign: res.reason };
  const fleet = deps.fleet();
  const channel = res.kind === 'known' ? fleet.environments[res.envName]?.channel ?? fleet.alerts.channel : fleet.alerts.channel;
  if (res.kind === 'unknown-env' && channel === undefined) return { foreign: `tagged with environment ${res.envName}, which the fleet file does not know, and alerts.channel is not set` };
  const i = res.instance;
  return {
    hasThread: false,
    facts: {
      envName: res.envName, known: res.kind === 'known', channel: channel ?? '', role: i.role, managerId: i.managerId,
      type: i.type, az: i.az, name: i.name, privateIp: i.privateIp, region: event.region, account: event.account,
    },
  };
}

export async function handleMessage(deps: IntakeDeps, msg: QueueMessage): Promise<MessageVerdict> {
  const parsed = parseSpotEvent(msg.body);
  if (!parsed.ok) {
    deps.count(parsed.kind, 'malformed');
    deps.log.warn({ messageId: msg.messageId, reason: parsed.reason, kind: parsed.kind }, 'malformed Spot event deleted');
    return 'delete';
  }
  const event = parsed.event;
  const log = deps.log.child({ eventId: event.id, instanceId: event.instanceId, kind: event.kind });
  if (event.kind === 'state-change' && !isRelevantState(event.state)) {
    deps.count(event.kind, 'ignored');
    return 'delete';
  }
  const found = await factsFor(deps, event);
  if ('foreign' in found) {
    deps.count(event.kind, 'foreign');
    log.info({ reason: found.foreign }, 'event for an instance that is not runner-ops\'s ignored');
    return 'delete';
  }
  const now = deps.now();
  // The first event of an instance is posted at once (its thread root); later ones wait briefly,
  // so events that arrive out of order can still be posted in order.
  const recorded = await deps.store.record(event, found.facts, { now, dueAt: now + (found.hasThread ? deps.settleMs : 0) });
  if (!recorded) {
    deps.count(event.kind, 'duplicate');
    log.debug({ receiveCount: msg.receiveCount }, 'duplicate Spot event deleted');
    return 'delete';
  }
  // Counted again when the flusher posts it (posted, summarized or quiet).
  log.info({ env: found.facts.envName, role: found.facts.role }, 'Spot event recorded');
  return 'delete';
}
