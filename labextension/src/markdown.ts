/**
 * MarkdownRegion: one widget that renders Markdown through JupyterLab's pipeline and
 * updates in place.
 */

import { MimeModel, renderMarkdown } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { PanelLayout, Widget } from '@lumino/widgets';

/** Options for a MarkdownRegion beyond the renderer options. */
export interface IMarkdownRegionOptions {
  /** Called with the region's node after each render that changed its DOM. */
  onRendered?: (node: HTMLElement) => void;
}

/**
 * A region of Markdown, rendered through the application's rendermime registry when
 * the options carry one, else through `renderMarkdown`.
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
    const registry = (_options as any).rendermime as
      { createRenderer(mimeType: string): IRenderMime.IRenderer } | undefined;
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

  /** The source last rendered, or null before the first render. */
  get source(): string | null {
    return this._source;
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
        if (source === this._source && trusted === this._trusted) {
          continue;
        }
        this._source = source;
        this._trusted = trusted;
        try {
          await this._renderNow(source, trusted);
        } catch (reason) {
          // Let the next update try again rather than skip it as unchanged.
          this._source = null;
          console.error('glm-jupyter: Markdown render failed', reason);
          continue;
        }
        if (!this.isDisposed) {
          this._extra.onRendered?.(this.node);
        }
      }
    } finally {
      // Cleared in the same turn as the last look at `_wanted`, so a request made
      // after that look starts a new drain instead of waiting on a finished one.
      this._running = null;
    }
  }

  private async _renderNow(source: string, trusted: boolean): Promise<void> {
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
  private _trusted: boolean | null = null;
  private _wanted: { source: string; trusted: boolean } | null = null;
  private _running: Promise<void> | null = null;
}
