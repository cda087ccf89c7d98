/**
 * The request side of changing operations: authorise, plan, ask for approval, take the decision
 * exactly once, enqueue, cancel. Slack listeners call it after they have acked; it answers with
 * ephemeral messages for the person who asked and writes everything else into the thread.
 *
 * Ordering guarantees: a record exists before its thread root is posted, and the root exists
 * before the job is queued, so a worker always finds both. Nothing is queued when any earlier
 * step fails, and the person is told why.
 */
import type { Logger } from 'pino';
import type { EnvironmentConfig, FleetConfig } from '../config/fleet-schema';
import { environmentFingerprint } from '../config/load';
import { type ChangingVerb, type Command } from '../domain/command';
import { RunnerOpsError, userMessage } from '../domain/errors';
import type { OperationRecord } from '../domain/operation';
import { newOperationId } from '../domain/operation-id';
import { approvalRequired, approversConfigured, canCancel, canRequest, decideApproval } from '../domain/policy';
import { type Block, codeBlock, escapeMrkdwn, section, truncateSection } from '../adapters/slack/blocks';
import type { OperationThreads } from '../adapters/slack/operation-threads';
import type { UserGroupResolver } from '../adapters/slack/usergroups';
import type { AuditLog } from '../store/audit-log';
import type { OperationStore } from '../store/operation-store';
import type { OperationQueues } from '../queue/operation-queues';
import { isRedisUnavailable } from '../store/redis';
import type { OperationRegistry } from './framework/registry';
import { redact } from '../domain/redact';
import type { Plan, PlanDetail } from './framework/types';

export type ChangingCommand = Extract<Command, { dryRun: boolean }>;
/**
 * Plan parts too long for one message (a dry run's scripts, config.toml). The service does no
 * Slack I/O: the command listener uploads them as files (adapters/slack/plan-files.ts) and, if
 * that fails, sends them inline with `detailAnswers` instead.
 */
export interface AnswerFiles {
  /** mrkdwn introducing the files where they are shared. */
  comment: string;
  details: readonly PlanDetail[];
}
export interface Answer { text: string; blocks?: Block[]; files?: AnswerFiles }

export interface ServiceDeps {
  store: OperationStore;
  audit: AuditLog;
  queues: OperationQueues;
  registry: OperationRegistry;
  fleet: () => FleetConfig;
  threads: OperationThreads;
  userGroups: UserGroupResolver;
  publishCancel: (operationId: string) => Promise<void>;
  log: Logger;
  newId?: () => string;
  now?: () => number;
}

const plain = (text: string): Answer => ({ text });

function argsOf(command: ChangingCommand): Record<string, string> {
  return command.verb === 'verify-ecr' && command.image !== undefined ? { image: command.image } : {};
}

/** A detail's code-block chunk: at most this many characters once escaped (a section holds 3,000). */
const DETAIL_CHUNK = 2_800;

/** `line` cut into pieces whose escaped form fits a chunk (with its newline). */
function splitLine(line: string): string[] {
  const max = DETAIL_CHUNK - 1;
  const pieces: string[] = [];
  let rest = line;
  while (escapeMrkdwn(rest).length > max) {
    let take = 0;
    let length = 0;
    while (take < rest.length && length + escapeMrkdwn(rest.charAt(take)).length <= max) length += escapeMrkdwn(rest.charAt(take++)).length;
    const code = rest.charCodeAt(take - 1);
    if (take > 1 && code >= 0xd800 && code <= 0xdbff) take -= 1; // keep a surrogate pair whole
    pieces.push(rest.slice(0, take));
    rest = rest.slice(take);
  }
  pieces.push(rest);
  return pieces;
}

/** `content` in whole lines, each chunk's escaped form at most DETAIL_CHUNK characters. */
function detailChunks(content: string): string[] {
  const chunks: string[] = [];
  let cur = '';
  let curLength = 0;
  for (const piece of content.replace(/\s+$/, '').split('\n').flatMap(splitLine)) {
    const length = escapeMrkdwn(piece).length + 1;
    if (curLength + length > DETAIL_CHUNK && cur !== '') { chunks.push(cur); cur = ''; curLength = 0; }
    cur += `${piece}\n`;
    curLength += length;
  }
  if (cur !== '' || chunks.length === 0) chunks.push(cur);
  return chunks;
}

/** Whether a detail fits in one Block Kit section as a code block (else it goes as a file). */
export function detailFitsInline(detail: PlanDetail): boolean {
  return detailChunks(redact(detail.content)).length === 1;
}

