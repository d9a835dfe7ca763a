/**
 * Payload types and pure logic for the glm-jupyter front end.
 *
 * Nothing here touches the DOM or JupyterLab services, so it can be unit-tested on its
 * own. The shapes mirror `response_json` (glm_jupyter/display/bundle.py) and
 * `Step.as_dict`, whose JSON Schemas are glm_jupyter/schemas/*.schema.json;
 * test/schemas.test.ts holds the interfaces and the schemas together.
 */

/** MIME type of one model reply. */
export const RESPONSE_MIME = 'application/vnd.glm.response+json';
/** MIME type of one agent step card. */
export const STEP_MIME = 'application/vnd.glm.step+json';

/* ------------------------------------------------------------------ types */

/** Token counts of one reply (`Usage.as_dict`). */
export interface IUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

/** One OpenAI-style tool call; `arguments` may be partial JSON while streaming. */
export interface IToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

/** One item of context that was sent with the prompt. */
export interface IContextItem {
  name: string;
  tokens: number;
  brief?: string;
}

/** One agent step (`Step.as_dict`). */
export interface IStep {
  index: number;
  tool: string;
  arguments: string;
  reasoning: string;
  approval: string;
  output: string;
  elapsed_s: number;
  status: string;
}

/** One model reply (`response_json`); `usage` is null while streaming. */
export interface IResponse {
  version: number;
  model: string;
  provider: string;
  status: 'streaming' | 'done' | 'interrupted' | 'error' | string;
  reasoning: string;
  content: string;
  tool_calls: IToolCall[];
  usage: IUsage | null;
  cost_usd: number | null;
  elapsed_s: number;
  /** Seconds spent thinking before the answer started; null while unknown. */
  thinking_s?: number | null;
  finish_reason: string | null;
  error: string | null;
  simulator: boolean;
  context: IContextItem[];
  steps?: IStep[];
  /** While streaming: the stream's name on the delta channel. */
  stream_id?: string;
  /** A fallback update's reasoning is only its tail: characters left out before it. */
  reasoning_omitted?: number;
  /** Agent runs: each time the prompt was compacted to fit the model's window. */
  compactions?: ICompaction[];
}

/** One compaction of an agent run's prompt. */
export interface ICompaction {
  step: number;
  kind: 'shrink' | 'summary' | string;
  tokens_before: number;
  tokens_after: number;
  shrunk_results: number;
  folded_steps: number;
  window: number;
}

/* ----------------------------------------------------------- payload keys */

/** Every key of `T`, mapped to true where `T` requires it and false where it is optional. */
export type KeyFlags<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? false : true };

// The interfaces above as values, so tests can hold them against the JSON Schemas in
// glm_jupyter/schemas; the compiler keeps each map in step with its interface.

/** The keys of `IResponse`. */
export const RESPONSE_KEYS: KeyFlags<IResponse> = {
  version: true,
  model: true,
  provider: true,
  status: true,
  reasoning: true,
  content: true,
  tool_calls: true,
  usage: true,
  cost_usd: true,
  elapsed_s: true,
  thinking_s: false,
  finish_reason: true,
  error: true,
  simulator: true,
  context: true,
  steps: false,
  stream_id: false,
  reasoning_omitted: false,
  compactions: false
};

/** The keys of `ICompaction`. */
export const COMPACTION_KEYS: KeyFlags<ICompaction> = {
  step: true,
  kind: true,
  tokens_before: true,
  tokens_after: true,
  shrunk_results: true,
  folded_steps: true,
  window: true
};

/** The keys of `IUsage`. */
export const USAGE_KEYS: KeyFlags<IUsage> = {
  prompt_tokens: true,
  completion_tokens: true,
  cached_tokens: false,
  reasoning_tokens: false
};

/** The keys of `IToolCall`. */
export const TOOL_CALL_KEYS: KeyFlags<IToolCall> = {
  id: true,
  type: true,
  function: true
};

