/**
 * A hand-off point between the MIME renderers and the application plugin.
 *
 * MIME renderers get no application services, but both entry points of this package
 * share one module instance, so the plugin registers what it can do here and the
 * renderers look it up when they need it.
 */

/** What the application plugin offers to code-block toolbars. */
export interface ICodeActionHost {
  /**
   * Insert a code cell holding `code` below the notebook cell whose DOM node is
   * `cellNode`, make it active and, when `run` is true, run it. Resolves to false when
   * no tracked notebook holds that cell.
   */
  insertBelow(cellNode: HTMLElement, code: string, run: boolean): Promise<boolean>;
}

/** A message from the kernel's delta channel about one stream (see glm_jupyter/display/channel.py). */
export interface IStreamMessage {
  stream: string;
  reasoning?: [number, string];
  content?: [number, string];
  tools?: { index: number; id: string; name: string; at: number; text: string }[];
  elapsed_s?: number;
  thinking_s?: number;
  usage?: { [key: string]: number };
  end?: string;
  bundle?: { [mimeType: string]: unknown };
  gone?: boolean;
}

/** What a view already shows of a stream, as it tells the kernel when it follows. */
export interface IStreamHave {
  reasoning: number;
  content: number;
  tools: { [index: string]: number };
}

/** A renderer following one stream. */
export interface IStreamListener {
  /** What it shows now. */
  have(): IStreamHave;
  /** One message for its stream. */
  message(data: IStreamMessage): void;
}

/** A renderer's link to its stream: send it view messages, or stop following. */
export interface IStreamLink {
  send(data: { [key: string]: unknown }): void;
  dispose(): void;
}

/** What the application plugin offers to renderers of streaming replies. */
export interface IStreamHost {
  /**
   * Follow stream `streamId` of the kernel behind the notebook that holds `node`; null
   * when no tracked notebook with a kernel holds it.
   */
  follow(
    node: HTMLElement,
    streamId: string,
    listener: IStreamListener
  ): IStreamLink | null;
}

/** One registered service and those who want to hear when it changes. */
class Slot<T> {
  value: T | null = null;

  register(value: T): () => void {
    this.value = value;
    this._notify();
    return () => {
      if (this.value === value) {
        this.value = null;
        this._notify();
      }
    };
  }

  listen(listener: () => void): () => void {
    this._listeners.add(listener);
    return () => this._listeners.delete(listener);
  }

  private _notify(): void {
    for (const listener of [...this._listeners]) {
      try {
        listener();
      } catch (reason) {
        console.error('glm-jupyter: host listener failed', reason);
      }
    }
  }

  private _listeners = new Set<() => void>();
}

const codeActions = new Slot<ICodeActionHost>();
const streams = new Slot<IStreamHost>();

/** The registered host, or null in a front end without the plugin. */
export function codeActionHost(): ICodeActionHost | null {
  return codeActions.value;
}

/** Register the host; returns a function that unregisters it. */
export function registerCodeActionHost(value: ICodeActionHost): () => void {
  return codeActions.register(value);
}

/** Call `listener` whenever the host changes; returns a function that stops it. */
export function onCodeActionHostChanged(listener: () => void): () => void {
  return codeActions.listen(listener);
}

/** The registered stream host, or null in a front end without the plugin. */
export function streamHost(): IStreamHost | null {
  return streams.value;
}

/** Register the stream host; returns a function that unregisters it. */
export function registerStreamHost(value: IStreamHost): () => void {
  return streams.register(value);
}

/** Call `listener` whenever the stream host changes; returns a function that stops it. */
export function onStreamHostChanged(listener: () => void): () => void {
  return streams.listen(listener);
}