/** One detail inline, as ephemeral messages of one code block each (redacted, whole lines). */
export function detailAnswers(d: PlanDetail): Answer[] {
  const chunks = detailChunks(redact(d.content));
  return chunks.map((chunk, i) => {
    const title = `*${escapeMrkdwn(d.title)}* (\`${escapeMrkdwn(d.filename)}\`${chunks.length > 1 ? `, part ${i + 1} of ${chunks.length}` : ''})`;
    return { text: `${d.title} (${d.filename})`, blocks: [section(title), section(codeBlock(chunk))] };
  });
}

function sizeOf(content: string): string {
  const lines = content.replace(/\n$/, '').split('\n').length;
  const bytes = Buffer.byteLength(content, 'utf8');
  return `${lines} line${lines === 1 ? '' : 's'}, ${bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`}`;
}

/**
 * The plan as ephemeral messages: first the summary, the steps and the list of details; then each
 * detail that fits in one section, inline. Details that do not fit are not in the messages: the
 * first answer's `files` carries them, for the listener to upload as files (or to send inline
 * with `detailAnswers` when the upload fails).
 */
export function planAnswers(opId: string, verb: ChangingVerb, envName: string, plan: Plan): Answer[] {
  const head = `*Dry run* \`${opId}\`: \`${verb}\` on *${escapeMrkdwn(envName)}* — nothing was queued or changed.`;
  const steps = plan.steps.map((s, i) => `${i + 1}. ${escapeMrkdwn(s)}`).join('\n');
  const details = plan.details ?? [];
  const long = details.filter((d) => !detailFitsInline(d));
  const listing = details.map((d) => `• *${escapeMrkdwn(d.title)}* — \`${escapeMrkdwn(d.filename)}\`, ${sizeOf(d.content)}${long.includes(d) ? ' (as a file)' : ''}`);
  const first: Answer = {
    text: head,
    blocks: [
      section(head), section(plan.summary), section(truncateSection(`*Steps*\n${steps}`)),
      ...(details.length === 0 ? [] : [section(truncateSection(`*What would be written*\n${listing.join('\n')}`))]),
    ],
    ...(long.length === 0 ? {} : { files: { comment: `${head} The parts of the plan too long for a message:`, details: long } }),
  };
  return [first, ...details.filter((d) => !long.includes(d)).flatMap(detailAnswers)];
}

export class OperationService {
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(private readonly deps: ServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.newId = deps.newId ?? newOperationId;
  }

  private environment(name: string): EnvironmentConfig {
    const env = this.deps.fleet().environments[name];
    if (env === undefined) {
      const known = Object.keys(this.deps.fleet().environments).map((n) => `\`${n}\``).join(', ');
      throw new RunnerOpsError('not_found', `there is no environment \`${escapeMrkdwn(name)}\` (known: ${known})`);
    }
    return env;
  }

  /** A changing verb typed by `userId` in `channelId`. Returns the ephemeral answers. */
  async request(input: { userId: string; channelId: string; command: ChangingCommand }): Promise<Answer[]> {
    const { command } = input;
    return this.submit({ userId: input.userId, channelId: input.channelId, verb: command.verb, envName: command.env, args: argsOf(command), dryRun: command.dryRun });
  }

  /**
   * A changing operation started by a button (`runner_remove_stale` starts `remove-stale`):
   * exactly the rules of a typed request (operator check, approval, thread root, queue), never a
   * dry run. `channelId` is where the button was clicked (the thread goes there only where the
   * environment has no channel). An environment no longer in the fleet file is refused.
   */
  async requestFromButton(input: { userId: string; channelId: string; verb: ChangingVerb; env: string; args?: Readonly<Record<string, string>> }): Promise<Answer[]> {
    if (this.deps.fleet().environments[input.env] === undefined) {
      return [plain(`There is no environment \`${escapeMrkdwn(input.env)}\` (any more); nothing was requested.`)];
    }
    return this.submit({ userId: input.userId, channelId: input.channelId, verb: input.verb, envName: input.env, args: { ...input.args }, dryRun: false });
  }

