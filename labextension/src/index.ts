/**
 * JupyterLab 4 MIME renderer for glm-jupyter.
 *
 * - `application/vnd.glm.response+json`: one model reply (Thinking panel, answer as
 *   Markdown, tool calls, error box, footer). Updated in place while it streams.
 * - `application/vnd.glm.step+json`: one agent step card (tool, status, approval,
 *   elapsed, arguments, output).
 *
 * The shapes mirror glm_jupyter/bundle.py (`response_json`) and glm_jupyter/agent.py
 * (`Step.as_dict`).
 */

import { MimeModel, renderMarkdown } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { PanelLayout, Widget } from '@lumino/widgets';

export const RESPONSE_MIME = 'application/vnd.glm.response+json';
export const STEP_MIME = 'application/vnd.glm.step+json';

/* ------------------------------------------------------------------ types */

export interface IUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
  reasoning_tokens?: number;
}

export interface IToolCall {
  id: string;
  type: string;
  function: { name: string; arguments: string };
}

export interface IContextItem {
  name: string;
  tokens: number;
  brief?: string;
}

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
  finish_reason: string | null;
  error: string | null;
  simulator: boolean;
  context: IContextItem[];
  steps?: IStep[];
  /** Not sent yet by the Python side; used when present. */
  thinking_s?: number | null;
}

/* ---------------------------------------------------------------- helpers */

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

function fmtCost(cost: number): string {
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
  for (let cut = 0; cut < 7; cut++) {
    try {
      return JSON.parse(`"${fragment.slice(0, fragment.length - cut)}"`);
    } catch {
      continue;
    }
  }
  return null;
}

/** Arguments as Markdown: run_python's code as Python, anything else as JSON. */
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

/**
 * A region of Markdown, rendered through the application's rendermime registry when
 * the options carry one, else through `renderMarkdown`.
 */
class MarkdownRegion extends Widget {
  constructor(private _options: IRenderMime.IRendererOptions) {
    super();
    this.addClass('jp-GLM-markdown');
    const registry = (_options as any).rendermime as
      | { createRenderer(mimeType: string): IRenderMime.IRenderer }
      | undefined;
    if (registry && typeof registry.createRenderer === 'function') {
      try {
        this._inner = registry.createRenderer('text/markdown');
        const layout = new PanelLayout();
        layout.addWidget(this._inner);
        this.layout = layout;
      } catch {
        this._inner = null;
      }
    }
  }

  /** Render `source`; skipped when it has not changed. */
  async render(source: string, trusted: boolean): Promise<void> {
    if (source === this._source) {
      return;
    }
    this._source = source;
    if (this._inner) {
      const model = new MimeModel({ data: { 'text/markdown': source }, trusted });
      await this._inner.renderModel(model);
      return;
    }
    const o = this._options;
    await renderMarkdown({
      host: this.node,
      source,
      trusted,
      sanitizer: o.sanitizer,
      resolver: o.resolver,
      linkHandler: o.linkHandler,
      shouldTypeset: this.isAttached,
      latexTypesetter: o.latexTypesetter,
      markdownParser: o.markdownParser ?? null,
      translator: o.translator
    });
  }

  private _inner: IRenderMime.IRenderer | null = null;
  private _source: string | null = null;
}

/** Wrap a plain node as a widget so it can sit in a PanelLayout. */
function nodeWidget(node: HTMLElement): Widget {
  return new Widget({ node });
}

/* -------------------------------------------------------- response widget */

