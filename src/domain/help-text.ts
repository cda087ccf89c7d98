/**
 * The `/runner help` answer (CONTRACT §4): one line of Slack mrkdwn per verb, then the
 * environments this person may start changes on. Sent as an ephemeral answer.
 */
import { escapeMrkdwn, USAGE, VERBS, type Verb } from './command';

export interface HelpEnvironment {
  name: string;
  /** Whether this person may request changing verbs here (policy.canRequest). */
  mayRequest: boolean;
  /** Whether changing verbs here need approval (destroy always does). */
  approvalRequired: boolean;
}

/** Verb usage without `[--dry-run]`, which the help explains once. */
const LINES: Readonly<Record<Verb, string>> = {
  help: 'this message',
  status: 'manager, SSM ping, runners in GitLab (last contact, token expiry), workers, open operations, Spot events, stale runners',
  history: 'the last operations with requester, approver, outcome and duration',
  bootstrap: 'launch the manager if absent, then configure it to match the fleet file',
  rotate: 'blue/green replacement of the manager, with a new runner token',
  reregister: 'new runner token applied on the manager; the old runner is removed once the new one is online',
  'verify-ecr': "prove ECR pulls on a fresh worker (manager, worker, job container, Docker-in-Docker), then terminate it",
  destroy: 'remove everything the bot made for the environment (always needs approval by someone else)',
  cancel: 'cancel a pending or running operation (its requester or an approver)',
};

const code = (s: string): string => `\`${escapeMrkdwn(s)}\``;

export function helpText(input: { environments: readonly HelpEnvironment[] }): string {
  const lines = ['*`/runner` — run the GitLab Runner fleet*'];
  for (const verb of VERBS) lines.push(`• ${code(USAGE[verb].replace(' [--dry-run]', ''))} — ${LINES[verb]}`);
  lines.push('Add `--dry-run` to bootstrap, rotate, reregister, verify-ecr or destroy to see the plan without changing anything.');

  const byName = [...input.environments].sort((a, b) => a.name.localeCompare(b.name));
  const mine = byName.filter((e) => e.mayRequest);
  const others = byName.filter((e) => !e.mayRequest);
  if (mine.length === 0) {
    lines.push('*Environments you may change:* none.');
  } else {
    const names = mine.map((e) => `${code(e.name)}${e.approvalRequired ? ' (needs approval)' : ''}`);
    lines.push(`*Environments you may change:* ${names.join(', ')}`);
  }
  if (others.length > 0) lines.push(`Not open to you for changes: ${others.map((e) => code(e.name)).join(', ')}`);
  return lines.join('\n');
}