  /**
   * The one request path, typed or clicked. The operation's args are what the requester gave,
   * plus what the plan fixed (`Plan.args`, e.g. the exact runners a clean-up will consider), so
   * the run acts on what the approver saw.
   */
  private async submit(input: { userId: string; channelId: string; verb: ChangingVerb; envName: string; args: Record<string, string>; dryRun: boolean }): Promise<Answer[]> {
    const { userId, verb, envName } = input;
    const env = this.environment(envName);
    if (!canRequest(env, userId)) {
      return [plain(`You are not an operator of *${escapeMrkdwn(envName)}*, so you cannot \`${verb}\` it. Ask one of its operators.`)];
    }
    const needsApproval = approvalRequired(env, verb);
    if (needsApproval && !approversConfigured(env)) {
      return [plain(`\`${verb}\` on *${escapeMrkdwn(envName)}* needs someone else's approval, but the fleet file lists no approvers for it. Add \`approval.approvers\` or \`approval.approverGroups\`.`)];
    }
    const def = this.deps.registry.get(verb);
    if (def === undefined) return [plain(`\`${verb}\` is not available in this version of runner-ops.`)];

    const id = this.newId();
    const plan = await def.plan({ envName, env, args: input.args, requesterId: userId, operationId: id });
    const args = { ...input.args, ...plan.args };

    if (input.dryRun) {
      await this.deps.audit.record({ kind: 'dry_run', operationId: id, verb, env: envName, userId, at: this.now() });
      return planAnswers(id, verb, envName, plan);
    }

    const now = this.now();
    const op: OperationRecord = {
      id, verb, env: envName, args, requesterId: userId,
      channel: env.channel ?? input.channelId,
      state: needsApproval ? 'awaiting_approval' : 'queued',
      fingerprint: environmentFingerprint(env),
      approvalRequired: needsApproval,
      createdAt: now,
      ...(needsApproval ? { expiresAt: now + env.approval.expiresAfterMinutes * 60_000 } : {}),
    };
    await this.deps.store.create(op);
    try {
      return await this.announce(op, env, plan);
    } catch (err) {
      // Redis went away after the record was written. A recorded operation is not withdrawn
      // behind the requester's back: once Redis is back, the sweep re-queues a queued one whose
      // job is missing, and an approval request stays open until it expires. So the answer must
      // not say "nothing was queued"; it says what may happen and how to stop it.
      if (!isRedisUnavailable(err)) throw err;
      this.deps.log.error({ operationId: id, err: err instanceof Error ? err.message : String(err) }, 'Redis stopped answering after the operation was recorded');
      return [plain(`:warning: Redis stopped answering while \`${id}\` (\`${verb}\` on *${escapeMrkdwn(envName)}*) was being set up, after it was recorded. It may still go ahead once Redis is back: follow it in <#${op.channel}>, or stop it with \`/runner cancel ${id}\`.`)];
    }
  }

  /** The thread root, the audit entry and (without approval) the job, for a recorded operation. */
  private async announce(op: OperationRecord, env: EnvironmentConfig, plan: Plan): Promise<Answer[]> {
    const { id, requesterId: userId, createdAt: now, approvalRequired: needsApproval } = op;
    let rootTs: string;
    try {
      rootTs = await this.deps.threads.postRoot(op, { planSummary: plan.summary });
    } catch (err) {
      await this.deps.store.transition(id, ['awaiting_approval', 'queued'], 'failed', { finishedAt: this.now(), reason: 'could not post the thread root in Slack' });
      this.deps.log.error({ operationId: id, err: userMessage(err) }, 'could not post thread root');
      return [plain(`Could not post in <#${op.channel}> (${escapeMrkdwn(userMessage(err))}); nothing was queued. Invite the bot to the channel, or give it \`chat:write.public\`.`)];
    }
    op.rootTs = rootTs;
    await this.deps.store.update(id, { rootTs });
    await this.deps.audit.record({ kind: 'requested', operationId: id, verb: op.verb, env: op.env, userId, at: now });

    if (needsApproval) {
      return [plain(`Requested \`${op.verb}\` on *${escapeMrkdwn(op.env)}* as \`${id}\`. It waits for approval in <#${op.channel}>; the request expires in ${env.approval.expiresAfterMinutes} minutes.`)];
    }
    await this.enqueue(op);
    return [plain(`Queued \`${op.verb}\` on *${escapeMrkdwn(op.env)}* as \`${id}\`. Follow it in the thread in <#${op.channel}>.`)];
  }

  /** Queues an operation; if another one holds its environment, the thread says which. */
  private async enqueue(op: OperationRecord): Promise<void> {
    const holder = await this.deps.queues.activeOperation(op.env);
    await this.deps.queues.enqueue(op.env, op.id);
    if (holder !== undefined && holder !== op.id) {
      const thread = this.deps.threads.forOperation(op, { phase: 'waiting', waitingFor: holder });
      await thread.reply(`:hourglass_flowing_sand: Waiting for \`${holder}\` to finish: one changing operation runs on *${escapeMrkdwn(op.env)}* at a time.`);
    }
  }