export class ResponseRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-GLM-response');
    const layout = new PanelLayout();
    this.layout = layout;

    // Thinking panel
    this._details = el('details', 'jp-GLM-thinking');
    this._summary = el('summary', 'jp-GLM-thinking-summary');
    this._details.appendChild(this._summary);
    this._reasoning = new MarkdownRegion(options);
    this._reasoning.addClass('jp-GLM-reasoning');
    this._details.addEventListener('toggle', () => {
      // A toggle we did not ask for is the person's own choice: keep it from now on.
      if (this._details.open !== this._autoOpen) {
        this._userOpen = this._details.open;
      }
    });
    this._thinking = nodeWidget(this._details);
    layout.addWidget(this._thinking);
    // The reasoning region lives inside <details>; attach it there.
    this._thinkingBody = el('div', 'jp-GLM-thinking-body');
    this._details.appendChild(this._thinkingBody);

    this._waiting = nodeWidget(el('div', 'jp-GLM-waiting', 'Waiting for the model…'));
    layout.addWidget(this._waiting);

    this._content = new MarkdownRegion(options);
    this._content.addClass('jp-GLM-content');
    layout.addWidget(this._content);

    this._tools = new MarkdownRegion(options);
    this._tools.addClass('jp-GLM-toolcalls');
    layout.addWidget(this._tools);

    this._status = nodeWidget(el('div', 'jp-GLM-status'));
    layout.addWidget(this._status);

    this._error = nodeWidget(el('div', 'jp-GLM-error'));
    layout.addWidget(this._error);

    this._contextLine = nodeWidget(el('div', 'jp-GLM-context'));
    layout.addWidget(this._contextLine);

    this._footer = nodeWidget(el('div', 'jp-GLM-footer'));
    layout.addWidget(this._footer);
  }

  protected onAfterAttach(msg: any): void {
    super.onAfterAttach(msg);
    if (!this._reasoning.isAttached && this._thinkingBody.isConnected) {
      Widget.attach(this._reasoning, this._thinkingBody);
    }
  }

  protected onBeforeDetach(msg: any): void {
    if (this._reasoning.isAttached) {
      Widget.detach(this._reasoning);
    }
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._reasoning.dispose();
    super.dispose();
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType] as unknown as IResponse;
    if (!data || typeof data !== 'object') {
      return;
    }
    const trusted = model.trusted;
    const streaming = data.status === 'streaming';
    const content = data.content || '';
    const reasoning = data.reasoning || '';
    const tools = data.tool_calls || [];

    // Thinking panel
    const answering = content.length > 0 || tools.length > 0;
    const thinkingNow = streaming && !answering;
    if (!thinkingNow && this._thoughtFor === null && this._sawThinking) {
      this._thoughtFor = data.elapsed_s;
    }
    if (thinkingNow && reasoning) {
      this._sawThinking = true;
    }
    this._thinking.setHidden(!reasoning);
    if (reasoning) {
      if (thinkingNow) {
        this._summary.textContent = `Thinking… ${Math.round(data.elapsed_s || 0)} s`;
      } else {
        const seconds =
          data.thinking_s ?? this._thoughtFor ?? (data.elapsed_s || null);
        this._summary.textContent =
          seconds !== null && seconds !== undefined
            ? `Thought for ${seconds.toFixed(1)} s`
            : 'Thinking';
      }
      this._autoOpen = this._userOpen ?? thinkingNow;
      if (this._details.open !== this._autoOpen) {
        this._details.open = this._autoOpen;
      }
      if (this.isAttached && !this._reasoning.isAttached) {
        Widget.attach(this._reasoning, this._thinkingBody);
      }
      await this._reasoning.render(reasoning, trusted);
    }

    // Waiting line
    this._waiting.setHidden(!(streaming && !content && !reasoning && !tools.length));

    // Answer
    this._content.setHidden(!content);
    if (content) {
      await this._content.render(content, trusted);
    }

    // Tool calls
    const toolsMd = tools
      .map(
        c =>
          `**Calling \`${c.function.name}\`**\n\n` +
          argumentsMarkdown(c.function.name, c.function.arguments)
      )
      .join('\n\n');
    this._tools.setHidden(!toolsMd);
    if (toolsMd) {
      await this._tools.render(toolsMd, trusted);
    }

    // Status line (interrupted)
    const statusNode = this._status.node;
    if (data.status === 'interrupted') {
      statusNode.textContent =
        'Interrupted: the answer above is what arrived before the stop.';
      this._status.setHidden(false);
    } else {
      this._status.setHidden(true);
    }

    // Error box
    const errorNode = this._error.node;
    if (data.status === 'error') {
      errorNode.textContent = '';
      errorNode.appendChild(el('strong', undefined, 'Error: '));
      errorNode.appendChild(
        el('span', 'jp-GLM-error-text', data.error || 'the request failed')
      );
      this._error.setHidden(false);
    } else {
      this._error.setHidden(true);
    }

    // Context line
    const context = data.context || [];
    if (context.length) {
      this._contextLine.node.textContent =
        'Sent: ' +
        context.map(c => `${c.name} (${fmtInt(c.tokens)} tokens)`).join(', ');
      this._contextLine.node.title = context
        .map(c => (c.brief ? `${c.name}: ${c.brief}` : c.name))
        .join('\n');
      this._contextLine.setHidden(false);
    } else {
      this._contextLine.setHidden(true);
    }

    // Footer
    this._footer.node.textContent = footerText(data);
    this.toggleClass('jp-GLM-streaming', streaming);
    this.node.dataset.status = data.status;
  }

  private _mimeType: string;
  private _details: HTMLDetailsElement;
  private _summary: HTMLElement;
  private _thinkingBody: HTMLElement;
  private _thinking: Widget;
  private _reasoning: MarkdownRegion;
  private _waiting: Widget;
  private _content: MarkdownRegion;
  private _tools: MarkdownRegion;
  private _status: Widget;
  private _error: Widget;
  private _contextLine: Widget;
  private _footer: Widget;
  /** What the renderer last set `open` to. */
  private _autoOpen = false;
  /** The person's own choice, once they have toggled the panel. */
  private _userOpen: boolean | null = null;
  private _sawThinking = false;
  private _thoughtFor: number | null = null;
}

