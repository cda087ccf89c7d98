/** The `history` answer: the last operations with requester, approver, outcome and duration. */
import { formatDuration } from '../domain/progress';
import { escapeMrkdwn, section } from '../adapters/slack/blocks';
import type { AuditLog, HistoryItem } from '../store/audit-log';
import type { Answer } from './service';

const ICON: Record<string, string> = {
  succeeded: ':white_check_mark:', failed: ':x:', cancelled: ':octagonal_sign:', rejected: ':no_entry:',
  expired: ':alarm_clock:', dry_run: ':mag:', requested: ':hourglass:', approved: ':hourglass:', started: ':gear:',
};

export function historyLine(item: HistoryItem): string {
  const parts = [
    `${ICON[item.outcome] ?? ''} \`${item.operationId}\` \`${item.verb}\` *${escapeMrkdwn(item.env)}*`,
    item.outcome.replace('_', ' '),
    item.requesterId === undefined ? undefined : `by <@${item.requesterId}>`,
    item.approverId === undefined ? undefined : `${item.outcome === 'rejected' ? 'rejected' : 'approved'} by <@${item.approverId}>`,
    item.startedAt !== undefined && item.finishedAt !== undefined ? `took ${formatDuration(item.finishedAt - item.startedAt)}` : undefined,
    item.requestedAt === undefined ? undefined : `<!date^${Math.floor(item.requestedAt / 1000)}^{date_short_pretty} {time}|${new Date(item.requestedAt).toISOString()}>`,
  ];
  const reason = item.reason !== undefined && item.outcome !== 'succeeded' ? ` — ${item.reason}` : '';
  return `${parts.filter((p) => p !== undefined).join(' · ')}${reason}`;
}

export async function historyAnswer(audit: AuditLog, env: string | undefined, limit = 15): Promise<Answer> {
  const items = await audit.history(limit, env);
  const title = `*Recent operations${env === undefined ? '' : ` on ${escapeMrkdwn(env)}`}*`;
  if (items.length === 0) return { text: `${title}\nNone yet.`, blocks: [section(`${title}\nNone yet.`)] };
  const text = `${title}\n${items.map(historyLine).join('\n')}`;
  return { text, blocks: [section(text)] };
}
