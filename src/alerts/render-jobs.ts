/**
 * The affected-jobs reply in an alert thread. Each job links to GitLab; where the token has the
 * `api` scope each also gets a `runner_retry_job` button whose value is `<projectId>:<jobId>`.
 */
import { actions, button, escapeMrkdwn, fallbackText, section, truncateSection, type Block, type ButtonElement, type MessageBody } from '../adapters/slack/blocks';
import type { AffectedJob, JobsOutcome } from './affected-jobs';

export const RETRY_JOB_ACTION_ID = 'runner_retry_job';
const MAX_SHOWN = 10;
const BUTTONS_PER_BLOCK = 5;

/** `<projectId>:<jobId>`, the retry button's value. */
export function jobValue(j: Pick<AffectedJob, 'projectId' | 'jobId'>): string {
  return `${j.projectId}:${j.jobId}`;
}

export function parseJobValue(value: string): { projectId: number; jobId: number } | undefined {
  const m = /^(\d{1,12}):(\d{1,15})$/.exec(value);
  if (m === null) return undefined;
  const projectId = Number(m[1]);
  const jobId = Number(m[2]);
  return projectId > 0 && jobId > 0 ? { projectId, jobId } : undefined;
}

function jobLine(j: AffectedJob): string {
  const label = `${escapeMrkdwn(j.project ?? `project ${j.projectId}`)} · ${escapeMrkdwn(j.name || 'job')} #${j.jobId}`;
  const safeUrl = j.webUrl !== undefined && /^https?:\/\/[^\s<>|]+$/.test(j.webUrl) ? j.webUrl : undefined;
  return `• ${safeUrl !== undefined ? `<${safeUrl}|${label}>` : label}`;
}

export function renderJobsReply(outcome: JobsOutcome, role: string | undefined): MessageBody {
  if (outcome.state === 'unavailable') {
    const text = `:grey_question: *Affected CI jobs*: not shown. ${escapeMrkdwn(outcome.reason)}.`;
    return { text: fallbackText(text), blocks: [section(text)] };
  }
  const where = role === 'manager' ? 'running on this manager\'s runner' : 'whose log names this machine';
  if (outcome.jobs.length === 0) {
    const text = `:white_check_mark: *Affected CI jobs*: none ${where} (${outcome.scanned} running job${outcome.scanned === 1 ? '' : 's'} checked${outcome.truncated ? ', not all logs were read' : ''}).`;
    return { text: fallbackText(text), blocks: [section(text)] };
  }
  const shown = outcome.jobs.slice(0, MAX_SHOWN);
  const more = outcome.jobs.length - shown.length;
  const head = `:construction: *Affected CI jobs* (${outcome.jobs.length} ${where}; they will fail when the machine goes):`;
  const note = outcome.canRetry ? '' : '\n_GITLAB_TOKEN lacks the `api` scope: retry these jobs in GitLab._';
  const blocks: Block[] = [section(truncateSection(`${head}\n${shown.map(jobLine).join('\n')}${more > 0 ? `\n…and ${more} more` : ''}${note}`))];
  if (outcome.canRetry) {
    for (let i = 0; i < shown.length; i += BUTTONS_PER_BLOCK) {
      const buttons: ButtonElement[] = shown.slice(i, i + BUTTONS_PER_BLOCK).map((j) => button(RETRY_JOB_ACTION_ID, `Retry #${j.jobId}`, jobValue(j)));
      blocks.push(actions(buttons, `runner_retry_jobs_${i / BUTTONS_PER_BLOCK}`));
    }
  }
  return { text: fallbackText(head.replace(/\*/g, '')), blocks };
}