/* ------------------------------------------------------------ step widget */

export class StepRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-GLM-step');
    const layout = new PanelLayout();
    this.layout = layout;

    this._head = nodeWidget(el('div', 'jp-GLM-step-head'));
    layout.addWidget(this._head);

    this._args = new MarkdownRegion(options);
    this._args.addClass('jp-GLM-step-args');
    layout.addWidget(this._args);

    this._outputDetails = el('details', 'jp-GLM-step-output');
    this._outputDetails.appendChild(
      el('summary', undefined, 'What the model was told')
    );
    this._outputPre = el('pre', 'jp-GLM-step-output-text');
    this._outputDetails.appendChild(this._outputPre);
    this._output = nodeWidget(this._outputDetails);
    layout.addWidget(this._output);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const step = model.data[this._mimeType] as unknown as IStep;
    if (!step || typeof step !== 'object') {
      return;
    }
    const head = this._head.node;
    head.textContent = '';
    head.appendChild(el('span', 'jp-GLM-step-index', `Step ${step.index}`));
    head.appendChild(el('code', 'jp-GLM-step-tool', step.tool));
    head.appendChild(
      el('span', `jp-GLM-badge jp-GLM-status-${step.status}`, step.status)
    );
    head.appendChild(
      el(
        'span',
        `jp-GLM-badge jp-GLM-approval-${step.approval.replace(/\s+/g, '-')}`,
        step.approval
      )
    );
    if (step.elapsed_s) {
      head.appendChild(
        el('span', 'jp-GLM-step-elapsed', `${step.elapsed_s.toFixed(2)} s`)
      );
    }
    if (step.reasoning) {
      head.title = step.reasoning;
    }
    this.node.dataset.status = step.status;

    await this._args.render(
      argumentsMarkdown(step.tool, step.arguments || ''),
      model.trusted
    );

    this._outputPre.textContent = step.output || '';
    this._output.setHidden(!step.output);
  }

  private _mimeType: string;
  private _head: Widget;
  private _args: MarkdownRegion;
  private _outputDetails: HTMLDetailsElement;
  private _outputPre: HTMLElement;
  private _output: Widget;
}

/* --------------------------------------------------------------- factories */

export const responseRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RESPONSE_MIME],
  createRenderer: options => new ResponseRenderer(options)
};

export const stepRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [STEP_MIME],
  createRenderer: options => new StepRenderer(options)
};

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'glm-jupyter-labextension:response',
    description: 'Renders glm-jupyter model responses.',
    rendererFactory: responseRendererFactory,
    rank: 0,
    dataType: 'json'
  },
  {
    id: 'glm-jupyter-labextension:step',
    description: 'Renders glm-jupyter agent steps.',
    rendererFactory: stepRendererFactory,
    rank: 0,
    dataType: 'json'
  }
];

export default extensions;
