/**
 * The page's side of the delta channel: one comm per kernel, opened when a renderer first
 * follows one of its streams, dispatching each message to the renderers of its stream.
 */

import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

import { IStreamHost, IStreamLink, IStreamListener, IStreamMessage } from './bridge';

/** The kernel's comm target and the one comm id every page opens under
 * (glm_jupyter/display/channel.py `TARGET`, `COMM_ID`). */
export const STREAM_TARGET = 'glm_jupyter.stream';
export const STREAM_COMM_ID = 'glm-jupyter-stream';

/**
 * The comm of one kernel connection, and who listens on it, by stream. It is made (on this
 * page only) as soon as the connection exists, so that messages meant for another page's
 * views never reach a page that knows no comm of their id; it is opened to the kernel with
 * the first follow.
 */
class KernelLink {
  constructor(private _kernel: Kernel.IKernelConnection) {}

  add(streamId: string, listener: IStreamListener): void {
    let listeners = this._listeners.get(streamId);
    if (!listeners) {
      listeners = new Set();
      this._listeners.set(streamId, listeners);
    }
    listeners.add(listener);
    this.send({ follow: streamId, have: listener.have() });
  }

  remove(streamId: string, listener: IStreamListener): void {
    // The kernel is not told: other pages share the comm, and a stream nobody shows costs
    // only its deltas until it ends.
    const listeners = this._listeners.get(streamId);
    if (listeners?.delete(listener) && !listeners.size) {
      this._listeners.delete(streamId);
    }
  }

  /** Make this page's end of the comm, once per connection (again after a restart). */
  ensure(): Kernel.IComm | null {
    if (this._kernel.isDisposed) {
      return null;
    }
    if (!this._comm || this._comm.isDisposed) {
      this._opened = false;
      this._comm = this._kernel.hasComm(STREAM_COMM_ID)
        ? null
        : this._kernel.createComm(STREAM_TARGET, STREAM_COMM_ID);
      if (this._comm) {
        this._comm.onMsg = msg =>
          this._dispatch(msg.content.data as unknown as IStreamMessage);
        this._comm.onClose = () => {
          this._opened = false;
        };
      }
    }
    return this._comm;
  }

  send(data: { [key: string]: unknown }): void {
    const comm = this.ensure();
    if (!comm) {
      return;
    }
    const payload = data as any;
    if (!this._opened) {
      this._opened = true;
      comm.open(payload);
    } else {
      comm.send(payload);
    }
  }

  private _dispatch(data: IStreamMessage): void {
    const listeners = this._listeners.get(data?.stream);
    for (const listener of [...(listeners ?? [])]) {
      try {
        listener.message(data);
      } catch (reason) {
        console.error('glm-jupyter: stream listener failed', reason);
      }
    }
    if (data.bundle || data.gone) {
      // Nothing more will come for it (after `end`, a late view may still ask for the bundle).
      this._listeners.delete(data.stream);
    }
  }

  private _comm: Kernel.IComm | null = null;
  private _opened = false;
  private _listeners = new Map<string, Set<IStreamListener>>();
}

/** The stream host the plugin registers: a link per kernel connection of each notebook. */
export class StreamHub implements IStreamHost {
  constructor(private _tracker: INotebookTracker) {
    const watch = (panel: NotebookPanel) => {
      const context = panel.sessionContext;
      const link = () => {
        const kernel = context.session?.kernel;
        if (kernel) {
          this._link(kernel).ensure();
        }
      };
      context.kernelChanged.connect(link);
      context.statusChanged.connect(link);
      link();
    };
    _tracker.forEach(watch);
    _tracker.widgetAdded.connect((_, panel) => watch(panel));
  }

  follow(
    node: HTMLElement,
    streamId: string,
    listener: IStreamListener
  ): IStreamLink | null {
    const panel = this._tracker.find(p => p.node.contains(node));
    const kernel = panel?.sessionContext.session?.kernel;
    if (!kernel) {
      return null;
    }
    const link = this._link(kernel);
    link.add(streamId, listener);
    return {
      send: data => link.send(data),
      dispose: () => link.remove(streamId, listener)
    };
  }

  private _link(kernel: Kernel.IKernelConnection): KernelLink {
    let link = this._links.get(kernel);
    if (!link) {
      link = new KernelLink(kernel);
      this._links.set(kernel, link);
    }
    return link;
  }

  private _links = new WeakMap<Kernel.IKernelConnection, KernelLink>();
}
