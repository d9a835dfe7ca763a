import { describe, expect, it } from 'vitest';

import { fold } from '../src/completer';

describe('fold', () => {
  it('adds the text pieces of a batch', () => {
    expect(fold('sales[', [{ text: "'q" }, { text: "uarter'" }])).toEqual({
      text: "sales['quarter'"
    });
  });

  it('stops at the last piece, done or error, and hands it back', () => {
    const done = { done: true, insert: 'x.sum()' };
    expect(fold('', [{ text: 'x.' }, done, { text: 'ignored' }])).toEqual({
      text: 'x.',
      last: done
    });
    const error = { error: 'The classroom policy allows no more tokens today.' };
    expect(fold('x', [error])).toEqual({ text: 'x', last: error });
  });
});
