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

let host: ICodeActionHost | null = null;
const listeners = new Set<() => void>();

/** The registered host, or null in a front end without the plugin. */
export function codeActionHost(): ICodeActionHost | null {
  return host;
}

/** Register the host; returns a function that unregisters it. */
export function registerCodeActionHost(value: ICodeActionHost): () => void {
  host = value;
  notify();
  return () => {
    if (host === value) {
      host = null;
      notify();
    }
  };
}

/** Call `listener` whenever the host changes; returns a function that stops it. */
export function onCodeActionHostChanged(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function notify(): void {
  for (const listener of [...listeners]) {
    try {
      listener();
    } catch (reason) {
      console.error('glm-jupyter: code action listener failed', reason);
    }
  }
}