  /** An Approve or Reject click. `messageTs` is the clicked message, checked against the record. */
  async decide(input: { userId: string; operationId: string; decision: 'approve' | 'reject'; messageTs?: string }): Promise<Answer | undefined> {
    const op = await this.deps.store.get(input.operationId);
    if (op === undefined) return plain(`There is no operation \`${escapeMrkdwn(input.operationId)}\`.`);
    if (input.messageTs !== undefined && op.rootTs !== input.messageTs) {
      return plain('That button does not belong to this operation\'s request; nothing was decided.');
    }
    if (op.state !== 'awaiting_approval') return plain(this.alreadyDecided(op));
    const env = this.deps.fleet().environments[op.env];
    if (env === undefined) return plain(`Environment ${escapeMrkdwn(op.env)} is no longer in the fleet file.`);
    const groups = await this.deps.userGroups.groupsOf(input.userId, env.approval.approverGroups);
    const verdict = decideApproval({
      env, verb: op.verb, requesterId: op.requesterId, deciderId: input.userId, deciderGroups: groups,
      requestedAt: op.createdAt, now: this.now(), decision: input.decision,
    });
    if (!verdict.ok) {
      if (verdict.reason === 'expired') await this.expire(op);
      return plain(verdict.message);
    }
    const to = input.decision === 'approve' ? 'queued' : 'rejected';
    const decided = await this.deps.store.transition(op.id, ['awaiting_approval'], to, {
      deciderId: input.userId, decidedAt: this.now(), ...(to === 'rejected' ? { finishedAt: this.now(), reason: `rejected by <@${input.userId}>` } : {}),
    });
    if (!decided.ok) return plain(this.alreadyDecided(await this.deps.store.require(op.id)));
    try {
      return await this.afterDecision(op.id, to, input.userId);
    } catch (err) {
      // Redis went away after the decision was recorded: it stands (the sweep enqueues an approved
      // operation whose job is missing once Redis is back), so the answer says so.
      if (!isRedisUnavailable(err)) throw err;
      this.deps.log.error({ operationId: op.id, err: err instanceof Error ? err.message : String(err) }, 'Redis stopped answering after the decision was recorded');
      return plain(to === 'queued'
        ? `:warning: Your approval of \`${op.id}\` was recorded, then Redis stopped answering. It goes ahead once Redis is back: follow it in <#${op.channel}>, or stop it with \`/runner cancel ${op.id}\`.`
        : `:warning: Your rejection of \`${op.id}\` was recorded, then Redis stopped answering. Nothing will run; the thread may not say so yet.`);
    }
  }

  /** The audit entry, the root's update and (approved) the job or (rejected) the thread's last reply. */
  private async afterDecision(id: string, to: 'queued' | 'rejected', userId: string): Promise<undefined> {
    const fresh = await this.deps.store.require(id);
    await this.deps.audit.record({ kind: to === 'queued' ? 'approved' : 'rejected', operationId: id, verb: fresh.verb, env: fresh.env, userId, at: this.now() });
    const thread = this.deps.threads.forOperation(fresh);
    thread.setRoot({ phase: to === 'queued' ? 'queued' : 'rejected', approval: { decision: to === 'queued' ? 'approved' : 'rejected', byUserId: userId, at: new Date(fresh.decidedAt ?? this.now()) } });
    if (to === 'queued') {
      await this.enqueue(fresh);
      return undefined;
    }
    await thread.reply(`:no_entry: Rejected by <@${userId}>. Nothing was done.`);
    await this.deps.threads.release(id);
    return undefined;
  }

  private alreadyDecided(op: OperationRecord): string {
    switch (op.state) {
      case 'expired': return `\`${op.id}\` expired before anyone decided; make a new request.`;
      case 'cancelled': return `\`${op.id}\` was cancelled.`;
      case 'rejected': return `\`${op.id}\` was already rejected by <@${op.deciderId ?? 'unknown'}>.`;
      default: return op.deciderId !== undefined ? `\`${op.id}\` was already approved by <@${op.deciderId}>.` : `\`${op.id}\` is ${op.state.replace('_', ' ')}; there is nothing to decide.`;
    }
  }

