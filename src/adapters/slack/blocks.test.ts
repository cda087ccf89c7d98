import fc from 'fast-check';
import {
  capBlocks, codeBlock, escapeMrkdwn, MAX_BLOCKS, MAX_SECTION_TEXT, section, slackDate, truncateSection, type Block,
} from './blocks';

describe('escapeMrkdwn', () => {
  it('escapes &, < and > (and nothing else)', () => {
    expect(escapeMrkdwn('a & b <@U123> <!channel> *x*')).toBe('a &amp; b &lt;@U123&gt; &lt;!channel&gt; *x*');
  });

  it('leaves no raw < or > and round-trips', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      const e = escapeMrkdwn(s);
      expect(e).not.toMatch(/[<>]/);
      expect(e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')).toBe(s);
    }));
  });
});

describe('truncateSection', () => {
  it('keeps text within 3,000 characters, ending with … when cut', () => {
    fc.assert(fc.property(fc.string({ maxLength: 4000, unit: 'grapheme' }), (s) => {
      const t = truncateSection(s);
      expect(t.length).toBeLessThanOrEqual(MAX_SECTION_TEXT);
      if (s.length > MAX_SECTION_TEXT) expect(t.endsWith('…')).toBe(true);
      else expect(t).toBe(s);
    }), { numRuns: 50 });
  });

  it('does not cut inside an entity or a mention', () => {
    expect(truncateSection('abc &amp; def', 8)).toBe('abc …');
    expect(truncateSection('hi <@U0123456> there', 10)).toBe('hi …');
  });

  it('is applied by section()', () => {
    const block = section('x'.repeat(5000));
    expect(block.text?.text.length).toBe(MAX_SECTION_TEXT);
  });
});

describe('codeBlock', () => {
  it('escapes content and defuses fences', () => {
    expect(codeBlock('a < b\n```\nrm')).toBe('```\na &lt; b\n`\u200b`\u200b`\nrm\n```');
  });

  it('keeps the end of long content within the limit', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i} <&>`).join('\n');
    const block = codeBlock(lines, 500);
    expect(block.length).toBeLessThanOrEqual(500);
    expect(block.startsWith('```\n…\n')).toBe(true);
    expect(block.endsWith('line 499 &lt;&amp;&gt;\n```')).toBe(true);
  });

  it('never exceeds the limit', () => {
    fc.assert(fc.property(fc.string({ maxLength: 3000 }), fc.integer({ min: 20, max: 3000 }), (s, max) => {
      expect(codeBlock(s, max).length).toBeLessThanOrEqual(max);
    }));
  });
});

describe('capBlocks', () => {
  it('keeps at most 50 blocks and says how many were left out', () => {
    const blocks: Block[] = Array.from({ length: 60 }, (_, i) => section(`b${i}`));
    const capped = capBlocks(blocks);
    expect(capped).toHaveLength(MAX_BLOCKS);
    expect(JSON.stringify(capped[49])).toContain('11 more blocks');
    expect(capBlocks(blocks.slice(0, 50))).toHaveLength(50);
  });
});

describe('slackDate', () => {
  it('renders a date token with an ISO fallback', () => {
    expect(slackDate(new Date('2025-01-02T03:04:05Z'))).toBe('<!date^1735787045^{date_short_pretty} {time}|2025-01-02T03:04:05.000Z>');
  });
});
