import { describe, expect, it } from 'vitest';

import {
  argumentsMarkdown,
  cellCommandText,
  estimateTokens,
  fence,
  footerText,
  liveSeconds,
  notebookTotals,
  partialCode,
  statusText,
  thinkingHeader,
  thinkingOpen,
  toolCallsMarkdown
} from '../src/model';
import { response } from './payloads';

describe('partialCode', () => {
  it('decodes complete JSON', () => {
    expect(partialCode('{"code": "print(1)\\nprint(2)"}')).toBe('print(1)\nprint(2)');
  });

  it('returns null for complete JSON without a code string', () => {
    expect(partialCode('{"path": "a.txt"}')).toBeNull();
    expect(partialCode('{"code": 3}')).toBeNull();
    expect(partialCode('[1, 2]')).toBeNull();
  });

  it('decodes partial JSON', () => {
    expect(partialCode('{"code": "import os\\nos.getc')).toBe('import os\nos.getc');
  });

  it('drops an escape cut off mid-way', () => {
    expect(partialCode('{"code": "a\\')).toBe('a');
    expect(partialCode('{"code": "a\\u00')).toBe('a');
    expect(partialCode('{"code": "tab\\u0009x\\u2')).toBe('tab\tx');
  });

  it('returns null when the arguments are not run_python-shaped', () => {
    expect(partialCode('{"query": "wea')).toBeNull();
    expect(partialCode('')).toBeNull();
  });
});

describe('fence', () => {
  it('uses three backticks by default', () => {
    expect(fence('x = 1', 'python')).toBe('```python\nx = 1\n```');
  });

  it('outgrows the longest backtick run inside', () => {
    expect(fence('s = """```"""', 'python')).toBe('````python\ns = """```"""\n````');
    expect(fence('a ````` b', '')).toBe('``````\na ````` b\n``````');
  });
});

describe('argumentsMarkdown', () => {
  it('shows run_python code as Python', () => {
    expect(argumentsMarkdown('run_python', '{"code": "1+1"}')).toBe(
      '```python\n1+1\n```'
    );
  });

  it('shows other tools (and non-run_python shapes) as pretty JSON', () => {
    expect(argumentsMarkdown('read_file', '{"path":"a"}')).toBe(
      '```json\n{\n  "path": "a"\n}\n```'
    );
    expect(argumentsMarkdown('read_file', '{"path":"a')).toBe(
      '```json\n{"path":"a\n```'
    );
  });

  it('lists tool calls', () => {
    const md = toolCallsMarkdown([
      {
        id: '1',
        type: 'function',
        function: { name: 'run_python', arguments: '{"code": "x"}' }
      }
    ]);
    expect(md).toBe('**Calling `run_python`**\n\n```python\nx\n```');
  });
});

describe('footerText', () => {
  it('shows the cached share, reasoning and a sub-dollar cost', () => {
    const data = response({
      usage: {
        prompt_tokens: 12345,
        completion_tokens: 678,
        cached_tokens: 4000,
        reasoning_tokens: 1500
      },
      cost_usd: 0.01234
    });
    expect(footerText(data)).toBe(
      'glm-5.1 · zai · 12,345 in (4,000 cached, 32%) · 678 out (1,500 reasoning) · $0.0123 · 2.3 s'
    );
  });

  it('writes costs of a dollar or more with two decimals', () => {
    expect(footerText(response({ cost_usd: 1.5 }))).toBe(
      'glm-5.1 · zai · 1,000 in · 200 out · $1.50 · 2.3 s'
    );
  });

  it('leaves out usage and cost while streaming, and marks the simulator', () => {
    const data = response({
      usage: null,
      cost_usd: null,
      status: 'streaming',
      simulator: true,
      elapsed_s: 0.04
    });
    expect(footerText(data)).toBe('glm-5.1 · zai (simulator) · 0.0 s');
  });
});

describe('thinking header', () => {
  it('counts seconds and estimated tokens while thinking', () => {
    expect(
      thinkingHeader({
        thinking: true,
        seconds: 3.9,
        reasoning: 'Hello, world!',
        usage: null
      })
    ).toBe('Thinking… 3 s · ~4 tokens');
  });

  it('prefers the reported reasoning tokens', () => {
    expect(
      thinkingHeader({
        thinking: true,
        seconds: 12,
        reasoning: 'Hello',
        usage: { prompt_tokens: 1, completion_tokens: 2, reasoning_tokens: 1234 }
      })
    ).toBe('Thinking… 12 s · 1,234 tokens');
  });

  it('says how long it thought once the answer starts', () => {
    expect(
      thinkingHeader({ thinking: false, seconds: 4.26, reasoning: 'x', usage: null })
    ).toBe('Thought for 4.3 s');
    expect(
      thinkingHeader({
        thinking: false,
        seconds: 4,
        reasoning: 'x',
        usage: { prompt_tokens: 1, completion_tokens: 2, reasoning_tokens: 2500 }
      })
    ).toBe('Thought for 4.0 s · 2,500 tokens');
    expect(
      thinkingHeader({ thinking: false, seconds: null, reasoning: 'x', usage: null })
    ).toBe('Thought');
  });

  it('opens while thinking unless the person chose otherwise', () => {
    expect(thinkingOpen(true, null)).toBe(true);
    expect(thinkingOpen(false, null)).toBe(false);
    expect(thinkingOpen(true, false)).toBe(false);
    expect(thinkingOpen(false, true)).toBe(true);
  });

  it('advances the clock from the last payload', () => {
    expect(liveSeconds(2.5, 10_000, 13_000)).toBe(5.5);
    expect(liveSeconds(2.5, 10_000, 9_000)).toBe(2.5);
  });
});

