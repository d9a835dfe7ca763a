/**
 * The status bar item: model and provider of the notebook's last GLM reply, with the
 * notebook's token and cost totals.
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import type { ICodeCellModel } from '@jupyterlab/cells';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import {
  INotebookTotals,
  notebookTotals,
  RESPONSE_MIME,
  statusText,
  statusTitle
} from './model';

/** Id of the status bar item. */
export const STATUS_ITEM_ID = 'glm-jupyter:status';
/** Outputs stream many updates a second; recount at most this often. */
const DEBOUNCE_MS = 200;

/** The response payloads in a notebook model, in notebook order. */
export function responsePayloads(model: INotebookModel): unknown[] {
  const payloads: unknown[] = [];
  for (const cell of model.cells) {
    if (cell.type !== 'code') {
      continue;
    }
    const outputs = (cell as ICodeCellModel).outputs;
    for (let i = 0; i < outputs.length; i++) {
      const data = outputs.get(i).data[RESPONSE_MIME];
      if (data !== undefined) {
        payloads.push(data);
      }
    }
  }
  return payloads;
}

/** The item's widget: `div.jp-GLM-statusbar`, its text set from notebook totals. */
export class GLMStatus extends Widget {
  constructor() {
    super();
    this.addClass('jp-GLM-statusbar');
  }

  /** Emitted when the item starts or stops having something to show. */
  get contentChanged(): ISignal<this, void> {
    return this._contentChanged;
  }

  /** Whether there is a GLM reply to show. */
  get hasContent(): boolean {
    return this._totals !== null;
  }

  /** Show `totals`, or nothing when null. */
  setTotals(totals: INotebookTotals | null): void {
    const had = this._totals !== null;
    this._totals = totals;
    const text = totals ? statusText(totals) : '';
    if (this.node.textContent !== text) {
      this.node.textContent = text;
    }
    this.node.title = totals ? statusTitle(totals) : '';
    if (had !== (totals !== null)) {
      this._contentChanged.emit();
    }
  }

  private _totals: INotebookTotals | null = null;
  private _contentChanged = new Signal<this, void>(this);
}

/**
 * Keeps a GLMStatus in step with the current notebook: recounts when the current
 * notebook changes, when its cells change, and when any code cell's outputs change.
 */
export class NotebookWatcher {
  constructor(
    private _tracker: INotebookTracker,
    private _item: GLMStatus
  ) {
    _tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._onCurrentChanged();
  }

  /** The notebook being watched. */
  get panel(): NotebookPanel | null {
    return this._panel;
  }

  private _onCurrentChanged(): void {
    if (this._panel) {
      this._panel.content.modelChanged.disconnect(this._onModelChanged, this);
    }
    this._panel = this._tracker.currentWidget;
    if (this._panel) {
      this._panel.content.modelChanged.connect(this._onModelChanged, this);
    }
    this._onModelChanged();
    this._recount();
  }

  private _onModelChanged(): void {
    if (this._model && !this._model.isDisposed) {
      this._model.cells.changed.disconnect(this._onCellsChanged, this);
    }
    this._model = this._panel?.content.model ?? null;
    if (this._model) {
      this._model.cells.changed.connect(this._onCellsChanged, this);
    }
    this._onCellsChanged();
  }

  /** Listen to the outputs of exactly the code cells the model has now. */
  private _onCellsChanged(): void {
    for (const outputs of this._outputs) {
      outputs.changed.disconnect(this._schedule, this);
    }
    this._outputs = [];
    if (this._model && !this._model.isDisposed) {
      for (const cell of this._model.cells) {
        if (cell.type === 'code') {
          const outputs = (cell as ICodeCellModel).outputs;
          outputs.changed.connect(this._schedule, this);
          this._outputs.push(outputs);
        }
      }
    }
    this._schedule();
  }

  private _schedule(): void {
    if (this._timer !== null) {
      return;
    }
    this._timer = window.setTimeout(() => {
      this._timer = null;
      this._recount();
    }, DEBOUNCE_MS);
  }

  private _recount(): void {
    const model = this._model;
    this._item.setTotals(
      model && !model.isDisposed ? notebookTotals(responsePayloads(model)) : null
    );
  }

  private _panel: NotebookPanel | null = null;
  private _model: INotebookModel | null = null;
  private _outputs: ICodeCellModel['outputs'][] = [];
  private _timer: number | null = null;
}

/** Register the status item; shown while the notebook in front has GLM replies. */
export function addStatusItem(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  statusBar: IStatusBar
): void {
  const item = new GLMStatus();
  const watcher = new NotebookWatcher(tracker, item);
  const activeChanged = new Signal<GLMStatus, void>(item);
  item.contentChanged.connect(() => activeChanged.emit());
  // The tracker keeps its last notebook while a console or editor is in front; hide
  // the item then, as JupyterLab's own notebook items do.
  app.shell.currentChanged?.connect(() => activeChanged.emit());
  tracker.currentChanged.connect(() => activeChanged.emit());
  statusBar.registerStatusItem(STATUS_ITEM_ID, {
    item,
    align: 'left',
    rank: 100,
    isActive: () => {
      const current = app.shell.currentWidget;
      return item.hasContent && (!current || current === watcher.panel);
    },
    activeStateChanged: activeChanged
  });
}
