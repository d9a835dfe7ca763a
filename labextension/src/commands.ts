/**
 * The cell commands (ask, explain error, fix) and inserting a code cell below another.
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette, ISessionContextDialogs } from '@jupyterlab/apputils';
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { cellCommandText, CellCommandKind, CommandIDs } from './model';

export { CommandIDs };

/** Command labels, as the palette and the context menu show them. */
export const CommandLabels: Record<CellCommandKind, string> = {
  ask: 'Ask GLM about this cell',
  explain: 'Explain this error',
  fix: 'Fix this cell'
};

const CAPTIONS: Record<CellCommandKind, string> = {
  ask: 'Insert and run a %%glm cell below that asks about this cell',
  explain: "Insert and run '%glm explain' below for this cell's error",
  fix: "Insert and run '%glm fix' below for this cell"
};

/** Selector of the cell context menu. */
export const CELL_MENU_SELECTOR = '.jp-Notebook .jp-Cell';

/** The notebook and index of one cell. */
export interface ICellTarget {
  panel: NotebookPanel;
  index: number;
  cell: Cell;
}

/** Find the tracked notebook cell whose DOM node is `node` (or holds it). */
export function findCell(tracker: INotebookTracker, node: Element): ICellTarget | null {
  const cellNode = node.closest('.jp-Cell');
  if (!cellNode) {
    return null;
  }
  // The current notebook first: it is nearly always the one.
  const panels: NotebookPanel[] = [];
  if (tracker.currentWidget) {
    panels.push(tracker.currentWidget);
  }
  tracker.forEach(panel => {
    if (panel !== tracker.currentWidget) {
      panels.push(panel);
    }
  });
  for (const panel of panels) {
    const index = panel.content.widgets.findIndex(w => w.node === cellNode);
    if (index >= 0) {
      return { panel, index, cell: panel.content.widgets[index] };
    }
  }
  return null;
}

/**
 * Insert a code cell holding `source` below cell `index` of `panel`, make it the
 * active cell and, when `run` is true, run it.
 */
export async function insertCellBelow(
  panel: NotebookPanel,
  index: number,
  source: string,
  run: boolean,
  dialogs?: ISessionContextDialogs | null
): Promise<boolean> {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model || model.readOnly) {
    return false;
  }
  const newIndex = index + 1;
  // A cell the person asked for is trusted, as NotebookActions.insertBelow makes it.
  model.sharedModel.insertCell(newIndex, {
    cell_type: 'code',
    source,
    metadata: { trusted: true }
  });
  notebook.activeCellIndex = newIndex;
  notebook.deselectAll();
  const cell = notebook.widgets[newIndex];
  if (!cell) {
    return false;
  }
  if (run) {
    // runCells runs exactly this cell, whichever notebook is current. It resolves only
    // when the cell has finished, which for a %%glm cell can be minutes: the insert is
    // done now, so do not hold the caller (a button, a command) until then.
    NotebookActions.runCells(
      notebook,
      [cell],
      panel.sessionContext,
      dialogs ?? undefined
    ).catch(reason =>
      console.error('glm-jupyter: running the new cell failed', reason)
    );
  } else {
    notebook.mode = 'command';
    await notebook.scrollToCell(cell, 'auto');
  }
  return true;
}

/** Whether a cell is a code cell with an output of type "error". */
export function hasErrorOutput(cell: Cell): boolean {
  if (cell.model.type !== 'code') {
    return false;
  }
  const outputs = (cell.model as ICodeCellModel).outputs;
  for (let i = 0; i < outputs.length; i++) {
    if (outputs.get(i).type === 'error') {
      return true;
    }
  }
  return false;
}

/** The source the command would insert below `cell`, or null when it does not apply. */
export function commandTextFor(kind: CellCommandKind, cell: Cell): string | null {
  if (cell.model.type !== 'code') {
    return null;
  }
  if (kind === 'explain' && !hasErrorOutput(cell)) {
    return null;
  }
  const model = cell.model as ICodeCellModel;
  return cellCommandText(kind, model.executionCount, model.sharedModel.getSource());
}

/**
 * Add the three commands with their palette items and context menu items. Their keys
 * are in the plugin's settings schema (schema/commands.json), where people rebind them.
 */
export function addCellCommands(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null,
  dialogs: ISessionContextDialogs | null
): void {
  const { commands } = app;

  // From the context menu the cell under the pointer is the target (it may differ from
  // the active cell when several are selected); elsewhere it is the active cell.
  const target = (args: ReadonlyPartialJSONObject): ICellTarget | null => {
    if (args.origin === 'context-menu') {
      const node = app.contextMenuHitTest(n => n.classList?.contains('jp-Cell'));
      const hit = node ? findCell(tracker, node) : null;
      if (hit) {
        return hit;
      }
    }
    const panel = tracker.currentWidget;
    const cell = panel?.content.activeCell;
    if (!panel || !cell) {
      return null;
    }
    return { panel, index: panel.content.activeCellIndex, cell };
  };

  const applies = (kind: CellCommandKind, args: ReadonlyPartialJSONObject): boolean => {
    const t = target(args);
    return (
      !!t && !t.panel.content.model?.readOnly && commandTextFor(kind, t.cell) !== null
    );
  };

  for (const kind of ['ask', 'explain', 'fix'] as CellCommandKind[]) {
    const id = CommandIDs[kind];
    commands.addCommand(id, {
      label: CommandLabels[kind],
      caption: CAPTIONS[kind],
      isEnabled: args => applies(kind, args),
      // Explain only shows for a cell with an error; the others always show.
      isVisible: kind === 'explain' ? args => applies(kind, args) : () => true,
      execute: async args => {
        const t = target(args);
        const text = t ? commandTextFor(kind, t.cell) : null;
        if (!t || text === null) {
          return false;
        }
        return insertCellBelow(t.panel, t.index, text, true, dialogs);
      }
    });
    palette?.addItem({ command: id, category: 'GLM' });
  }

  // Ranks 13-16 put the group right after the cell items ("Clear Cell Output" is 12)
  // and before the notebook-wide ones (20 and up).
  app.contextMenu.addItem({
    type: 'separator',
    selector: CELL_MENU_SELECTOR,
    rank: 13
  });
  (['ask', 'explain', 'fix'] as CellCommandKind[]).forEach((kind, i) => {
    app.contextMenu.addItem({
      command: CommandIDs[kind],
      selector: CELL_MENU_SELECTOR,
      rank: 14 + i,
      args: { origin: 'context-menu' }
    });
  });
}
