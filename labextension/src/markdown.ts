/**
 * MarkdownRegion: Markdown rendered through JupyterLab's pipeline, block by block, so that a
 * growing text costs only its open tail on each update.
 */

import { renderMarkdown } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { blockEnds } from './blocks';

/** Options for a MarkdownRegion beyond the renderer options. */
export interface IMarkdownRegionOptions {
  /** Called with each block's node after a render that changed its DOM. */
  onRendered?: (node: HTMLElement) => void;
}

/** One rendered block: its host node and the source it shows. */
interface IBlock {
  node: HTMLElement;
  source: string;
}

/**
 * A region of Markdown. The text is cut into blocks where `blockEnds` says they are complete;
 * each complete block is rendered once into a node of its own, and only the last, open block
 * is rendered again while the text grows. A text that does not extend the one shown (a
 * different reply, an edit) is rendered afresh.
 *
 * Renders are serialised: JupyterLab calls `renderModel` without awaiting it on each
 * `update_display_data`, and an older render finishing last would show stale text.
 */
export class MarkdownRegion extends Widget {
  constructor(
    private _options: IRenderMime.IRendererOptions,
    private _extra: IMarkdownRegionOptions = {}
  ) {
    super();
    this.addClass('jp-GLM-markdown');
  }

  /** The source last rendered, or null before the first render. */
  get source(): string | null {
    return this._trusted === null ? null : this._blocks.map(b => b.source).join('');
  }

  /** How many block nodes the region holds. */
  get blockCount(): number {
    return this._blocks.length;
  }

  /** Render `source`; skipped when neither it nor trust has changed. */
  render(source: string, trusted: boolean): Promise<void> {
    this._wanted = { source, trusted };
    if (!this._running) {
      this._running = this._drain();
    }
    return this._running;
  }

  private async _drain(): Promise<void> {
    // Yield once so `_running` is assigned before the `finally` below clears it.
    await Promise.resolve();
    try {
      while (this._wanted && !this.isDisposed) {
        const { source, trusted } = this._wanted;
        this._wanted = null;
        try {
          await this._update(source, trusted);
        } catch (reason) {
          // Start afresh next time rather than build on a block in an unknown state.
          this._clear();
          console.error('glm-jupyter: Markdown render failed', reason);
        }
      }
    } finally {
      // Cleared in the same turn as the last look at `_wanted`, so a request made
      // after that look starts a new drain instead of waiting on a finished one.
      this._running = null;
    }
  }

  private async _update(source: string, trusted: boolean): Promise<void> {
    if (trusted !== this._trusted || !source.startsWith(this._committed)) {
      this._clear();
      this._trusted = trusted;
    }
    const from = this._committed.length;
    const rest = source.slice(from);
    const ends = blockEnds(rest);
    let at = 0;
    for (const end of ends) {
      await this._renderTail(rest.slice(at, end), trusted);
      this._committed += rest.slice(at, end);
      this._tail = null; // that block is complete: the next text starts a new one
      at = end;
    }
    const tail = rest.slice(at);
    if (tail) {
      await this._renderTail(tail, trusted);
    } else if (this._tail) {
      this._tail.node.remove();
      this._blocks.pop();
      this._tail = null;
    }
  }

  /** Render `source` into the open block (made when there is none). */
  private async _renderTail(source: string, trusted: boolean): Promise<void> {
    let block = this._tail;
    if (block && block.source === source) {
      return;
    }
    if (!block) {
      block = { node: document.createElement('div'), source: '' };
      block.node.className = 'jp-GLM-block';
      this.node.appendChild(block.node);
      this._blocks.push(block);
      this._tail = block;
    }
    block.source = source;
    const o = this._options;
    await renderMarkdown({
      host: block.node,
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
    if (!this.isDisposed) {
      this._extra.onRendered?.(block.node);
    }
  }

  private _clear(): void {
    for (const block of this._blocks) {
      block.node.remove();
    }
    this._blocks = [];
    this._tail = null;
    this._committed = '';
    this._trusted = null;
  }

  private _blocks: IBlock[] = [];
  private _tail: IBlock | null = null;
  /** The source of the complete blocks, which later text must extend. */
  private _committed = '';
  private _trusted: boolean | null = null;
  private _wanted: { source: string; trusted: boolean } | null = null;
  private _running: Promise<void> | null = null;
}