/** The keys of `IToolCall['function']`. */
export const TOOL_FUNCTION_KEYS: KeyFlags<IToolCall['function']> = {
  name: true,
  arguments: true
};

/** The keys of `IContextItem`. */
export const CONTEXT_ITEM_KEYS: KeyFlags<IContextItem> = {
  name: true,
  tokens: true,
  brief: false
};

/** The keys of `IStep`. */
export const STEP_KEYS: KeyFlags<IStep> = {
  index: true,
  tool: true,
  arguments: true,
  reasoning: true,
  approval: true,
  output: true,
  elapsed_s: true,
  status: true
};

/* ------------------------------------------------------------- formatting */

/** An integer with thousands separators, as Python's `{:,}` writes it. */
export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A cost in dollars: four decimals below $1, two above (as bundle.footer). */
export function fmtCost(cost: number): string {
  return cost < 1 ? `$${cost.toFixed(4)}` : `$${cost.toFixed(2)}`;
}

/** A fenced code block whose fence is longer than any backtick run inside. */
export function fence(code: string, language: string): string {
  const runs = code.match(/`+/g) || [];
  const longest = runs.reduce((m, r) => Math.max(m, r.length), 0);
  const ticks = '`'.repeat(Math.max(3, longest + 1));
  return `${ticks}${language}\n${code}\n${ticks}`;
}

/** The `code` of run_python arguments, even while their JSON is still streaming in. */
export function partialCode(args: string): string | null {
  try {
    const value = JSON.parse(args);
    if (value && typeof value === 'object' && typeof value.code === 'string') {
      return value.code;
    }
    return null;
  } catch {
    // still streaming: fall through
  }
  const match = /^\s*\{\s*"code"\s*:\s*"([\s\S]*)$/.exec(args);
  if (!match) {
    return null;
  }
  const fragment = match[1];
  // The fragment may end inside an escape (`\`, `\u00`) or right before the closing
  // quote; dropping up to six characters always reaches a decodable prefix.
  for (let cut = 0; cut < 7; cut++) {
    try {
      return JSON.parse(`"${fragment.slice(0, fragment.length - cut)}"`);
    } catch {
      continue;
    }
  }
  return null;
}

/** Tool arguments as Markdown: run_python's code as Python, anything else as JSON. */
export function argumentsMarkdown(tool: string, args: string): string {
  if (tool === 'run_python') {
    const code = partialCode(args);
    if (code !== null) {
      return fence(code, 'python');
    }
  }
  let shown = args;
  try {
    shown = JSON.stringify(JSON.parse(args || '{}'), null, 2);
  } catch {
    // partial JSON: show as it is
  }
  return fence(shown, 'json');
}

/** The tool calls of a reply as one Markdown string. */
export function toolCallsMarkdown(calls: IToolCall[]): string {
  return calls
    .map(
      c =>
        `**Calling \`${c.function.name}\`**\n\n` +
        argumentsMarkdown(c.function.name, c.function.arguments)
    )
    .join('\n\n');
}

/** The footer line; matches `bundle.footer()` except tok/s, which JSON lacks. */
export function footerText(data: IResponse): string {
  const parts: string[] = [
    data.model,
    data.provider + (data.simulator ? ' (simulator)' : '')
  ];
  const usage = data.usage;
  if (usage) {
    let cached = '';
    if (usage.cached_tokens && usage.prompt_tokens) {
      const share = Math.round((100 * usage.cached_tokens) / usage.prompt_tokens);
      cached = ` (${fmtInt(usage.cached_tokens)} cached, ${share}%)`;
    }
    parts.push(`${fmtInt(usage.prompt_tokens)} in${cached}`);
    const thought = usage.reasoning_tokens
      ? ` (${fmtInt(usage.reasoning_tokens)} reasoning)`
      : '';
    parts.push(`${fmtInt(usage.completion_tokens)} out${thought}`);
  }
  if (data.cost_usd !== null && data.cost_usd !== undefined) {
    parts.push(fmtCost(data.cost_usd));
  }
  parts.push(`${(data.elapsed_s || 0).toFixed(1)} s`);
  return parts.join(' · ');
}

/* --------------------------------------------------------- token estimate */

// A port of glm_jupyter/tokens.py. Python's `str` regex classes are Unicode-aware, so
// the JavaScript one spells them out: `\d` is Unicode decimal digits (Nd); Python's
// "word but not digit or underscore" is letters plus the other numeric characters
// (Nl, No); Python's whitespace includes \x1c-\x1f and \x85 but not \ufeff, unlike JS.
const CJK = '\\u2e80-\\u9fff\\uac00-\\ud7af\\uf900-\\ufaff';
const SPACE =
  '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const TOKEN_SOURCE =
  '[A-Za-z]{1,6}' +
  '|\\p{Nd}{1,3}' +
  `|(?:(?![A-Za-z${CJK}])[\\p{L}\\p{Nl}\\p{No}]){1,3}` +
  `|[^${SPACE}]`;

/** Estimated BPE tokens in `text`, the same count as tokens.estimate_tokens. */
export function estimateTokens(text: string): number {
  // A fresh RegExp per call: a shared global one would carry lastIndex between calls.
  const re = new RegExp(TOKEN_SOURCE, 'gu');
  let count = 0;
  while (re.exec(text) !== null) {
    count++;
  }
  return count;
}

/* ---------------------------------------------------------- thinking panel */

/** What the Thinking summary needs to know. */
export interface IThinkingHeader {
  /** True while the model is still thinking (streaming, no answer yet). */
  thinking: boolean;
  /** Seconds to show: elapsed so far while thinking, thinking time after. */
  seconds: number | null;
  /** The reasoning text, for a token estimate when usage has no count. */
  reasoning: string;
  usage: IUsage | null;
  /** `estimateTokens(reasoning)` when the caller already has it (saves a scan). */
  estimate?: number;
}

/** The Thinking summary: "Thinking… N s · ~T tokens", then "Thought for N.N s". */
export function thinkingHeader(h: IThinkingHeader): string {
  const exact = h.usage?.reasoning_tokens;
  if (h.thinking) {
    const seconds = Math.max(0, Math.floor(h.seconds ?? 0));
    // A tilde marks an estimate; the exact count only comes with the final usage.
    const tokens = exact
      ? `${fmtInt(exact)} tokens`
      : `~${fmtInt(h.estimate ?? estimateTokens(h.reasoning))} tokens`;
    return `Thinking… ${seconds} s · ${tokens}`;
  }
  const head =
    h.seconds !== null && h.seconds !== undefined && isFinite(h.seconds)
      ? `Thought for ${h.seconds.toFixed(1)} s`
      : 'Thought';
  return exact ? `${head} · ${fmtInt(exact)} tokens` : head;
}

/** Whether the panel should be open: the person's own choice wins once made. */
export function thinkingOpen(thinking: boolean, userChoice: boolean | null): boolean {
  return userChoice ?? thinking;
}

/** Seconds elapsed now, given the payload's `elapsed_s` and when it arrived (ms). */
export function liveSeconds(elapsed: number, receivedAt: number, now: number): number {
  return (elapsed || 0) + Math.max(0, now - receivedAt) / 1000;
}

/* -------------------------------------------------------- notebook totals */

/** What the status bar shows for one notebook. */
export interface INotebookTotals {
  /** Number of GLM responses in the notebook. */
  responses: number;
  /** Model, provider and simulator flag of the last response in notebook order. */
  model: string;
  provider: string;
  simulator: boolean;
  /** Prompt plus completion tokens over every response that has usage. */
  tokens: number;
  /** How many responses carried usage (streaming ones do not yet). */
  withUsage: number;
  /** Sum of the known costs; null when no response has a cost. */
  cost: number | null;
}

function isResponse(value: unknown): value is IResponse {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function num(value: unknown): number {
  return typeof value === 'number' && isFinite(value) ? value : 0;
}

/** Totals over response payloads in notebook order; null when there are none. */
export function notebookTotals(payloads: readonly unknown[]): INotebookTotals | null {
  const responses = payloads.filter(isResponse);
  if (!responses.length) {
    return null;
  }
  const last = responses[responses.length - 1];
  const totals: INotebookTotals = {
    responses: responses.length,
    model: String(last.model ?? ''),
    provider: String(last.provider ?? ''),
    simulator: !!last.simulator,
    tokens: 0,
    withUsage: 0,
    cost: null
  };
  for (const r of responses) {
    if (r.usage && typeof r.usage === 'object') {
      totals.tokens += num(r.usage.prompt_tokens) + num(r.usage.completion_tokens);
      totals.withUsage++;
    }
    if (typeof r.cost_usd === 'number' && isFinite(r.cost_usd)) {
      totals.cost = (totals.cost ?? 0) + r.cost_usd;
    }
  }
  return totals;
}

/** The status bar text, e.g. "GLM glm-5.1 · zai · 1,234 tokens · $0.0123". */
export function statusText(t: INotebookTotals): string {
  const parts = [
    `GLM ${t.model}`.trim(),
    t.provider + (t.simulator ? ' (simulator)' : '')
  ];
  if (t.withUsage) {
    parts.push(`${fmtInt(t.tokens)} tokens`);
  }
  if (t.cost !== null) {
    parts.push(fmtCost(t.cost));
  }
  return parts.filter(p => p).join(' · ');
}

/** The status bar tooltip: how many replies the totals cover. */
export function statusTitle(t: INotebookTotals): string {
  const replies = t.responses === 1 ? '1 GLM reply' : `${t.responses} GLM replies`;
  const pending = t.responses - t.withUsage;
  const note = pending ? ` (${pending} without usage yet)` : '';
  return (
    `${replies} in this notebook${note}. ` +
    "Model and provider are the last reply's; tokens and cost are totals."
  );
}

/* ---------------------------------------------------------- cell commands */

/** The three cell commands. */
export type CellCommandKind = 'ask' | 'explain' | 'fix';

/** Their command ids; schema/commands.json binds their keys. */
/** Edit Cell with GLM… (`edit.ts`). */
export const EDIT_COMMAND = 'glm-jupyter:edit-cell';

export const CommandIDs = {
  ask: 'glm-jupyter:ask-cell',
  explain: 'glm-jupyter:explain-error',
  fix: 'glm-jupyter:fix-cell'
} as const;

const ASK_RUN =
  'What does this cell do? Point out anything that looks wrong or could be better.';
const ASK_SOURCE =
  'What does this code do? Point out anything that looks wrong or could be better.';
const FIX_SOURCE =
  'Fix this code and give the complete corrected cell in one python block.';

/**
 * The source of the new cell a command inserts, or null when the command does not
 * apply (explain needs a run cell; a never-run empty cell has nothing to ask about).
 */
export function cellCommandText(
  kind: CellCommandKind,
  executionCount: number | null | undefined,
  source: string
): string | null {
  // A run cell is referred to by its execution count, so the kernel reads the exact
  // source and outputs it ran; a never-run cell can only be sent as text.
  if (typeof executionCount === 'number' && executionCount > 0) {
    const n = executionCount;
    switch (kind) {
      case 'ask':
        return `%%glm --cell ${n}\n${ASK_RUN}`;
      case 'explain':
        return `%glm explain --cell ${n}`;
      case 'fix':
        return `%glm fix --cell ${n}`;
    }
  }
  if (kind === 'explain' || !source.trim()) {
    return null;
  }
  return kind === 'ask'
    ? `%%glm\n${ASK_SOURCE}\n\n${fence(source, 'python')}`
    : `%%glm --code\n${FIX_SOURCE}\n\n${fence(source, 'python')}`;
}
