import { describe, expect, it } from 'vitest';

import { blockEnds } from '../src/blocks';

/** The blocks `blockEnds` cuts `text` into, the open tail last. */
function blocks(text: string): string[] {
  const parts: string[] = [];
  let at = 0;
  for (const end of blockEnds(text)) {
    parts.push(text.slice(at, end));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}

describe('blockEnds', () => {
  it('ends a block where a new one starts after a blank line', () => {
    expect(blocks('One.\n\nTwo.\n\nThr')).toEqual(['One.\n\n', 'Two.\n\n', 'Thr']);
  });

  it('waits for the next block to start before closing one', () => {
    expect(blocks('One.\n\n')).toEqual(['One.\n\n']);
    expect(blockEnds('One.\n\n')).toEqual([]);
  });

  it('keeps fenced code whole, blank lines and all', () => {
    const code = '```python\nx = 1\n\n\ny = 2\n```\n\nAfter.\n';
    expect(blocks(code)).toEqual(['```python\nx = 1\n\n\ny = 2\n```\n\n', 'After.\n']);
    expect(blockEnds('~~~~\na\n\nb\n~~~\n\nc\n')).toEqual([]);
  });

  it('keeps display math whole', () => {
    expect(blocks('$$\na\n\nb\n$$\n\nc\n')).toEqual(['$$\na\n\nb\n$$\n\n', 'c\n']);
  });

  it('does not cut before an indented line, which may continue a list item', () => {
    expect(blocks('- a\n\n  more of a\n\n- b\n')).toEqual([
      '- a\n\n  more of a\n\n',
      '- b\n'
    ]);
  });

  it('joins back to the text', () => {
    const text =
      '# T\n\nPara one\nstill one.\n\n```\ncode\n\n```\n\n1. x\n\n2. y\n\ntail';
    expect(blocks(text).join('')).toBe(text);
  });
});
