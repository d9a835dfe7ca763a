/**
 * ResponseRenderer: one model reply, updated in place while it streams.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Message } from '@lumino/messaging';
import { PanelLayout, Widget } from '@lumino/widgets';

import {
  IStreamHave,
  IStreamLink,
  IStreamListener,
  IStreamMessage,
  onStreamHostChanged,
  streamHost
} from './bridge';
import { addCodeActions } from './codeactions';
import { el, nodeWidget, setText } from './dom';
import { MarkdownRegion } from './markdown';
import {
  estimateTokens,
  fmtInt,
  footerText,
  IResponse,
  IThinkingHeader,
  liveSeconds,
  thinkingHeader,
  thinkingOpen,
  toolCallsMarkdown
} from './model';

/** Reasoning and answer characters of a payload, counting reasoning a fallback left out. */
function textLength(d: IResponse): number {
  return (
    (d.reasoning_omitted ?? 0) + (d.reasoning || '').length + (d.content || '').length
  );
}

/**
 * Put `text` at offset `at` of `target[key]`; false when `at` lies beyond what is there
 * (a gap), in which case nothing changes.
 */
function joinAt<K extends string>(
  target: { [key in K]: string },
  key: K,
  at: number,
  text: string
): boolean {
  const have = target[key];
  if (at > have.length) {
    return false;
  }
  target[key] = (at === have.length ? have : have.slice(0, at)) + text;
  return true;
}

/** How long a view keeps trying to reach its stream's kernel while the page opens. */
const FOLLOW_RETRY_MS = 1000;
const FOLLOW_TRIES = 120;

/** How often the "Thinking… N s" clock advances between display updates. */
const TICK_MS = 1000;
/**
 * Stop the clock after this long without an update: a reply saved mid-stream (kernel
 * died, notebook reopened) still says "streaming" but nothing is thinking any more.
 */
const STALE_MS = 120_000;

/**
 * A reply: Thinking panel, answer, tool calls, status line, error box, context line
 * and footer. JupyterLab reuses the renderer for `update_display_data` while the MIME
 * type is unchanged, so every part is updated in place, never rebuilt: that keeps the
 * person's scroll position, selection and open/closed choice.
 */
