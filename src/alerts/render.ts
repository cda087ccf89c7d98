/**
 * Alert messages as Block Kit: an instance thread's root and replies, and an environment's storm
 * summary. Everything from outside (ids, tags, states) is escaped; the root is re-rendered from
 * the recorded state on every change, so an edit always shows the whole truth (timeline in event
 * order, acknowledgement, buttons).
 *
 * Buttons (CONTRACT §4): `runner_rotate_manager` (value: the environment) starts `rotate` under the
 * environment's normal rules; `runner_ack_alert` (value: the alert key, the instance id).
 */
import {
  actions, button, confirmDialog, context, escapeMrkdwn, fallbackText, mrkdwn, section, slackDate, truncateSection,
  type Block, type MessageBody, type SectionBlock,
} from '../adapters/slack/blocks';
import type { InstanceState, MemberSummary } from './alert-store';
import { deadlineOf, latestWarning, phaseOf, sortEvents, type StoredEvent } from './policy';

export const ROTATE_MANAGER_ACTION_ID = 'runner_rotate_manager';
export const ACK_ALERT_ACTION_ID = 'runner_ack_alert';

const MAX_TIMELINE = 20;

const code = (s: string): string => `\`${escapeMrkdwn(s)}\``;
const when = (ms: number): string => slackDate(new Date(ms), '{date_short_pretty} {time_secs}');

export function eventText(e: Pick<StoredEvent, 'kind' | 'action' | 'state'>): string {
  switch (e.kind) {
    case 'rebalance-recommendation': return 'rebalance recommendation';
    case 'interruption-warning': return `interruption warning (${escapeMrkdwn(e.action ?? 'terminate')})`;
    case 'state-change': return `state: *${escapeMrkdwn(e.state ?? 'unknown')}*`;
  }
}

const ACTION_VERB: Record<string, string> = { terminate: 'terminated', stop: 'stopped', hibernate: 'hibernated' };

function headline(s: InstanceState): string {
  const env = s.known ? `*${escapeMrkdwn(s.envName)}*` : `*${escapeMrkdwn(s.envName)}* (not in the fleet file)`;
  const role = escapeMrkdwn(s.role ?? 'instance');
  const phase = phaseOf(s.events);
  if (s.critical) {
    const what = phase === 'warned' ? 'about to be interrupted' : phase === 'rebalance' ? 'at risk of interruption' : escapeMrkdwn(phase ?? 'going away');
    return `:rotating_light: *Critical: manager ${code(s.instanceId)} of ${env} is ${what}.* `
      + 'New CI jobs are not picked up until it is back or replaced; rotating starts a new manager.';
  }
  const warning = latestWarning(s.events);
  if (warning !== undefined) {
    return `:warning: *Spot interruption*: ${role} ${code(s.instanceId)} of ${env} will be ${ACTION_VERB[warning.action ?? ''] ?? escapeMrkdwn(warning.action ?? 'interrupted')}.`;
  }
  if (s.events.some((e) => e.kind === 'rebalance-recommendation')) {
    return `:large_yellow_circle: *Spot rebalance recommendation*: ${role} ${code(s.instanceId)} of ${env} is at elevated risk of interruption.`;
  }
  return `:information_source: ${role} ${code(s.instanceId)} of ${env}: ${escapeMrkdwn(phase ?? 'state change')}.`;
}

function facts(s: InstanceState): SectionBlock {
  const warning = latestWarning(s.events);
  const deadline = deadlineOf(s.events);
  const fields = [
    `*Instance*\n${code(s.instanceId)}${s.name !== undefined ? ` (${escapeMrkdwn(s.name)})` : ''}`,
    `*Type*\n${escapeMrkdwn(s.type ?? 'unknown')}`,
    `*Availability Zone*\n${escapeMrkdwn(s.az ?? 'unknown')}`,
    `*Role*\n${escapeMrkdwn(s.role ?? 'unknown')}`,
    `*Manager*\n${s.role === 'manager' ? 'itself' : s.managerId !== undefined ? code(s.managerId) : 'unknown'}`,
    `*Action*\n${warning !== undefined ? escapeMrkdwn(warning.action ?? 'terminate') : escapeMrkdwn(phaseOf(s.events) ?? 'none yet')}`,
    `*Deadline*\n${deadline !== undefined ? `${slackDate(deadline, '{time_secs}')} (2 min after the warning)` : 'none announced'}`,
  ];
  return { type: 'section', fields: fields.map((f) => mrkdwn(truncateSection(f, 2000))) };
}