  private async expire(op: OperationRecord): Promise<boolean> {
    const t = await this.deps.store.transition(op.id, ['awaiting_approval'], 'expired', { finishedAt: this.now(), reason: 'no decision in time' });
    if (!t.ok) return false;
    await this.deps.audit.record({ kind: 'expired', operationId: op.id, verb: op.verb, env: op.env, userId: op.requesterId, at: this.now() });
    const thread = this.deps.threads.forOperation(await this.deps.store.require(op.id));
    thread.setRoot({ phase: 'expired' });
    await thread.reply(':alarm_clock: This request expired without a decision. Nothing was done; make a new request if it is still needed.');
    await this.deps.threads.release(op.id);
    return true;
  }

  /**
   * Housekeeping, run periodically by every replica (idempotent): expires approval requests past
   * their time, and re-queues an operation recorded as queued whose job is missing (the process
   * died, or Redis went away, between recording the approval and enqueueing; the job id is the
   * operation id, so enqueueing twice is harmless).
   */
  async sweep(): Promise<{ expired: number; requeued: number }> {
    const open = await this.deps.store.listOpen();
    let expired = 0;
    let requeued = 0;
    for (const op of open) {
      if (op.state === 'awaiting_approval' && op.expiresAt !== undefined && op.expiresAt <= this.now() && await this.expire(op)) expired += 1;
      const queuedSince = op.decidedAt ?? op.createdAt;
      if (op.state === 'queued' && this.now() - queuedSince > 10_000 && !await this.deps.queues.hasJob(op.env, op.id)) {
        this.deps.log.warn({ operationId: op.id }, 're-queueing an operation whose job was missing');
        await this.deps.queues.enqueue(op.env, op.id);
        requeued += 1;
      }
    }
    return { expired, requeued };
  }

  async cancel(input: { userId: string; operationId: string }): Promise<Answer> {
    const op = await this.deps.store.get(input.operationId);
    if (op === undefined) return plain(`There is no operation \`${escapeMrkdwn(input.operationId)}\`.`);
    const env = this.deps.fleet().environments[op.env];
    const groups = env === undefined ? [] : await this.deps.userGroups.groupsOf(input.userId, env.approval.approverGroups);
    const allowed = op.requesterId === input.userId || (env !== undefined && canCancel({ env, requesterId: op.requesterId, userId: input.userId, userGroups: groups }));
    if (!allowed) return plain(`Only the requester of \`${op.id}\` and the approvers of *${escapeMrkdwn(op.env)}* can cancel it.`);

    const reason = `cancelled by <@${input.userId}>`;
    const early = await this.deps.store.transition(op.id, ['awaiting_approval'], 'cancelled', { finishedAt: this.now(), reason, cancelRequestedBy: input.userId });
    if (!early.ok && early.previous === 'queued' && await this.deps.queues.removeWaiting(op.env, op.id)) {
      await this.deps.store.transition(op.id, ['queued'], 'cancelled', { finishedAt: this.now(), reason, cancelRequestedBy: input.userId });
    } else if (!early.ok && (early.previous === 'queued' || early.previous === 'running')) {
      // Running (or about to run): the runner stops at its next safe point and cleans up.
      await this.deps.store.update(op.id, { cancelRequestedBy: input.userId });
      await this.deps.publishCancel(op.id);
      await this.deps.audit.record({ kind: 'cancelled', operationId: op.id, verb: op.verb, env: op.env, userId: input.userId, at: this.now(), reason: 'requested while running' });
      const thread = this.deps.threads.forOperation(op);
      await thread.reply(`:octagonal_sign: <@${input.userId}> asked to cancel; stopping at the next safe point and cleaning up.`);
      return plain(`Cancelling \`${op.id}\`: it stops at its next safe point and cleans up; the thread says when.`);
    } else if (!early.ok) {
      return plain(`\`${op.id}\` has already finished (${op.state}); there is nothing to cancel.`);
    }
    await this.deps.audit.record({ kind: 'cancelled', operationId: op.id, verb: op.verb, env: op.env, userId: input.userId, at: this.now(), reason });
    const thread = this.deps.threads.forOperation(await this.deps.store.require(op.id));
    thread.setRoot({ phase: 'cancelled', reason });
    await thread.reply(`:octagonal_sign: Cancelled by <@${input.userId}> before it started. Nothing was done.`);
    await this.deps.threads.release(op.id);
    return plain(`Cancelled \`${op.id}\`; it had not started, so nothing was done.`);
  }
}
