/**
 * The page's WebSocket for inline completions (`/glm/complete/socket`, served by
 * `glm_jupyter/server/completion_socket.py`).
 *
 * A completion waits on every millisecond between the last keystroke and the ghost text, and a
 * typist asks for many: over one kept-open socket each request is one small frame, with no HTTP
 * request to build, authenticate and route each time. One completion is under way at a time;
 * a new one, or a cancel, closes the one before at the server, and the kernel's model stream
 * behind it.
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** A frame from the server about completion `id`. */
export interface IAnswerFrame {
  id: number;
  data?: string; // the kernel's newline-delimited JSON, as it came
  end?: boolean;
  status?: number;
  error?: string; // no kernel answered (`status` says why)
}

/** The text of one answer, in the chunks it arrives in; it fails when cancelled or refused. */
export class Answer implements AsyncIterable<string> {
  private _chunks: string[] = [];
  private _ended = false;
  private _failure: Error | null = null;
  private _wake: (() => void) | null = null;

  push(chunk: string): void {
    this._chunks.push(chunk);
    this._notify();
  }

  end(): void {
    this._ended = true;
    this._notify();
  }

  /** End with `error`; what arrived and was not yet read is dropped. */
  fail(error: Error): void {
    this._chunks = [];
    this._failure = error;
    this._notify();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string> {
    for (;;) {
      if (this._failure) {
        throw this._failure;
      }
      if (this._chunks.length) {
        yield this._chunks.splice(0).join(''); // all that came since the last read, at once
        continue;
      }
      if (this._ended) {
        return;
      }
      await new Promise<void>(resolve => (this._wake = resolve));
    }
  }

  private _notify(): void {
    const wake = this._wake;
    this._wake = null;
    wake?.();
  }
}

/** The socket, opened at the first completion and again whenever it has closed. */
export class CompletionSocket {
  private _ws: WebSocket | null = null;
  private _opening: Promise<WebSocket> | null = null;
  private _serial = 0;
  private _current: { id: number; answer: Answer } | null = null;

  /** Start a completion for `request`, superseding the one under way; `signal` cancels it. */
  async request(request: object, signal: AbortSignal): Promise<Answer> {
    const ws = await this._open();
    if (signal.aborted) {
      throw new Error('Cancelled.');
    }
    const id = ++this._serial;
    const answer = new Answer();
    this._current?.answer.fail(new Error('Superseded.'));
    this._current = { id, answer };
    ws.send(JSON.stringify({ ...request, id }));
    signal.addEventListener('abort', () => this._cancel(id), { once: true });
    return answer;
  }

  private _cancel(id: number): void {
    const current = this._current;
    if (current?.id !== id) {
      return; // already over
    }
    this._current = null;
    current.answer.fail(new Error('Cancelled.'));
    if (this._ws?.readyState === WebSocket.OPEN) {
      this._ws.send(JSON.stringify({ id, cancel: true }));
    }
  }

  private _open(): Promise<WebSocket> {
    if (this._ws?.readyState === WebSocket.OPEN) {
      return Promise.resolve(this._ws);
    }
    if (!this._opening) {
      this._opening = new Promise<WebSocket>((resolve, reject) => {
        const settings = ServerConnection.makeSettings();
        let url = URLExt.join(settings.wsUrl, 'glm', 'complete', 'socket');
        if (settings.appendToken && settings.token) {
          url += `?token=${encodeURIComponent(settings.token)}`;
        }
        const ws = new settings.WebSocket(url);
        ws.onopen = () => {
          this._ws = ws;
          this._opening = null;
          resolve(ws);
        };
        ws.onclose = () => {
          if (this._ws === ws) {
            this._ws = null;
          }
          this._opening = null;
          this._current?.answer.fail(new Error('The connection closed.'));
          this._current = null;
          reject(new Error('The completion socket would not open.'));
        };
        ws.onmessage = event => this._frame(JSON.parse(String(event.data)));
      });
    }
    return this._opening;
  }

  private _frame(frame: IAnswerFrame): void {
    const current = this._current;
    if (current?.id !== frame.id) {
      return; // a superseded completion's last frames
    }
    if (frame.data !== undefined) {
      current.answer.push(frame.data);
    }
    if (frame.error !== undefined) {
      this._current = null;
      current.answer.fail(new Error(frame.error));
    } else if (frame.end) {
      this._current = null;
      current.answer.end();
    }
  }
}