function timeline(events: readonly StoredEvent[]): string {
  const sorted = sortEvents(events);
  const shown = sorted.slice(-MAX_TIMELINE);
  const lines = shown.map((e) => `• ${when(e.time)} ${eventText(e)}`);
  if (sorted.length > shown.length) lines.unshift(`_…${sorted.length - shown.length} earlier_`);
  return `*Timeline* (event time)\n${lines.join('\n')}`;
}

/** The thread root for one instance, from its recorded state. */
export function renderRoot(s: InstanceState): MessageBody {
  const head = headline(s);
  const blocks: Block[] = [section(head), facts(s), section(truncateSection(timeline(s.events)))];
  const notes: string[] = [];
  if (s.expectedBy !== undefined) notes.push(`Expected: operation ${code(s.expectedBy)} is changing this manager.`);
  if (s.ackBy !== undefined) notes.push(`:white_check_mark: Acknowledged by <@${escapeMrkdwn(s.ackBy)}>${s.ackAt !== undefined ? ` ${when(s.ackAt)}` : ''}`);
  if (notes.length > 0) blocks.push(context(notes));
  if (s.critical) {
    const buttons = [];
    if (s.known) {
      const rotate = button(ROTATE_MANAGER_ACTION_ID, 'Rotate manager', s.envName, 'danger');
      rotate.confirm = confirmDialog(
        `Rotate the manager of ${s.envName}?`,
        `Starts \`rotate ${escapeMrkdwn(s.envName)}\`: a new manager, a new runner token, the old one drained and removed. Where the environment requires approval, this posts an approval request first.`,
        'Rotate',
      );
      buttons.push(rotate);
    }
    if (s.ackBy === undefined) buttons.push(button(ACK_ALERT_ACTION_ID, 'Acknowledge', s.instanceId));
    if (buttons.length > 0) blocks.push(actions(buttons, 'runner_alert_actions'));
  }
  return { text: fallbackText(head.replace(/\*/g, '')), blocks };
}

/** One event as a thread reply. */
export function renderReply(e: StoredEvent, late: boolean): string {
  const icon = e.kind === 'rebalance-recommendation' ? ':large_yellow_circle:' : e.kind === 'interruption-warning' ? ':red_circle:' : ':black_square_for_stop:';
  let text = `${icon} ${when(e.time)} ${eventText(e)}`;
  if (e.kind === 'interruption-warning') text += `: EC2 acts at about ${slackDate(new Date(e.time + 120_000), '{time_secs}')}`;
  if (e.kind === 'rebalance-recommendation') text += ': EC2 says this Spot instance is at elevated risk of interruption';
  if (late) text += '\n_Arrived late: it happened before the reply above; the timeline in the first message has the order._';
  return text;
}

export interface StormView {
  envName: string;
  known: boolean;
  startedAt: number;
  now: number;
  windowSeconds: number;
  threshold: number;
  members: readonly MemberSummary[];
}

function counts(values: readonly (string | undefined)[]): string {
  const m = new Map<string, number>();
  for (const v of values) m.set(v ?? 'unknown', (m.get(v ?? 'unknown') ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, n]) => `${escapeMrkdwn(k)} ${n}`).join(' · ');
}

/** The storm summary of one environment (kept up to date in place). */
export function renderStorm(v: StormView): MessageBody {
  const n = v.members.length;
  const head = `:rotating_light: *Spot interruption storm in ${escapeMrkdwn(v.envName)}*: ${n} instance${n === 1 ? '' : 's'} interrupted since ${when(v.startedAt)}.`;
  const own = v.members.filter((m) => m.hasThread).length;
  const blocks: Block[] = [
    section(`${head}\nMore than ${v.threshold} interruptions within ${v.windowSeconds} s: instead of a thread per instance, this message is kept up to date.`),
    section(truncateSection(`*By instance type*: ${counts(v.members.map((m) => m.type))}\n*By Availability Zone*: ${counts(v.members.map((m) => m.az))}\n*Latest state*: ${counts(v.members.map((m) => m.phase))}`)),
    context([`${own > 0 ? `${own} of them ${own === 1 ? 'has its' : 'have their'} own thread. ` : ''}Updated ${when(v.now)}.${v.known ? '' : ' This environment is not in the fleet file.'}`]),
  ];
  return { text: fallbackText(head.replace(/\*/g, '')), blocks };
}