describe('estimateTokens matches glm_jupyter.tokens.estimate_tokens', () => {
  // Expected counts from: python -c "from glm_jupyter.tokens import estimate_tokens; ..."
  const cases: [string, number][] = [
    ['Hello, world!', 4],
    ['The quick brown fox jumps over the lazy dog.', 10],
    ['x_y = 12345678 + 0.5', 11],
    ['naïve café résumé', 9],
    ['Привет, мир! Αλφα', 7],
    ['中文测试 abc 한국어', 8],
    ['emoji 🎉🎉 done', 4],
    ['²½ Ⅻ ٣٤٥٦', 4],
    ['a\ufeffb\x1fc\x85d', 5],
    ['def f(x):\n    return x**2  # square', 13],
    ['e\u0301tude', 3],
    ['', 0]
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => {
      expect(estimateTokens(text)).toBe(expected);
    });
  }
});

describe('notebookTotals', () => {
  it('is null without responses', () => {
    expect(notebookTotals([])).toBeNull();
    expect(notebookTotals([null, 'x', 3])).toBeNull();
  });

  it('takes model and provider from the last response and sums tokens and cost', () => {
    const totals = notebookTotals([
      response({ model: 'glm-4.6', provider: 'openrouter', cost_usd: 0.01 }),
      response({
        model: 'glm-5.1',
        provider: 'zai',
        simulator: true,
        usage: { prompt_tokens: 30, completion_tokens: 4 },
        cost_usd: 0.0023
      })
    ])!;
    expect(totals).toMatchObject({
      responses: 2,
      model: 'glm-5.1',
      provider: 'zai',
      simulator: true,
      tokens: 1234,
      withUsage: 2
    });
    expect(totals.cost).toBeCloseTo(0.0123, 10);
    expect(statusText(totals)).toBe(
      'GLM glm-5.1 · zai (simulator) · 1,234 tokens · $0.0123'
    );
  });

  it('skips missing usage and cost', () => {
    const totals = notebookTotals([
      response({ cost_usd: null }),
      response({
        status: 'streaming',
        usage: null,
        cost_usd: null,
        model: 'glm-5.1-air'
      })
    ])!;
    expect(totals).toMatchObject({
      responses: 2,
      tokens: 1200,
      withUsage: 1,
      cost: null
    });
    expect(statusText(totals)).toBe('GLM glm-5.1-air · zai · 1,200 tokens');
  });

  it('shows no token count when no response has usage yet', () => {
    const totals = notebookTotals([
      response({ status: 'streaming', usage: null, cost_usd: null })
    ])!;
    expect(statusText(totals)).toBe('GLM glm-5.1 · zai');
  });
});

describe('cellCommandText', () => {
  it('refers to a run cell by its execution count', () => {
    expect(cellCommandText('ask', 7, 'x = 1')).toBe(
      '%%glm --cell 7\nWhat does this cell do? Point out anything that looks wrong or could be better.'
    );
    expect(cellCommandText('explain', 7, 'x = 1')).toBe('%glm explain --cell 7');
    expect(cellCommandText('fix', 12, '')).toBe('%glm fix --cell 12');
  });

  it('sends the source of a never-run cell', () => {
    expect(cellCommandText('ask', null, 'x = 1')).toBe(
      '%%glm\nWhat does this code do? Point out anything that looks wrong or could be better.\n\n```python\nx = 1\n```'
    );
    expect(cellCommandText('fix', null, 'x = 1')).toBe(
      '%%glm --code\nFix this code and give the complete corrected cell in one python block.\n\n```python\nx = 1\n```'
    );
  });

  it('fences source that holds backticks with a longer fence', () => {
    const source = 'doc = """\n```\nexample\n```\n"""';
    expect(cellCommandText('ask', undefined, source)).toBe(
      '%%glm\nWhat does this code do? Point out anything that looks wrong or could be better.\n\n' +
        '````python\n' +
        source +
        '\n````'
    );
  });

  it('does not apply to explain without a run, nor to an empty never-run cell', () => {
    expect(cellCommandText('explain', null, 'x = 1')).toBeNull();
    expect(cellCommandText('ask', null, '  \n')).toBeNull();
    expect(cellCommandText('fix', null, '')).toBeNull();
  });
});
