import { USAGE, VERBS } from './command';
import { helpText } from './help-text';

const environments = [
  { name: 'staging', mayRequest: true, approvalRequired: false },
  { name: 'prod', mayRequest: true, approvalRequired: true },
  { name: 'secret-lab', mayRequest: false, approvalRequired: true },
];

describe('helpText', () => {
  const text = helpText({ environments });
  const lines = text.split('\n');

  it.each(VERBS)('has one usage line for `%s`', (verb) => {
    const matching = lines.filter((l) => l.startsWith(`• \`/runner ${verb}`) && (l[`• \`/runner ${verb}`.length] === ' ' || l[`• \`/runner ${verb}`.length] === '`'));
    expect(matching).toHaveLength(1);
  });

  it('shows usage escaped for Slack (placeholders never read as links)', () => {
    expect(text).toContain('`/runner status &lt;env&gt;`');
    expect(text).toContain('`/runner verify-ecr &lt;env&gt; [&lt;image&gt;]`');
    expect(text).toContain('`/runner cancel &lt;operation-id&gt;`');
    expect(text).not.toMatch(/[<>]/);
    expect(Object.keys(USAGE).sort()).toEqual([...VERBS].sort());
  });

  it('explains --dry-run once and says destroy always needs approval', () => {
    expect(text.match(/--dry-run/g)).toHaveLength(1);
    expect(lines.find((l) => l.includes('/runner destroy'))).toMatch(/always needs approval/);
  });

  it('lists the environments this person may change, sorted, marking those that need approval', () => {
    expect(text).toContain('*Environments you may change:* `prod` (needs approval), `staging`');
    expect(text).toContain('Not open to you for changes: `secret-lab`');
  });

  it('says so when this person may change nothing', () => {
    const none = helpText({ environments: [{ name: 'prod', mayRequest: false, approvalRequired: true }] });
    expect(none).toContain('*Environments you may change:* none.');
    expect(none).toContain('Not open to you for changes: `prod`');
  });

  it('handles a fleet with no environments', () => {
    const empty = helpText({ environments: [] });
    expect(empty).toContain('none.');
    expect(empty).not.toContain('Not open to you');
  });

  it('escapes environment names (they come from a validated file, but the output is markup)', () => {
    expect(helpText({ environments: [{ name: 'a<b>&c', mayRequest: true, approvalRequired: false }] })).toContain('`a&lt;b&gt;&amp;c`');
  });

  it('stays short', () => {
    expect(lines.length).toBeLessThanOrEqual(VERBS.length + 5);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(160);
  });
});
