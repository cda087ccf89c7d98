/**
 * The status report as a Slack answer (Block Kit). Everything that comes from outside (GitLab
 * descriptions and tags, AWS values, error messages, operation fields) is escaped; lists are cut
 * line by line to Slack's 3,000 characters per section; the message stays within 50 blocks.
 */
import {
  MAX_SECTION_TEXT, actions, button, capBlocks, confirmDialog, context, escapeMrkdwn, fallbackText, header, section, slackDate, type Block,
} from '../../adapters/slack/blocks';
import type { RunnerReport, SourceResult, StatusReport } from './types';

export type SlackBlock = Block;

/**
 * The button under the stale runners: starts the stale-runner clean-up (`remove-stale`) under the
 * environment's approval rules. Its value is the environment name.
 */
export const REMOVE_STALE_ACTION_ID = 'runner_remove_stale';

const SLACK_USER_ID = /^[UW][A-Z0-9]{2,20}$/;

function ago(at: Date, now: Date): string {
  const s = Math.round((now.getTime() - at.getTime()) / 1000);
  if (s < 0) return 'in the future';
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

function user(id: string): string {
  return SLACK_USER_ID.test(id) ? `<@${id}>` : escapeMrkdwn(id);
}

/** Lines under a bold title, cut to fit one section: `…and N more` replaces what does not fit. */
export function linesSection(title: string, lines: readonly string[], max = MAX_SECTION_TEXT): Block {
  let text = title;
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const reserve = i < lines.length - 1 ? 24 : 0; // room for the "…and N more" line
    if (text.length + 1 + line.length + reserve > max) return section(`${text}\n…and ${lines.length - i} more`);
    text += `\n${line}`;
  }
  return section(text);
}

function notOk(result: Exclude<SourceResult<unknown>, { state: 'ok' }>): string {
  return result.state === 'failed' ? `:x: ${escapeMrkdwn(result.message)}` : `_skipped: ${escapeMrkdwn(result.reason)}_`;
}

function managerBlock(report: StatusReport): Block {
  const title = '*Manager*';
  if (report.manager.state !== 'ok') return section(`${title}\n${notOk(report.manager)}`);
  const m = report.manager.value;
  if (m === undefined) return section(`${title}\nnone running`);
  const facts = [m.type, m.state, m.az].filter((x): x is string => x !== undefined).map(escapeMrkdwn).join(', ');
  const launched = m.launchTime !== undefined ? `, launched ${slackDate(m.launchTime)}` : '';
  let ssm: string;
  if (report.ssm.state === 'ok') {
    const info = report.ssm.value;
    const icon = info.pingStatus === 'Online' ? ':large_green_circle:' : ':red_circle:';
    const status = info.pingStatus === 'unknown' ? 'not registered' : info.pingStatus;
    const ping = info.lastPingAt !== undefined ? ` (last ping ${ago(info.lastPingAt, report.generatedAt)})` : '';
    const agent = info.agentVersion !== undefined ? `, agent ${escapeMrkdwn(info.agentVersion)}` : '';
    ssm = `SSM: ${icon} ${status}${ping}${agent}`;
  } else {
    ssm = `SSM: ${notOk(report.ssm)}`;
  }
  return section(`${title}\n\`${escapeMrkdwn(m.id)}\` ${facts}, generation ${m.generation}${launched}\n${ssm}`);
}

const STATUS_ICON: Record<string, string> = {
  online: ':large_green_circle:',
  offline: ':red_circle:',
  stale: ':white_circle:',
  never_contacted: ':white_circle:',
  unknown: ':grey_question:',
};