export class ResponseRenderer
  extends Widget
  implements IRenderMime.IRenderer, IStreamListener
{
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

    this._content = new MarkdownRegion(options, { onRendered: addCodeActions });
    this._content.addClass('jp-GLM-content');
    layout.addWidget(this._content);

    this._tools = new MarkdownRegion(options, { onRendered: addCodeActions });
    this._tools.addClass('jp-GLM-toolcalls');
    layout.addWidget(this._tools);

    this._status = nodeWidget(el('div', 'jp-GLM-status'));
    layout.addWidget(this._status);

    const errorNode = el('div', 'jp-GLM-error');
    errorNode.appendChild(el('strong', undefined, 'Error: '));
    this._errorText = el('span', 'jp-GLM-error-text');
    errorNode.appendChild(this._errorText);
    this._error = nodeWidget(errorNode);
    layout.addWidget(this._error);

    this._contextLine = nodeWidget(el('div', 'jp-GLM-context'));
    layout.addWidget(this._contextLine);

    this._footer = nodeWidget(el('div', 'jp-GLM-footer'));
    layout.addWidget(this._footer);
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._follow();
    if (!this._reasoning.isAttached && this._thinkingBody.isConnected) {
      Widget.attach(this._reasoning, this._thinkingBody);
    }
  }

  protected onBeforeDetach(msg: Message): void {
    if (this._reasoning.isAttached) {
      Widget.detach(this._reasoning);
    }
    super.onBeforeDetach(msg);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._unfollow();
    if (this._retry !== null) {
      window.clearTimeout(this._retry);
    }
    if (this._frame !== null) {
      cancelAnimationFrame(this._frame);
    }
    this._stopClock();
    this._reasoning.dispose();
    super.dispose();
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType] as unknown as IResponse;
    if (!data || typeof data !== 'object') {
      return;
    }
    this._model = model;
    this._trusted = model.trusted;
    this._adopt(data);
    this._follow();
    await this._paint();
  }

  /** What this view shows of its stream (the delta channel's `have`). */
  have(): IStreamHave {
    const d = this._data;
    const tools: { [index: string]: number } = {};
    (d?.tool_calls ?? []).forEach((call, i) => {
      tools[String(i)] = call.function.arguments.length;
    });
    return {
      reasoning: d && !d.reasoning_omitted ? d.reasoning.length : 0,
      content: d ? d.content.length : 0,
      tools
    };
  }

  /** One message of the delta channel for this view's stream. */
  message(msg: IStreamMessage): void {
    const d = this._data;
    if (!d || d.status !== 'streaming' || this.isDisposed) {
      this._unfollow();
      return;
    }
    if (msg.bundle) {
      this._writeFinal(msg.bundle);
      return;
    }
    if (msg.gone) {
      // The kernel no longer holds this stream (restarted, or long finished).
      this._followTries = FOLLOW_TRIES;
      this._unfollow();
      return;
    }
    if (msg.end) {
      // The output's own final update did not come: this view joined late (a reload, a
      // second tab), so its output area is not the running cell's. Ask for the bundle.
      this._link?.send({ final: d.stream_id });
      return;
    }
    let gap = false;
    if (msg.reasoning) {
      const [at, text] = msg.reasoning;
      if (d.reasoning_omitted) {
        gap = at !== 0;
        if (!gap) {
          d.reasoning = text;
          delete d.reasoning_omitted;
        }
      } else {
        gap = !joinAt(d, 'reasoning', at, text);
      }
    }
    if (msg.content) {
      gap = !joinAt(d, 'content', msg.content[0], msg.content[1]) || gap;
    }
    for (const tool of msg.tools ?? []) {
      const call = (d.tool_calls[tool.index] ??= {
        id: tool.id,
        type: 'function',
        function: { name: tool.name, arguments: '' }
      });
      call.id = tool.id || call.id;
      call.function.name = tool.name || call.function.name;
      gap = !joinAt(call.function, 'arguments', tool.at, tool.text) || gap;
    }
    if (msg.elapsed_s !== undefined) {
      d.elapsed_s = msg.elapsed_s;
    }
    if (msg.thinking_s !== undefined) {
      d.thinking_s = msg.thinking_s;
    }
    if (msg.usage) {
      d.usage = msg.usage as unknown as IResponse['usage'];
    }
    if (gap) {
      // A piece is missing (a message lost to a reconnect): ask again from what is here.
      this._link?.send({ follow: d.stream_id, have: this.have() });
    }
    this._schedulePaint();
  }

  /** Take a payload from the output model, unless the deltas have already gone further. */
  private _adopt(data: IResponse): void {
    const live = this._data;
    const copy: IResponse = {
      ...data,
      tool_calls: (data.tool_calls || []).map(c => ({
        ...c,
        function: { ...c.function }
      }))
    };
    if (
      data.status === 'streaming' &&
      live?.status === 'streaming' &&
      live.stream_id === data.stream_id &&
      textLength(live) >= textLength(data)
    ) {
      copy.reasoning = live.reasoning;
      copy.content = live.content;
      copy.tool_calls = live.tool_calls;
      copy.reasoning_omitted = live.reasoning_omitted;
      copy.elapsed_s = Math.max(live.elapsed_s, data.elapsed_s);
      copy.usage = live.usage ?? data.usage;
    }
    copy.reasoning = copy.reasoning || '';
    copy.content = copy.content || '';
    this._data = copy;
    if (copy.status !== 'streaming') {
      this._unfollow();
    }
  }

  /** Follow the stream over the delta channel, when there is one to follow. */
  private _follow(): void {
    const d = this._data;
    if (
      this._link ||
      !d ||
      d.status !== 'streaming' ||
      !d.stream_id ||
      !this.node.isConnected
    ) {
      return;
    }
    const host = streamHost();
    if (!host) {
      this._stopWaitingForHost ??= onStreamHostChanged(() => this._follow());
      return;
    }
    this._link = host.follow(this.node, d.stream_id, this);
    if (!this._link && this._followTries < FOLLOW_TRIES && this._retry === null) {
      // A page still opening: its notebook has no kernel connection yet. Try again soon.
      this._followTries++;
      this._retry = window.setTimeout(() => {
        this._retry = null;
        this._follow();
      }, FOLLOW_RETRY_MS);
    }
  }

  private _unfollow(): void {
    this._link?.dispose();
    this._link = null;
    this._stopWaitingForHost?.();
    this._stopWaitingForHost = null;
  }

  /** A late view's final bundle: write it into the output, which renders it here. */
  private _writeFinal(bundle: { [mimeType: string]: unknown }): void {
    this._unfollow();
    const payload = bundle[this._mimeType] as IResponse | undefined;
    if (!payload) {
      return;
    }
    // The output model is the notebook's: saved, it now holds the exact final answer.
    this._model?.setData({ data: bundle as IRenderMime.IMimeModel['data'] });
    this._adopt(payload);
    void this._paint();
  }

  /** Paint once per frame however many deltas arrive in it. */
  private _schedulePaint(): void {
    if (this._frame !== null) {
      return;
    }
    this._frame = requestAnimationFrame(() => {
      this._frame = null;
      if (!this.isDisposed) {
        void this._paint();
      }
    });
  }

  /** Show `_data`: every part updated in place. */
  private async _paint(): Promise<void> {
    const data = this._data;
    if (!data) {
      return;
    }
    const started = performance.now();
    const trusted = this._trusted;
    const streaming = data.status === 'streaming';
    const content = data.content;
    const reasoning = data.reasoning;
    const tools = data.tool_calls;

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
    const pending: Promise<void>[] = [];
    if (reasoning) {
      const seconds = thinkingNow
        ? data.elapsed_s || 0
        : (data.thinking_s ?? this._thoughtFor ?? (data.elapsed_s || null));
      this._header = {
        thinking: thinkingNow,
        seconds,
        reasoning,
        usage: data.usage,
        // The estimate only shows while thinking; skip the scan afterwards.
        estimate: thinkingNow ? this._estimate(reasoning) : 0
      };
      this._receivedAt = Date.now();
      setText(this._summary, thinkingHeader(this._header));
      this._autoOpen = thinkingOpen(thinkingNow, this._userOpen);
      if (this._details.open !== this._autoOpen) {
        this._details.open = this._autoOpen;
      }
      if (this.isAttached && !this._reasoning.isAttached) {
        Widget.attach(this._reasoning, this._thinkingBody);
      }
      pending.push(this._reasoning.render(reasoning, trusted));
    }
    if (reasoning && thinkingNow) {
      this._startClock();
    } else {
      this._stopClock();
    }

    // Waiting line
    this._waiting.setHidden(!(streaming && !content && !reasoning && !tools.length));

    // Answer
    this._content.setHidden(!content);
    if (content) {
      pending.push(this._content.render(content, trusted));
    }

    // Tool calls
    const toolsMd = toolCallsMarkdown(tools);
    this._tools.setHidden(!toolsMd);
    if (toolsMd) {
      pending.push(this._tools.render(toolsMd, trusted));
    }

    // Status line (interrupted)
    if (data.status === 'interrupted') {
      setText(
        this._status.node,
        'Interrupted: the answer above is what arrived before the stop.'
      );
      this._status.setHidden(false);
    } else {
      this._status.setHidden(true);
    }

    // Error box
    if (data.status === 'error') {
      setText(this._errorText, data.error || 'the request failed');
      this._error.setHidden(false);
    } else {
      this._error.setHidden(true);
    }

    // Context line
    const context = data.context || [];
    if (context.length) {
      setText(
        this._contextLine.node,
        'Sent: ' + context.map(c => `${c.name} (${fmtInt(c.tokens)} tokens)`).join(', ')
      );
      this._contextLine.node.title = context
        .map(c => (c.brief ? `${c.name}: ${c.brief}` : c.name))
        .join('\n');
      this._contextLine.setHidden(false);
    } else {
      this._contextLine.setHidden(true);
    }

    // Footer
    setText(this._footer.node, footerText(data));
    this.toggleClass('jp-GLM-streaming', streaming);

    try {
      await Promise.all(pending);
    } finally {
      // The status says what is on screen: it changes once the parts above have rendered,
      // unless a newer payload has taken over (its own paint sets it).
      if (this._data === data && this.node.dataset.status !== data.status) {
        this.node.dataset.status = data.status;
      }
    }
    // The benchmarks read these: how long one update took, at what answer length.
    performance.measure('glm-paint', {
      start: started,
      detail: { content: content.length }
    });
  }

  /** `estimateTokens(reasoning)`, counting only what was appended since the last call. */
  private _estimate(reasoning: string): number {
    const seen = this._estimated;
    if (
      !reasoning.startsWith(seen.text.slice(0, 64)) ||
      reasoning.length < seen.text.length
    ) {
      seen.text = '';
      seen.tokens = 0;
    }
    seen.tokens += estimateTokens(reasoning.slice(seen.text.length));
    seen.text = reasoning;
    return seen.tokens;
  }

  /** Advance "Thinking… N s" once a second between display updates. */
  private _startClock(): void {
    if (this._clock !== null) {
      return;
    }
    this._clock = window.setInterval(() => this._tick(), TICK_MS);
  }

  private _stopClock(): void {
    if (this._clock !== null) {
      window.clearInterval(this._clock);
      this._clock = null;
    }
  }

  private _tick(): void {
    const header = this._header;
    const now = Date.now();
    if (
      this.isDisposed ||
      !header ||
      !header.thinking ||
      now - this._receivedAt > STALE_MS
    ) {
      this._stopClock();
      return;
    }
    setText(
      this._summary,
      thinkingHeader({
        ...header,
        seconds: liveSeconds(header.seconds ?? 0, this._receivedAt, now)
      })
    );
  }

  private _mimeType: string;
  private _model: IRenderMime.IMimeModel | null = null;
  private _trusted = false;
  /** The reply as shown: the output's payload, with the deltas applied since. */
  private _data: IResponse | null = null;
  private _link: IStreamLink | null = null;
  private _stopWaitingForHost: (() => void) | null = null;
  private _frame: number | null = null;
  private _retry: number | null = null;
  private _followTries = 0;
  private _estimated = { text: '', tokens: 0 };
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
  private _errorText: HTMLElement;
  private _contextLine: Widget;
  private _footer: Widget;
  /** What the renderer last set `open` to. */
  private _autoOpen = false;
  /** The person's own choice, once they have toggled the panel. */
  private _userOpen: boolean | null = null;
  private _sawThinking = false;
  private _thoughtFor: number | null = null;
  /** The last header shown, and when its payload arrived (ms since epoch). */
  private _header: IThinkingHeader | null = null;
  private _receivedAt = 0;
  private _clock: number | null = null;
}
