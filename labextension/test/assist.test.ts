import { describe, expect, it } from 'vitest';

import { AssistUsage, assistText } from '../src/assist';

describe('assistText', () => {
  it('says nothing before any completion or edit', () => {
    expect(assistText(undefined)).toBe('');
    expect(assistText({ completions: { requests: 0, tokens: 0, cost: 0 } })).toBe('');
  });

  it('counts completions and edits, with their cost', () => {
    expect(
      assistText({
        completions: { requests: 12, tokens: 3456, cost: 0.001 },
        edits: { requests: 1, tokens: 900, cost: 0.0005 }
      })
    ).toBe('GLM completions 12 (3,456 tokens), edits 1 (900 tokens) · $0.0015');
  });

  it('leaves the cost out when a self-hosted model costs nothing or it is unknown', () => {
    expect(assistText({ edits: { requests: 2, tokens: 10, cost: 0 } })).toBe(
      'GLM edits 2 (10 tokens)'
    );
    expect(assistText({ completions: { requests: 1, tokens: 5, cost: null } })).toBe(
      'GLM completions 1 (5 tokens)'
    );
  });
});

describe('AssistUsage', () => {
  it('keeps the latest totals per kernel and ignores malformed ones', () => {
    const usage = new AssistUsage();
    const seen: string[] = [];
    usage.changed.connect((_, id) => seen.push(id));
    usage.record('k1', 'completions', { requests: 1, tokens: 50, cost: null });
    usage.record('k1', 'completions', { requests: 2, tokens: 90, cost: null });
    usage.record('k1', 'edits', { requests: 1, tokens: 70, cost: null });
    usage.record('k2', 'edits', { requests: 'x' });
    expect(usage.get('k1')).toEqual({
      completions: { requests: 2, tokens: 90, cost: null },
      edits: { requests: 1, tokens: 70, cost: null }
    });
    expect(usage.get('k2')).toBeUndefined();
    expect(seen).toEqual(['k1', 'k1', 'k1']);
  });
});
