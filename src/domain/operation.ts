/**
 * Operations and their states. A changing operation is requested, possibly approved, queued,
 * run as named steps, and ends in exactly one terminal state.
 *
 *   awaiting_approval ─approve─▶ queued ─▶ running ─▶ succeeded | failed | cancelled
 *          │ reject/expire/cancel              │cancel (at the next safe point)
 *          ▼                                   ▼
 *   rejected | expired | cancelled          cancelled
 */
import type { ChangingVerb } from './command';

export const OPERATION_STATES = ['awaiting_approval', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected', 'expired'] as const;
export type OperationState = (typeof OPERATION_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<OperationState> = new Set(['succeeded', 'failed', 'cancelled', 'rejected', 'expired']);
export const OPEN_STATES: readonly OperationState[] = ['awaiting_approval', 'queued', 'running'];

/** What the bot remembers about one operation (Redis hash; no secrets). */
export interface OperationRecord {
  id: string;
  verb: ChangingVerb;
  env: string;
  /** Verb arguments beyond the environment (e.g. the image of verify-ecr). */
  args: Record<string, string>;
  requesterId: string;
  /** Where the thread lives. */
  channel: string;
  rootTs?: string;
  state: OperationState;
  /** Fingerprint of the environment's fleet-file section when the request was made. */
  fingerprint: string;
  approvalRequired: boolean;
  createdAt: number;
  expiresAt?: number;
  deciderId?: string;
  decidedAt?: number;
  startedAt?: number;
  finishedAt?: number;
  reason?: string;
  cancelRequestedBy?: string;
}