function runnerLine(x: RunnerReport, now: Date): string {
  const r = x.runner;
  const parts = [`${STATUS_ICON[r.status] ?? ''} *#${r.id}* ${r.status.replace('_', ' ')}${r.paused ? ' (paused)' : ''}`];
  parts.push(r.contactedAt !== undefined ? `contacted ${ago(r.contactedAt, now)}` : 'never contacted');
  if (r.tokenExpiresAt !== undefined) {
    parts.push(`${x.tokenExpiringSoon ? ':warning: ' : ''}token expires ${slackDate(r.tokenExpiresAt, '{date_short}')}`);
  }
  if (r.managerId !== undefined) parts.push(`manager \`${escapeMrkdwn(r.managerId)}\``);
  if (r.tags.length > 0) parts.push(`tags ${r.tags.map((t) => `\`${escapeMrkdwn(t)}\``).join(' ')}`);
  if (r.version !== undefined) parts.push(`v${escapeMrkdwn(r.version)}`);
  return `• ${parts.join(' · ')}\n    ${escapeMrkdwn(r.description)}`;
}

function runnerBlocks(report: StatusReport): Block[] {
  if (report.runners.state !== 'ok') return [section(`*Runners in GitLab*\n${notOk(report.runners)}`)];
  const live = report.runners.value.filter((x) => !x.stale);
  const stale = report.runners.value.filter((x) => x.stale);
  const blocks = [live.length === 0
    ? section('*Runners in GitLab*\nnone')
    : linesSection('*Runners in GitLab*', live.map((x) => runnerLine(x, report.generatedAt)))];
  if (stale.length > 0) blocks.push(linesSection(`*Stale runners* (${stale.length})`, stale.map((x) => runnerLine(x, report.generatedAt))));
  const removable = stale.filter((x) => x.removable).length;
  if (removable > 0) blocks.push(removeStaleActions(report.environment, removable));
  return blocks;
}

/** One danger button with an "are you sure?" dialog; clicking it only requests the clean-up. */
function removeStaleActions(envName: string, count: number): Block {
  const env = escapeMrkdwn(envName);
  const remove = button(REMOVE_STALE_ACTION_ID, `Remove ${count} stale runner${count === 1 ? '' : 's'}`, envName, 'danger');
  remove.confirm = confirmDialog(
    'Remove stale runners?',
    `Delete the stale runners of *${env}* in GitLab (never an online one, never the current manager's). `
      + 'Where the environment requires approval, this posts an approval request first; the runners are checked again before each is deleted.',
    'Remove',
    'Cancel',
    'danger',
  );
  return actions([remove], 'runner_stale_actions');
}

function listBlock<T>(title: string, result: SourceResult<T[]>, empty: string, line: (item: T) => string): Block {
  if (result.state !== 'ok') return section(`${title}\n${notOk(result)}`);
  if (result.value.length === 0) return section(`${title}\n${empty}`);
  return linesSection(title, result.value.map(line));
}

function fallback(report: StatusReport): string {
  const bits: string[] = [];
  if (report.manager.state !== 'ok') bits.push('manager: unknown');
  else bits.push(report.manager.value === undefined ? 'no manager' : `manager ${report.manager.value.id} ${report.manager.value.state}`);
  if (report.ssm.state === 'ok') bits.push(`SSM ${report.ssm.value.pingStatus}`);
  if (report.runners.state === 'ok') {
    const online = report.runners.value.filter((x) => x.runner.status === 'online').length;
    bits.push(`${online}/${report.runners.value.length} runners online`);
  } else if (report.runners.state === 'failed') {
    bits.push('GitLab: failed');
  }
  if (report.workers.state === 'ok') bits.push(`${report.workers.value} workers`);
  if (report.warnings.length > 0) bits.push(`${report.warnings.length} warning(s)`);
  return fallbackText(escapeMrkdwn(`Status of ${report.environment}: ${bits.join(', ')}`));
}

export function renderStatusBlocks(report: StatusReport): { text: string; blocks: SlackBlock[] } {
  const now = report.generatedAt;
  const blocks: Block[] = [
    header(`Status: ${report.environment} (${report.region})`),
    context([`As of ${slackDate(now)}`]),
  ];
  if (report.warnings.length > 0) {
    blocks.push(linesSection(':warning: *Warnings*', report.warnings.map((w) => `• ${escapeMrkdwn(w)}`)));
  }
  blocks.push(managerBlock(report));
  blocks.push(...runnerBlocks(report));
  blocks.push(section(`*Workers*\n${report.workers.state === 'ok' ? `${report.workers.value} pending or running` : notOk(report.workers)}`));
  blocks.push(listBlock('*Open operations*', report.operations, 'none', (op) =>
    `• \`${escapeMrkdwn(op.id)}\` ${escapeMrkdwn(op.verb)} · ${escapeMrkdwn(op.state)} · ${user(op.requester)} · ${slackDate(op.createdAt)}`));
  blocks.push(listBlock('*Recent Spot events*', report.spotEvents, 'none', (e) =>
    `• ${slackDate(e.at)} \`${escapeMrkdwn(e.instanceId)}\` ${escapeMrkdwn(e.kind)}${e.detail !== undefined ? ` (${escapeMrkdwn(e.detail)})` : ''}`));
  return { text: fallback(report), blocks: capBlocks(blocks) };
}
