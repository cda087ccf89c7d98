import type { ManagerInstance } from '../../adapters/aws/ec2-instances';
import type { Runner } from '../../adapters/gitlab/runners';
import { linesSection, REMOVE_STALE_ACTION_ID, renderStatusBlocks, type SlackBlock } from './render';
import type { RunnerReport, StatusReport } from './types';

const NOW = new Date('2030-06-15T12:00:00Z');

const manager: ManagerInstance = {
  id: 'i-0123456789abcdef0', type: 't4g.micro', state: 'running', az: 'eu-central-1a', launchTime: new Date('2030-06-12T12:00:00Z'),
  privateIp: '10.0.0.5', tags: new Map(), environment: 'prod', role: 'manager', generation: 3, spot: false,
};

function runner(id: number, over: Partial<Runner> = {}): RunnerReport {
  return {
    runner: { id, description: `prod runner [runner-ops:prod manager:${manager.id}]`, status: 'online', paused: false, runnerType: 'group_type', environment: 'prod', managerId: manager.id, tags: ['docker', 'aws'], contactedAt: new Date(NOW.getTime() - 30_000), ...over },
    stale: false, removable: false, tokenExpiresInDays: undefined, tokenExpiringSoon: false, onOtherManager: false,
  };
}

function report(over: Partial<StatusReport> = {}): StatusReport {
  return {
    environment: 'prod',
    region: 'eu-central-1',
    generatedAt: NOW,
    manager: { state: 'ok', value: manager },
    ssm: { state: 'ok', value: { pingStatus: 'Online', lastPingAt: new Date(NOW.getTime() - 60_000), agentVersion: '3.3.0', platform: 'Ubuntu' } },
    runners: { state: 'ok', value: [runner(11)] },
    workers: { state: 'ok', value: 2 },
    operations: { state: 'ok', value: [{ id: 'op-k3x9qa', verb: 'rotate', state: 'running', requester: 'U0ALICE', createdAt: NOW }] },
    spotEvents: { state: 'ok', value: [] },
    warnings: [],
    ...over,
  };
}

function allText(blocks: SlackBlock[]): string {
  return blocks.map((b) => {
    switch (b.type) {
      case 'section': return [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text)].join('\n');
      case 'context': return b.elements.map((e) => e.text).join('\n');
      case 'header': return b.text.text;
      default: return '';
    }
  }).join('\n');
}

function expectWithinLimits(blocks: SlackBlock[]): void {
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const b of blocks) {
    if (b.type === 'section') expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(3000);
    if (b.type === 'header') expect(b.text.text.length).toBeLessThanOrEqual(150);
  }
}

