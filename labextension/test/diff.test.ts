import { describe, expect, it } from 'vitest';

import { lineDiff, renderDiff } from '../src/diff';

describe('lineDiff', () => {
  it('keeps common lines and marks the changed ones', () => {
    const before =
      'doubled = []\nfor u in units:\n    doubled.append(u * 2)\nprint(doubled)';
    const after = 'doubled = [u * 2 for u in units]\nprint(doubled)';
    const kinds = lineDiff(before, after).map(l => `${l.kind}:${l.text}`);
    expect(kinds).toEqual([
      'del:doubled = []',
      'del:for u in units:',
      'del:    doubled.append(u * 2)',
      'add:doubled = [u * 2 for u in units]',
      'same:print(doubled)'
    ]);
  });

  it('is all the same for equal texts and all added from nothing', () => {
    expect(lineDiff('a\nb', 'a\nb').every(l => l.kind === 'same')).toBe(true);
    expect(lineDiff('', 'x').map(l => l.kind)).toEqual(['del', 'add']);
  });

  it('renders a line per row, marked', () => {
    const box = document.createElement('div');
    renderDiff(lineDiff('a', 'b'), box);
    const rows = Array.from(box.querySelectorAll('div')).map(r => [
      r.className,
      r.textContent
    ]);
    expect(rows).toEqual([
      ['jp-GLM-diff-del', '- a'],
      ['jp-GLM-diff-add', '+ b']
    ]);
  });
});
