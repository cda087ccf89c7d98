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
import { type Block, codeBlock, escapeMrkdwn, section } from '../adapters/slack/blocks';
import type { OperationThreads } from '../adapters/slack/operation-threads';
import type { UserGroupResolver } from '../adapters/slack/usergroups';
import type { AuditLog } from '../store/audit-log';
import type { OperationStore } from '../store/operation-store';
import type { OperationQueues } from '../queue/operation-queues';
import type { OperationRegistry } from './framework/registry';
import type { Plan } from './framework/types';

export type ChangingCommand = Extract<Command, { dryRun: boolean }>;
export interface Answer { text: string; blocks?: Block[] }

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

/** The plan as ephemeral messages: the summary and steps first, then each long part. */
export function planAnswers(opId: string, verb: ChangingVerb, envName: string, plan: Plan): Answer[] {
  const head = `*Dry run* \`${opId}\`: \`${verb}\` on *${escapeMrkdwn(envName)}* — nothing was queued or changed.`;
  const steps = plan.steps.map((s, i) => `${i + 1}. ${escapeMrkdwn(s)}`).join('\n');
  const first: Answer = { text: head, blocks: [section(head), section(plan.summary), section(`*Steps*\n${steps}`)] };
  const details = (plan.details ?? []).flatMap((d) => {
    const chunks: string[] = [];
    const lines = d.content.split('\n');
    let cur = '';
    for (const line of lines) {
      if (cur.length + line.length + 1 > 2_800 && cur !== '') { chunks.push(cur); cur = ''; }
      cur += `${line.slice(0, 2_800)}\n`;
    }
    if (cur !== '') chunks.push(cur);
    return chunks.map((chunk, i) => {
      const title = `*${escapeMrkdwn(d.title)}* (\`${escapeMrkdwn(d.filename)}\`${chunks.length > 1 ? `, part ${i + 1} of ${chunks.length}` : ''})`;
      return { text: `${d.title} (${d.filename})`, blocks: [section(title), section(codeBlock(chunk))] };
    });
  });
  return [first, ...details];
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
    const { userId, command } = input;
    const env = this.environment(command.env);
    if (!canRequest(env, userId)) {
      return [plain(`You are not an operator of *${escapeMrkdwn(command.env)}*, so you cannot \`${command.verb}\` it. Ask one of its operators.`)];
    }
    const needsApproval = approvalRequired(env, command.verb);
    if (needsApproval && !approversConfigured(env)) {
      return [plain(`\`${command.verb}\` on *${escapeMrkdwn(command.env)}* needs someone else's approval, but the fleet file lists no approvers for it. Add \`approval.approvers\` or \`approval.approverGroups\`.`)];
    }
    const def = this.deps.registry.get(command.verb);
    if (def === undefined) return [plain(`\`${command.verb}\` is not available in this version of runner-ops.`)];

    const id = this.newId();
    const args = argsOf(command);
    const plan = await def.plan({ envName: command.env, env, args, requesterId: userId, operationId: id });

    if (command.dryRun) {
      await this.deps.audit.record({ kind: 'dry_run', operationId: id, verb: command.verb, env: command.env, userId, at: this.now() });
      return planAnswers(id, command.verb, command.env, plan);
    }

    const now = this.now();
    const op: OperationRecord = {
      id, verb: command.verb, env: command.env, args, requesterId: userId,
      channel: env.channel ?? input.channelId,
      state: needsApproval ? 'awaiting_approval' : 'queued',
      fingerprint: environmentFingerprint(env),
      approvalRequired: needsApproval,
      createdAt: now,
      ...(needsApproval ? { expiresAt: now + env.approval.expiresAfterMinutes * 60_000 } : {}),
    };
    await this.deps.store.create(op);
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
    const fresh = await this.deps.store.require(op.id);
    await this.deps.audit.record({ kind: to === 'queued' ? 'approved' : 'rejected', operationId: op.id, verb: op.verb, env: op.env, userId: input.userId, at: this.now() });
    const thread = this.deps.threads.forOperation(fresh);
    thread.setRoot({ phase: to === 'queued' ? 'queued' : 'rejected', approval: { decision: to === 'queued' ? 'approved' : 'rejected', byUserId: input.userId, at: new Date(fresh.decidedAt ?? this.now()) } });
    if (to === 'queued') {
      await this.enqueue(fresh);
      return undefined;
    }
    await thread.reply(`:no_entry: Rejected by <@${input.userId}>. Nothing was done.`);
    await this.deps.threads.release(op.id);
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
