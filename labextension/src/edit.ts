/**
 * Inline edit: "Edit cell with GLM…" asks what to change, streams the model's new version of
 * the cell from its kernel (`/glm/edit`, the same context as completions) as a diff against
 * the current source, and offers Accept, Reject or Edit the prompt. Accept replaces the
 * source in one change, so one undo restores the cell.
 */

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, ICommandPalette, InputDialog, showDialog } from '@jupyterlab/apputils';
import type { Cell } from '@jupyterlab/cells';
import { URLExt } from '@jupyterlab/coreutils';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { assistUsage } from './assist';
import { bodyText, cellsAbove, fold, pieceBatches } from './completer';
import { lineDiff, renderDiff } from './diff';
import { EDIT_COMMAND } from './model';

/** The dialog's body: the diff so far, and a line saying where the answer stands. */
class DiffBody extends Widget {
  readonly status = document.createElement('div');
  readonly diff = document.createElement('div');

  constructor(private readonly _before: string) {
    super();
    this.addClass('jp-GLM-edit');
    this.status.className = 'jp-GLM-edit-status';
    this.status.textContent = 'Waiting for the model…';
    this.node.append(this.status, this.diff);
  }

  showDiff(after: string, note: string): void {
    renderDiff(lineDiff(this._before, after), this.diff);
    this.status.textContent = note;
  }
}

/** Stream one edit into `body`; the new source, or null when there is none. */
async function streamEdit(
  panel: NotebookPanel,
  source: string,
  instruction: string,
  body: DiffBody,
  signal: AbortSignal
): Promise<string | null> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    body.status.textContent = 'This notebook has no kernel to ask.';
    return null;
  }
  const settings = ServerConnection.makeSettings();
  const request = {
    kernel_id: kernel.id,
    source,
    instruction,
    cells: cellsAbove(panel)
  };
  const response = await ServerConnection.makeRequest(
    URLExt.join(settings.baseUrl, 'glm', 'edit'),
    { method: 'POST', body: JSON.stringify(request), signal },
    settings
  );
  if (!response.ok || !response.body) {
    const said = await response.json().catch(() => ({}));
    body.status.textContent =
      said.error ?? `The edit failed (HTTP ${response.status}).`;
    return null;
  }
  let text = '';
  for await (const batch of pieceBatches(bodyText(response.body))) {
    const folded = fold(text, batch);
    text = folded.text;
    const last = folded.last;
    if (last?.error) {
      body.status.textContent = last.error;
      return null;
    }
    if (last?.done) {
      assistUsage.record(kernel.id, 'edits', last.session);
      const after = last.source ?? text;
      body.showDiff(
        after,
        after === source ? 'No change proposed.' : 'Proposed change:'
      );
      return after;
    }
    body.showDiff(text, 'The model is writing…');
  }
  return null;
}

/** Ask, stream, and apply (or not) one edit of `cell`. */
export async function editCell(panel: NotebookPanel, cell: Cell): Promise<boolean> {
  let instruction = '';
  for (;;) {
    const asked = await InputDialog.getText({
      title: 'Edit cell with GLM',
      label: 'What should change?',
      placeholder: 'vectorise this loop',
      text: instruction,
      okLabel: 'Edit'
    });
    if (!asked.button.accept || !asked.value?.trim()) {
      return false;
    }
    instruction = asked.value.trim();
    const before = cell.model.sharedModel.getSource();
    const body = new DiffBody(before);
    const controller = new AbortController();
    const accept = Dialog.okButton({ label: 'Accept' });
    const again = Dialog.createButton({
      label: 'Edit the prompt',
      accept: false,
      displayType: 'default'
    });
    const shown = showDialog({
      title: instruction,
      body,
      buttons: [Dialog.cancelButton({ label: 'Reject' }), again, accept],
      hasClose: true
    });
    const acceptNode = (): HTMLButtonElement | null =>
      document.querySelector('.jp-Dialog .jp-mod-accept');
    // Accept waits for the whole answer.
    requestAnimationFrame(() => acceptNode()?.setAttribute('disabled', ''));
    const proposed = streamEdit(
      panel,
      before,
      instruction,
      body,
      controller.signal
    ).catch(() => null);
    void proposed.then(after => {
      if (after !== null && after !== before) {
        acceptNode()?.removeAttribute('disabled');
      }
    });
    const result = await shown;
    controller.abort();
    const after = await proposed;
    if (result.button.label === 'Edit the prompt') {
      continue;
    }
    if (!result.button.accept || after === null || after === before) {
      return false;
    }
    cell.model.sharedModel.setSource(after); // one change: one undo step restores the cell
    return true;
  }
}

/** The command, in the palette and the cell context menu. */
export function addEditCommand(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  palette: ICommandPalette | null
): void {
  app.commands.addCommand(EDIT_COMMAND, {
    label: 'Edit Cell with GLM…',
    caption: 'Say what to change; the new version comes as a diff to accept or reject.',
    isEnabled: () => {
      const cell = tracker.currentWidget?.content.activeCell;
      return (
        !!cell &&
        cell.model.type === 'code' &&
        !tracker.currentWidget?.content.model?.readOnly
      );
    },
    execute: async () => {
      const panel = tracker.currentWidget;
      const cell = panel?.content.activeCell;
      if (!panel || !cell) {
        return false;
      }
      return editCell(panel, cell);
    }
  });
  palette?.addItem({ command: EDIT_COMMAND, category: 'GLM' });
  app.contextMenu.addItem({
    command: EDIT_COMMAND,
    selector: '.jp-Notebook .jp-CodeCell',
    rank: 17
  });
}
