/**
 * Who may do what (CONTRACT §4, "Approvals"): pure functions over one environment's fleet-file
 * section. The caller resolves which of the environment's approver user groups a person belongs
 * to (a Slack API call) and passes the group ids in; nothing here does I/O.
 *
 * Rules:
 * - Requesting a changing verb: anyone where `operators` is absent; otherwise only the listed
 *   operators (an empty list means nobody).
 * - Approval is required where `approval.required` is true, and always for `destroy`.
 * - Deciding a request: only listed approvers (users, or members of listed groups). The
 *   requester may not approve their own request unless `allowSelfApproval`, and never a
 *   `destroy` ("destroy is always approved by someone else").
 * - Rejecting one's own request is always allowed, even for a requester who is not an approver:
 *   it is a withdrawal, which `cancel` allows the requester anyway, so refusing it would only
 *   send them to another command.
 * - A request expires `expiresAfterMinutes` after it was made: at that instant and later every
 *   click (approve or reject) is refused. Expiry is checked after "is this person allowed to
 *   decide at all", so that a stranger's click never changes what the caller records.
 * - Cancelling: the requester and the environment's approvers.
 */
import type { EnvironmentConfig } from '../config/fleet-schema';
import type { ChangingVerb } from './command';

export type ApprovalDecision =
  | { ok: true }
  | { ok: false; reason: 'not_approver' | 'self_approval' | 'expired'; message: string };

export interface DecideApprovalInput {
  env: EnvironmentConfig;
  verb: ChangingVerb;
  requesterId: string;
  deciderId: string;
  /** User-group ids the decider belongs to, among env.approval.approverGroups (others are ignored). */
  deciderGroups: readonly string[];
  /** Epoch milliseconds. */
  requestedAt: number;
  /** Epoch milliseconds. */
  now: number;
  decision: 'approve' | 'reject';
}

export interface CanCancelInput {
  env: EnvironmentConfig;
  requesterId: string;
  userId: string;
  /** User-group ids the user belongs to, among env.approval.approverGroups (others are ignored). */
  userGroups: readonly string[];
}

export function canRequest(env: EnvironmentConfig, userId: string): boolean {
  return env.operators === undefined || env.operators.includes(userId);
}

export function approvalRequired(env: EnvironmentConfig, verb: ChangingVerb): boolean {
  return verb === 'destroy' || env.approval.required;
}

/**
 * Whether anyone at all can approve. The fleet schema already refuses `approval.required` with
 * no approvers, so this is false only for an environment without required approval — where a
 * `destroy` (which always needs approval) must be refused up front rather than wait to expire.
 */
export function approversConfigured(env: EnvironmentConfig): boolean {
  return env.approval.approvers.length > 0 || env.approval.approverGroups.length > 0;
}

export function isApprover(env: EnvironmentConfig, userId: string, userGroups: readonly string[]): boolean {
  return env.approval.approvers.includes(userId) || userGroups.some((g) => env.approval.approverGroups.includes(g));
}

/** The instant (epoch ms) from which a request made at `requestedAt` is expired. */
export function approvalExpiresAt(env: EnvironmentConfig, requestedAt: number): number {
  return requestedAt + env.approval.expiresAfterMinutes * 60_000;
}

export function decideApproval(input: DecideApprovalInput): ApprovalDecision {
  const { env, verb, requesterId, deciderId, deciderGroups, requestedAt, now, decision } = input;
  const own = deciderId === requesterId;
  const withdrawal = own && decision === 'reject';

  if (!withdrawal && !isApprover(env, deciderId, deciderGroups)) {
    return { ok: false, reason: 'not_approver', message: 'Only the approvers listed for this environment can decide this request.' };
  }
  // Fail closed on nonsense clocks: a request whose age cannot be computed is treated as expired.
  const expiresAt = approvalExpiresAt(env, requestedAt);
  if (!Number.isFinite(now) || !Number.isFinite(expiresAt) || now >= expiresAt) {
    return { ok: false, reason: 'expired', message: `This request expired ${env.approval.expiresAfterMinutes} minutes after it was made; start a new one.` };
  }
  if (own && decision === 'approve') {
    if (verb === 'destroy') {
      return { ok: false, reason: 'self_approval', message: 'A `destroy` must be approved by someone other than the person who requested it.' };
    }
    if (!env.approval.allowSelfApproval) {
      return { ok: false, reason: 'self_approval', message: 'You cannot approve your own request; another approver must.' };
    }
  }
  return { ok: true };
}

export function canCancel(input: CanCancelInput): boolean {
  return input.userId === input.requesterId || isApprover(input.env, input.userId, input.userGroups);
}