describe('renderStatusBlocks', () => {
  it('renders a healthy report', () => {
    const { text, blocks } = renderStatusBlocks(report());
    expect(text).toBe('Status of prod: manager i-0123456789abcdef0 running, SSM Online, 1/1 runners online, 2 workers');
    expect(blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: 'Status: prod (eu-central-1)', emoji: true } });
    const body = allText(blocks);
    expect(body).toContain('`i-0123456789abcdef0` t4g.micro, running, eu-central-1a, generation 3');
    expect(body).toContain('SSM: :large_green_circle: Online (last ping 60 s ago), agent 3.3.0');
    expect(body).toContain('*#11* online · contacted 30 s ago');
    expect(body).toContain('*Workers*\n2 pending or running');
    expect(body).toContain('`op-k3x9qa` rotate · running · <@U0ALICE>');
    expect(body).toContain('*Recent Spot events*\nnone');
    expect(body).not.toContain('Warnings');
    expectWithinLimits(blocks);
  });

  it('names failed and skipped parts', () => {
    const { text, blocks } = renderStatusBlocks(report({
      manager: { state: 'failed', code: 'external', message: 'EC2 DescribeInstances failed: UnauthorizedOperation' },
      ssm: { state: 'skipped', reason: 'the manager lookup failed' },
      runners: { state: 'failed', code: 'unavailable', message: 'GitLab: could not list the runners of group 42: GitLab is unavailable (connection refused)' },
      workers: { state: 'failed', code: 'timeout', message: 'EC2 (workers): no answer within 5.0 s' },
    }));
    const body = allText(blocks);
    expect(body).toContain('*Manager*\n:x: EC2 DescribeInstances failed: UnauthorizedOperation');
    expect(body).toContain('*Runners in GitLab*\n:x: GitLab: could not list the runners of group 42: GitLab is unavailable (connection refused)');
    expect(body).toContain('*Workers*\n:x: EC2 (workers): no answer within 5.0 s');
    expect(text).toContain('GitLab: failed');
  });

  it('shows token expiry, stale runners and warnings', () => {
    const expiring = { ...runner(11, { tokenExpiresAt: new Date(NOW.getTime() + 3 * 86400_000) }), tokenExpiringSoon: true, tokenExpiresInDays: 3 };
    const stale = { ...runner(10, { status: 'offline', contactedAt: new Date(NOW.getTime() - 30 * 86400_000) }), stale: true };
    const { blocks } = renderStatusBlocks(report({ runners: { state: 'ok', value: [expiring, stale] }, warnings: ['Runner #11\'s token expires in 3 day(s)'] }));
    const body = allText(blocks);
    expect(body).toContain(':warning: *Warnings*\n• Runner #11\'s token expires in 3 day(s)');
    expect(body).toMatch(/:warning: token expires <!date\^\d+\^\{date_short\}\|2030-06-18T12:00:00.000Z>/);
    expect(body).toContain('*Stale runners* (1)\n• :red_circle: *#10* offline · contacted 30 days ago');
  });

  it('escapes everything that comes from outside', () => {
    const evil = runner(13, { description: '<!channel> & <https://evil|click> [runner-ops:prod]', tags: ['a<b'], version: '1&2' });
    const { text, blocks } = renderStatusBlocks(report({
      runners: { state: 'ok', value: [evil] },
      operations: { state: 'ok', value: [{ id: 'op-k3x9qa', verb: '<b>', state: 'x&y', requester: '<!here>', createdAt: NOW }] },
      spotEvents: { state: 'failed', code: 'internal', message: 'Spot events: <@U123> & co' },
      warnings: ['<!everyone>'],
    }));
    const body = allText(blocks);
    expect(body).toContain('&lt;!channel&gt; &amp; &lt;https://evil|click&gt;');
    expect(body).toContain('`a&lt;b`');
    expect(body).toContain('v1&amp;2');
    expect(body).toContain('`op-k3x9qa` &lt;b&gt; · x&amp;y · &lt;!here&gt;');
    expect(body).toContain(':x: Spot events: &lt;@U123&gt; &amp; co');
    expect(body).toContain('• &lt;!everyone&gt;');
    expect(body).not.toMatch(/<!(channel|here|everyone)>/);
    expect(text).not.toMatch(/[<>]/);
  });

  it('stays within Slack limits with hundreds of runners, operations and events', () => {
    const many = Array.from({ length: 400 }, (_, i) => runner(i + 1, { description: `${'x'.repeat(100)} [runner-ops:prod]` }));
    const { blocks } = renderStatusBlocks(report({
      runners: { state: 'ok', value: many },
      operations: { state: 'ok', value: Array.from({ length: 300 }, (_, i) => ({ id: `op-a${String(i).padStart(5, '0')}`, verb: 'rotate', state: 'queued', requester: 'U0ALICE', createdAt: NOW })) },
      warnings: Array.from({ length: 200 }, (_, i) => `warning ${i} ${'&'.repeat(50)}`),
    }));
    expectWithinLimits(blocks);
    const body = allText(blocks);
    expect(body).toMatch(/…and \d+ more/);
  });
});

