import { APPROVE_ACTION_ID, REJECT_ACTION_ID, renderRoot, ROOT_BLOCK_IDS, type RootPhase, type RootState } from './root-message';
import type { ActionsBlock, Block } from './blocks';

const base: RootState = {
  operationId: 'op-k3x9qa',
  verb: 'bootstrap',
  env: 'prod',
  requesterId: 'U0ALICE',
  phase: 'awaiting_approval',
  planSummary: '• launch *t4g.micro* manager\n• register runner',
  expiresAt: new Date('2025-01-02T03:34:05Z'),
};

const actionsOf = (blocks: Block[]) => blocks.filter((b): b is ActionsBlock => b.type === 'actions');
const allText = (blocks: Block[]) => JSON.stringify(blocks);

describe('renderRoot', () => {
  it('awaiting approval: identity, plan and the two buttons with the operation id', () => {
    const { text, blocks } = renderRoot(base);
    const json = allText(blocks);
    expect(json).toContain('op-k3x9qa');
    expect(json).toContain('*bootstrap*');
    expect(json).toContain('*prod*');
    expect(json).toContain('<@U0ALICE>');
    expect(json).toContain('launch *t4g.micro* manager');
    expect(json).toContain('Awaiting approval');
    expect(text).toContain('op-k3x9qa');
    const acts = actionsOf(blocks);
    expect(acts).toHaveLength(1);
    expect(acts[0]?.block_id).toBe(ROOT_BLOCK_IDS.approval);
    expect(acts[0]?.elements).toEqual([
      expect.objectContaining({ type: 'button', action_id: APPROVE_ACTION_ID, value: 'op-k3x9qa', style: 'primary' }),
      expect.objectContaining({ type: 'button', action_id: REJECT_ACTION_ID, value: 'op-k3x9qa', style: 'danger' }),
    ]);
    expect(APPROVE_ACTION_ID).toBe('runner_approve');
    expect(REJECT_ACTION_ID).toBe('runner_reject');
  });

  it.each<RootPhase>(['rejected', 'expired', 'queued', 'waiting', 'running', 'succeeded', 'failed', 'cancelled'])(
    'has no buttons in phase %s', (phase) => {
      expect(actionsOf(renderRoot({ ...base, phase }).blocks)).toHaveLength(0);
    },
  );

  it('after a decision shows who decided and when', () => {
    const at = new Date('2025-01-02T03:10:00Z');
    const approved = allText(renderRoot({ ...base, phase: 'queued', approval: { decision: 'approved', byUserId: 'U0CAROL', at } }).blocks);
    expect(approved).toContain('Approved by <@U0CAROL>');
    expect(approved).toContain(`<!date^${at.getTime() / 1000}^`);
    const rejected = allText(renderRoot({ ...base, phase: 'rejected', approval: { decision: 'rejected', byUserId: 'U0CAROL', at } }).blocks);
    expect(rejected).toContain('Rejected by <@U0CAROL>');
  });

  it('running: progress bar and step name', () => {
    const { blocks } = renderRoot({ ...base, phase: 'running', step: { index: 4, total: 6, name: 'Configure <gitlab-runner>' } });
    const status = blocks.find((b) => b.block_id === ROOT_BLOCK_IDS.status);
    expect(JSON.stringify(status)).toContain('▰▰▰▱▱▱ 3/6');
    expect(JSON.stringify(status)).toContain('step 4/6: Configure &lt;gitlab-runner&gt;');
  });

  it('waiting names the operation it waits for', () => {
    expect(allText(renderRoot({ ...base, phase: 'waiting', waitingFor: 'op-aaaaa1' }).blocks)).toContain('`op-aaaaa1`');
  });

  it('failed: escapes and redacts the reason', () => {
    const json = allText(renderRoot({ ...base, phase: 'failed', reason: 'token glrt-AbCdEfGhIjKlMnOpQrSt <rejected> & gone' }).blocks);
    expect(json).not.toContain('glrt-AbCd');
    expect(json).toContain('[redacted] &lt;rejected&gt; &amp; gone');
  });

  it('stays within Block Kit limits with a huge plan', () => {
    const { blocks } = renderRoot({ ...base, planSummary: 'x'.repeat(10_000) });
    for (const b of blocks) if (b.type === 'section') expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    expect(actionsOf(blocks)).toHaveLength(1);
  });
});
