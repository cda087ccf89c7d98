/**
 * The thread root of a changing operation (CONTRACT §4 "Threads", "Approvals"): operation id,
 * verb, environment, requester and a live status line; while awaiting approval, the plan summary
 * and the Approve/Reject buttons. Pure: state in, message body out.
 *
 * Text contract of RootState:
 * - `planSummary` is **mrkdwn supplied by the caller**, not escaped here (it carries formatting
 *   and mentions). The caller escapes anything external inside it with `escapeMrkdwn`.
 * - `reason`, `step.name`, `verb`, `env`, `waitingFor` are plain text: escaped (and `reason`
 *   redacted) here.
 * - `requesterId` / `approval.byUserId` are Slack user ids, rendered as `<@U…>` mentions.
 */
import { redact } from '../../domain/redact';
import { formatDuration, progressBar } from '../../domain/progress';
import {
  actions, button, capBlocks, context, escapeMrkdwn, fallbackText, section, slackDate,
  type Block, type MessageBody,
} from './blocks';

export const APPROVE_ACTION_ID = 'runner_approve';
export const REJECT_ACTION_ID = 'runner_reject';
/** Stable block ids, so listeners and tests can find the parts. */
export const ROOT_BLOCK_IDS = {
  head: 'runner_root_head',
  status: 'runner_root_status',
  plan: 'runner_root_plan',
  decision: 'runner_root_decision',
  approval: 'runner_approval',
} as const;

export type RootPhase =
  | 'awaiting_approval'
  | 'rejected'
  | 'expired'
  | 'queued'
  | 'waiting'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'cancelled';

export interface RootStep {
  /** 1-based position of the step being run (or last run). */
  index: number;
  total: number;
  name: string;
}

export interface RootState {
  operationId: string;
  verb: string;
  env: string;
  requesterId: string;
  phase: RootPhase;
  /** Operation id this one waits for (phase `waiting`). */
  waitingFor?: string;
  /** Mrkdwn from the caller (see the module comment). */
  planSummary?: string;
  step?: RootStep;
  /** Steps completed; defaults to `step.index - 1` while running, all of them on success. */
  stepsDone?: number;
  approval?: { decision: 'approved' | 'rejected'; byUserId: string; at: Date };
  expiresAt?: Date;
  /** Plain text: why it failed, was cancelled, or cannot run. */
  reason?: string;
  /** Total run time, shown once finished. */
  durationMs?: number;
  /** Marks dry-run roots (not used by the bot today: dry runs answer ephemerally). */
  dryRun?: boolean;
}

const PHASE_LABEL: Record<RootPhase, string> = {
  awaiting_approval: ':hourglass_flowing_sand: *Awaiting approval*',
  rejected: ':no_entry: *Rejected*',
  expired: ':alarm_clock: *Approval request expired*',
  queued: ':inbox_tray: *Queued*',
  waiting: ':double_vertical_bar: *Waiting*',
  running: ':arrows_counterclockwise: *Running*',
  succeeded: ':white_check_mark: *Succeeded*',
  failed: ':x: *Failed*',
  cancelled: ':octagonal_sign: *Cancelled*',
};

/** Plain text from outside: redacted, escaped, on one line. */
function plainLine(text: string): string {
  return escapeMrkdwn(redact(text)).replace(/\s*\n\s*/g, ' ').trim();
}

function stepText(step: RootStep): string {
  return `step ${step.index}/${step.total}: ${plainLine(step.name)}`;
}

function statusLine(s: RootState): string {
  const parts = [PHASE_LABEL[s.phase]];
  switch (s.phase) {
    case 'awaiting_approval':
      if (s.expiresAt !== undefined) parts.push(`expires ${slackDate(s.expiresAt, '{time}')}`);
      break;
    case 'waiting':
      parts.push(s.waitingFor !== undefined
        ? `for \`${plainLine(s.waitingFor)}\` to finish on *${plainLine(s.env)}*`
        : `for another operation on *${plainLine(s.env)}*`);
      break;
    case 'running':
      if (s.step !== undefined) {
        parts.push(progressBar(s.stepsDone ?? s.step.index - 1, s.step.total), stepText(s.step));
      }
      break;
    case 'succeeded':
      if (s.step !== undefined) parts.push(progressBar(s.stepsDone ?? s.step.total, s.step.total));
      break;
    case 'failed':
    case 'cancelled':
      if (s.step !== undefined) {
        parts.push(progressBar(s.stepsDone ?? s.step.index - 1, s.step.total), `at ${stepText(s.step)}`);
      }
      break;
    default:
      break;
  }
  if (s.durationMs !== undefined && ['succeeded', 'failed', 'cancelled'].includes(s.phase)) {
    parts.push(`after ${formatDuration(s.durationMs)}`);
  }
  let line = parts.join(' · ');
  if (s.reason !== undefined && s.reason.trim() !== '') line += `\n> ${plainLine(s.reason)}`;
  return line;
}

function decisionLine(s: RootState): string | undefined {
  if (s.approval !== undefined) {
    const verb = s.approval.decision === 'approved' ? ':white_check_mark: Approved' : ':no_entry: Rejected';
    return `${verb} by <@${s.approval.byUserId}> ${slackDate(s.approval.at)}`;
  }
  if (s.phase === 'expired') return ':alarm_clock: Nobody decided in time; a new request is needed.';
  return undefined;
}

/** The thread root for `state`: fallback text and blocks (buttons only while awaiting approval). */
export function renderRoot(state: RootState): MessageBody {
  const verb = plainLine(state.verb);
  const env = plainLine(state.env);
  const opId = plainLine(state.operationId);
  const head = `*${verb}* on *${env}* · \`${opId}\`${state.dryRun === true ? ' · _dry run_' : ''}\nRequested by <@${state.requesterId}>`;
  const blocks: Block[] = [section(head, ROOT_BLOCK_IDS.head), section(statusLine(state), ROOT_BLOCK_IDS.status)];
  if (state.planSummary !== undefined && state.planSummary.trim() !== '') {
    blocks.push(section(state.planSummary, ROOT_BLOCK_IDS.plan));
  }
  const decision = decisionLine(state);
  if (decision !== undefined) blocks.push(context([decision], ROOT_BLOCK_IDS.decision));
  if (state.phase === 'awaiting_approval') {
    blocks.push(actions([
      button(APPROVE_ACTION_ID, 'Approve', state.operationId, 'primary'),
      button(REJECT_ACTION_ID, 'Reject', state.operationId, 'danger'),
    ], ROOT_BLOCK_IDS.approval));
  }
  const label = PHASE_LABEL[state.phase].replace(/:[a-z_]+: /, '').replace(/\*/g, '').toLowerCase();
  const text = fallbackText(`${verb} ${env} (${opId}) by <@${state.requesterId}>: ${label}`);
  return { text, blocks: capBlocks(blocks) };
}