describe('the stale-runner clean-up button', () => {
  const staleRunner = (id: number, over: Partial<Runner> = {}): RunnerReport => ({
    ...runner(id, { status: 'offline', contactedAt: new Date(NOW.getTime() - 30 * 86400_000), managerId: 'i-0aaaaaaaaaaaaaaa1', ...over }),
    stale: true,
    removable: true,
  });
  const buttonsOf = (blocks: SlackBlock[]) => blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));

  it('is absent when no runner is stale', () => {
    const { blocks } = renderStatusBlocks(report());
    expect(buttonsOf(blocks)).toEqual([]);
    expect(JSON.stringify(blocks)).not.toContain(REMOVE_STALE_ACTION_ID);
  });

  it('lists the stale runners and offers one danger button, with a confirm dialog, whose value is the environment', () => {
    const never = { ...staleRunner(12, { status: 'never_contacted', contactedAt: undefined }) };
    const { blocks } = renderStatusBlocks(report({ runners: { state: 'ok', value: [runner(11), staleRunner(10), never] } }));
    const body = allText(blocks);
    expect(body).toContain('*Stale runners* (2)\n• :red_circle: *#10* offline · contacted 30 days ago');
    expect(body).toContain('*#12* never contacted · never contacted');
    const buttons = buttonsOf(blocks);
    expect(buttons).toHaveLength(1);
    expect(buttons[0]).toMatchObject({ action_id: 'runner_remove_stale', value: 'prod', style: 'danger', text: { text: 'Remove 2 stale runners' } });
    expect(buttons[0]?.confirm).toMatchObject({ title: { type: 'plain_text' }, confirm: { text: 'Remove' }, deny: { text: 'Cancel' }, style: 'danger' });
    expect(buttons[0]?.confirm?.text.text).toContain('*prod*');
    // Right under the stale list, well within the 50 blocks.
    const at = blocks.findIndex((b) => b.type === 'actions');
    expect(allText([blocks[at - 1] as SlackBlock])).toContain('*Stale runners*');
    expectWithinLimits(blocks);
  });

  it('is absent when the only stale runner is one the clean-up would keep (the current manager\'s)', () => {
    const own = { ...staleRunner(10, { managerId: manager.id }), removable: false };
    const { blocks } = renderStatusBlocks(report({ runners: { state: 'ok', value: [runner(11), own] } }));
    expect(allText(blocks)).toContain('*Stale runners* (1)');
    expect(buttonsOf(blocks)).toEqual([]);
  });

  it('stays within Slack limits with hundreds of stale runners, the button kept', () => {
    const many = Array.from({ length: 400 }, (_, i) => staleRunner(i + 1, { description: `${'x'.repeat(100)} [runner-ops:prod]` }));
    const { blocks } = renderStatusBlocks(report({ runners: { state: 'ok', value: many }, warnings: Array.from({ length: 200 }, (_, i) => `warning ${i}`) }));
    expectWithinLimits(blocks);
    expect(buttonsOf(blocks)).toHaveLength(1);
    expect(allText(blocks)).toMatch(/\*Stale runners\* \(400\)[\s\S]*…and \d+ more/);
  });
});

describe('linesSection', () => {
  it('keeps whole lines and counts what it left out', () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i} ${'y'.repeat(20)}`);
    const block = linesSection('*T*', lines, 120);
    if (block.type !== 'section') throw new Error('expected a section');
    const text = block.text?.text ?? '';
    expect(text.length).toBeLessThanOrEqual(120);
    expect(text.split('\n').slice(1, -1).every((l) => l.startsWith('line '))).toBe(true);
    const shown = text.split('\n').length - 2;
    expect(text.endsWith(`…and ${10 - shown} more`)).toBe(true);
  });

  it('keeps everything when it fits', () => {
    const block = linesSection('*T*', ['a', 'b']);
    expect(block).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '*T*\na\nb' } });
  });
});
