/**
 * Inline completions (ghost text, Tab accepts) from the notebook's own kernel.
 *
 * The request goes over the page's completion socket (`socket.ts`) to the Jupyter server,
 * which forwards it to the kernel: the kernel answers on a thread of its own, so completions
 * come while a cell runs, and it knows its variables and DataFrame columns. The browser never
 * sees a key. A keystroke in the cell cancels the request under way, which closes the kernel's
 * connection and the model's stream behind it, so a fast typist does not pay for abandoned
 * completions.
 */

import type {
  CompletionHandler,
  IInlineCompletionContext,
  IInlineCompletionItem,
  IInlineCompletionList,
  IInlineCompletionProvider
} from '@jupyterlab/completer';
import type { NotebookPanel } from '@jupyterlab/notebook';

import { assistUsage } from './assist';
import { CompletionSocket } from './socket';

/** Characters of the cells above sent with a request (the kernel clips again). */
const CELLS_CHARS = 6000;

/** One line of the kernel's answer. */
export interface ICompletionPiece {
  text?: string;
  done?: boolean;
  insert?: string; // a completion's text to insert
  source?: string; // an edit's new cell source
  error?: string;
  session?: unknown; // this kernel session's totals of the kind (`assist.ts`)
}

/** The sources of the code cells above the active one, nearest last, within a budget. */
export function cellsAbove(panel: NotebookPanel | null): string[] {
  const notebook = panel?.content;
  if (!notebook || !notebook.model) {
    return [];
  }
  const cells: string[] = [];
  let used = 0;
  for (let i = notebook.activeCellIndex - 1; i >= 0 && used < CELLS_CHARS; i--) {
    const cell = notebook.model.cells.get(i);
    if (cell.type !== 'code') {
      continue;
    }
    const source = cell.sharedModel.getSource();
    used += source.length;
    cells.unshift(source);
  }
  return cells;
}

/** The text of a streamed HTTP response body, chunk by chunk as it arrives. */
export async function* bodyText(
  body: ReadableStream<Uint8Array>
): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      yield decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Newline-delimited JSON pieces of a streamed answer, as many as each chunk brings: the caller
 * renders once per chunk, not once per piece.
 */
export async function* pieceBatches(
  chunks: AsyncIterable<string>
): AsyncGenerator<ICompletionPiece[]> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    const batch = lines
      .map(line => line.trim())
      .filter(line => line)
      .map(line => JSON.parse(line) as ICompletionPiece);
    if (batch.length) {
      yield batch;
    }
  }
}

/**
 * `text` with a batch's pieces added, up to the last piece (`done` or `error`) when the
 * batch holds it.
 */
export function fold(
  text: string,
  batch: ICompletionPiece[]
): { text: string; last?: ICompletionPiece } {
  for (const piece of batch) {
    if (piece.done || piece.error) {
      return { text, last: piece };
    }
    text += piece.text ?? '';
  }
  return { text };
}

/**
 * Count a completion in the status bar once the page is idle: the ghost text's frame comes
 * first, and the status bar's re-render would hold it back.
 */
function countLater(kernelId: string, totals: unknown): void {
  const count = (): void => assistUsage.record(kernelId, 'completions', totals);
  if (typeof requestIdleCallback === 'function') {
    requestIdleCallback(count, { timeout: 500 });
  } else {
    setTimeout(count, 0);
  }
}

/** The GLM inline completion provider. */
export class GlmInlineProvider implements IInlineCompletionProvider {
  readonly identifier = 'glm-jupyter';
  readonly name = 'GLM (this kernel)';
  // JupyterLab's inline completer settings: on by default, a setting turns it off.
  readonly schema = {
    default: { enabled: true, debouncerDelay: 200, timeout: 20000 }
  };

  private _controller: AbortController | null = null;
  private _socket = new CompletionSocket();
  private _streams = new Map<
    string,
    { batches: AsyncGenerator<ICompletionPiece[]>; text: string; kernelId: string }
  >();
  private _serial = 0;

  async fetch(
    request: CompletionHandler.IRequest,
    context: IInlineCompletionContext
  ): Promise<IInlineCompletionList<IInlineCompletionItem>> {
    this.abort();
    const kernel = context.session?.kernel;
    const prefix = request.text.slice(0, request.offset);
    // A cell magic's body is not Python (a `%%glm` cell is a question to the model).
    if (!kernel || !prefix.trim() || /^\s*%%/.test(request.text)) {
      return { items: [] };
    }
    const panel = context.widget as NotebookPanel;
    const controller = new AbortController();
    this._controller = controller;
    this._abortOnEdit(panel, controller, request.text);
    const body = {
      kernel_id: kernel.id,
      prefix,
      suffix: request.text.slice(request.offset),
      cells: cellsAbove(panel)
    };
    // The first batch comes with the reply, so the ghost text's first paint already holds
    // words (an empty ghost first would cost the person a render and a frame).
    let batches: AsyncGenerator<ICompletionPiece[]>;
    let first: IteratorResult<ICompletionPiece[]>;
    try {
      batches = pieceBatches(await this._socket.request(body, controller.signal));
      first = await batches.next();
    } catch {
      return { items: [] }; // cancelled by a keystroke, refused, or the server went away
    }
    const { text, last } = fold('', first.done ? [] : first.value);
    if (last?.error) {
      return { items: [{ insertText: text, error: { message: last.error } }] };
    }
    if (last?.done) {
      countLater(kernel.id, last.session);
    }
    if (last || first.done) {
      return { items: [{ insertText: last?.insert ?? text }] };
    }
    const token = `glm-${++this._serial}`;
    this._streams.set(token, { batches, text, kernelId: kernel.id });
    return { items: [{ insertText: text, isIncomplete: true, token }] };
  }

  async *stream(token: string): AsyncGenerator<{ response: IInlineCompletionItem }> {
    const stream = this._streams.get(token);
    if (!stream) {
      return;
    }
    let text = stream.text;
    try {
      for await (const batch of stream.batches) {
        const folded = fold(text, batch);
        text = folded.text;
        const last = folded.last;
        if (last?.error) {
          const error = { message: last.error };
          yield { response: { insertText: text, isIncomplete: false, token, error } };
          return;
        }
        if (last?.done) {
          countLater(stream.kernelId, last.session);
          yield {
            response: { insertText: last.insert ?? text, isIncomplete: false, token }
          };
          return;
        }
        yield { response: { insertText: text, isIncomplete: true, token } };
      }
    } catch {
      // Cancelled by a keystroke: the ghost text is gone anyway.
    } finally {
      this._streams.delete(token);
    }
  }

  /** Cancel the request under way (its kernel connection closes at once). */
  abort(): void {
    this._controller?.abort();
    this._controller = null;
  }

  /** Abort `controller` as soon as the active cell's text changes from `text`. */
  private _abortOnEdit(
    panel: NotebookPanel | null,
    controller: AbortController,
    text: string
  ): void {
    const model = panel?.content?.activeCell?.model?.sharedModel;
    if (!model) {
      return;
    }
    const changed = (): void => {
      if (model.getSource() !== text) {
        controller.abort();
        model.changed.disconnect(changed);
      }
    };
    model.changed.connect(changed);
    controller.signal.addEventListener('abort', () =>
      model.changed.disconnect(changed)
    );
  }
}
