import { describe, expect, it } from 'vitest';

import { pieceBatches } from '../src/completer';
import { Answer } from '../src/socket';

async function all(answer: Answer): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of answer) {
    out.push(chunk);
  }
  return out;
}

describe('Answer', () => {
  it('gives what arrived since the last read as one chunk, then ends', async () => {
    const answer = new Answer();
    answer.push('{"text": "a"}\n');
    answer.push('{"text": "b"}\n');
    answer.end();
    expect(await all(answer)).toEqual(['{"text": "a"}\n{"text": "b"}\n']);
  });

  it('wakes a waiting reader and fails at once when cancelled', async () => {
    const answer = new Answer();
    const reading = all(answer);
    answer.push('x');
    await Promise.resolve();
    answer.push('dropped');
    answer.fail(new Error('Cancelled.'));
    await expect(reading).rejects.toThrow('Cancelled.');
  });

  it('feeds pieceBatches, a line split across chunks included', async () => {
    const answer = new Answer();
    const batches = pieceBatches(answer);
    answer.push('{"text": "sa');
    answer.push('les"}\n{"done": true, "insert": "sales"}\n');
    answer.end();
    const got = [];
    for await (const batch of batches) {
      got.push(batch);
    }
    expect(got).toEqual([[{ text: 'sales' }, { done: true, insert: 'sales' }]]);
  });
});
