/**
 * The page's side of the delta channel: one comm per kernel, opened when a renderer first
 * follows one of its streams, dispatching each message to the renderers of its stream.
 */

import { INotebookTracker } from '@jupyterlab/notebook';
import { Kernel } from '@jupyterlab/services';

import { IStreamHost, IStreamLink, IStreamListener, IStreamMessage } from './bridge';

/** The kernel's comm target (glm_jupyter/display/channel.py `TARGET`). */
export const STREAM_TARGET = 'glm_jupyter.stream';

/** One open comm to a kernel and who listens on it, by stream. */
class KernelLink {
  constructor(
    private _kernel: Kernel.IKernelConnection,
    private _onClosed: () => void
  ) {}

  get usable(): boolean {
    return !this._closed && !this._kernel.isDisposed;
  }

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
    const listeners = this._listeners.get(streamId);
    if (!listeners || !listeners.delete(listener) || listeners.size) {
      return;
    }
    this._listeners.delete(streamId);
    if (!this._over.has(streamId)) {
      this.send({ unfollow: streamId });
    }
  }

  send(data: { [key: string]: unknown }): void {
    if (!this.usable) {
      return;
    }
    const payload = data as any;
    if (!this._comm) {
      this._comm = this._kernel.createComm(STREAM_TARGET);
      this._comm.onMsg = msg =>
        this._dispatch(msg.content.data as unknown as IStreamMessage);
      this._comm.onClose = () => this._close();
      this._comm.open(payload);
    } else if (!this._comm.isDisposed) {
      this._comm.send(payload);
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
    if (data.end || data.bundle || data.gone) {
      this._over.add(data.stream); // no need to unfollow it
    }
    if (data.bundle || data.gone) {
      // Nothing more will come for it (after `end`, a late view may still ask for the bundle).
      this._listeners.delete(data.stream);
    }
  }

  private _close(): void {
    this._closed = true;
    this._listeners.clear();
    this._onClosed();
  }

  private _comm: Kernel.IComm | null = null;
  private _closed = false;
  private _listeners = new Map<string, Set<IStreamListener>>();
  private _over = new Set<string>();
}

/** The stream host the plugin registers: finds a renderer's kernel, keeps one link each. */
export class StreamHub implements IStreamHost {
  constructor(private _tracker: INotebookTracker) {}

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
    let link = this._links.get(kernel.id);
    if (!link || !link.usable) {
      const id = kernel.id;
      link = new KernelLink(kernel, () => {
        if (this._links.get(id) === link) {
          this._links.delete(id);
        }
      });
      this._links.set(id, link);
    }
    const linked = link;
    linked.add(streamId, listener);
    return {
      send: data => linked.send(data),
      dispose: () => linked.remove(streamId, listener)
    };
  }

  private _links = new Map<string, KernelLink>();
}
