/**
 * Each changing operation's Slack thread: posting its root, and one ThreadReporter per
 * operation in this process (so edits of the root are coalesced in one place). A replica that
 * resumes an operation rebuilds the root state from the operation record.
 */
import type { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { OperationRecord, OperationState } from '../../domain/operation';
import type { ChannelPacer } from './channel-pacer';
import { renderRoot, type RootState } from './root-message';
import { ThreadReporter } from './thread-reporter';

const PHASE: Record<OperationState, RootState['phase']> = {
  awaiting_approval: 'awaiting_approval',
  queued: 'queued',
  running: 'running',
  succeeded: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  rejected: 'rejected',
  expired: 'expired',
};

export function rootStateOf(op: OperationRecord, extra: Partial<RootState> = {}): RootState {
  return {
    operationId: op.id,
    verb: op.verb,
    env: op.env,
    requesterId: op.requesterId,
    phase: PHASE[op.state],
    ...(op.expiresAt === undefined ? {} : { expiresAt: new Date(op.expiresAt) }),
    ...(op.deciderId !== undefined && op.decidedAt !== undefined && op.state !== 'expired' && op.state !== 'awaiting_approval'
      ? { approval: { decision: op.state === 'rejected' ? 'rejected' as const : 'approved' as const, byUserId: op.deciderId, at: new Date(op.decidedAt) } }
      : {}),
    ...(op.reason === undefined ? {} : { reason: op.reason }),
    ...extra,
  };
}

export class OperationThreads {
  private readonly reporters = new Map<string, ThreadReporter>();

  constructor(
    private readonly client: WebClient,
    private readonly pacer: ChannelPacer,
    private readonly log: Logger,
    private readonly onApiError?: (method: string, error: unknown) => void,
  ) {}

  /** Posts the thread root; returns its ts. Throws when Slack refuses (the caller reports it). */
  async postRoot(op: OperationRecord, extra: Partial<RootState> = {}): Promise<string> {
    const body = renderRoot(rootStateOf(op, extra));
    const res = await this.pacer.run(op.channel, () => this.client.chat.postMessage({ channel: op.channel, text: body.text, blocks: body.blocks }));
    if (typeof res.ts !== 'string') throw new Error('chat.postMessage returned no ts');
    return res.ts;
  }

  /** The reporter for an operation whose root exists. */
  forOperation(op: OperationRecord, extra: Partial<RootState> = {}): ThreadReporter {
    let reporter = this.reporters.get(op.id);
    if (reporter === undefined) {
      if (op.rootTs === undefined) throw new Error(`operation ${op.id} has no thread`);
      reporter = new ThreadReporter({
        client: this.client,
        pacer: this.pacer,
        channel: op.channel,
        rootTs: op.rootTs,
        state: rootStateOf(op, extra),
        logger: this.log,
        ...(this.onApiError === undefined ? {} : { onApiError: this.onApiError }),
      });
      this.reporters.set(op.id, reporter);
    } else if (Object.keys(extra).length > 0) {
      reporter.setRoot(extra);
    }
    return reporter;
  }

  /** Forgets a finished operation's reporter once everything it queued was delivered. */
  async release(operationId: string): Promise<void> {
    const reporter = this.reporters.get(operationId);
    if (reporter === undefined) return;
    await reporter.flush();
    this.reporters.delete(operationId);
  }

  async flushAll(): Promise<void> {
    await Promise.all([...this.reporters.values()].map((r) => r.flush()));
  }
}
