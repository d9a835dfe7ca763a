/**
 * The application plugins (package.json `jupyterlab.extension`): cell commands, the
 * host for code-block toolbars, the delta channel for streaming replies, the status
 * bar item, and inline completions.
 *
 * Both work in JupyterLab 4 and Notebook 7; Notebook 7 has no status bar, so the
 * status item's IStatusBar is optional.
 */

import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, ISessionContextDialogs } from '@jupyterlab/apputils';
import { ICompletionProviderManager } from '@jupyterlab/completer';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';

import { registerCodeActionHost, registerStreamHost } from './bridge';
import { addCellCommands, findCell, insertCellBelow } from './commands';
import { addAssistItem } from './assist';
import { GlmInlineProvider } from './completer';
import { addEditCommand } from './edit';
import { addStatusItem } from './statusbar';
import { StreamHub } from './stream';

/** Cell commands, and Insert below / Insert and run for code-block toolbars. */
const commandsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-jupyter-labextension:commands',
  description: 'GLM cell commands and code-block actions.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICommandPalette, ISessionContextDialogs],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    palette: ICommandPalette | null,
    dialogs: ISessionContextDialogs | null
  ) => {
    addCellCommands(app, tracker, palette, dialogs);
    addEditCommand(app, tracker, palette);
    registerCodeActionHost({
      insertBelow: async (cellNode, code, run) => {
        const target = findCell(tracker, cellNode);
        if (!target) {
          return false;
        }
        return insertCellBelow(target.panel, target.index, code, run, dialogs);
      }
    });
  }
};

/** The delta channel: streaming replies follow their kernel's stream instead of re-rendering
 * whole bundles. */
const streamPlugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-jupyter-labextension:stream',
  description: 'Streams GLM replies to their renderers as deltas.',
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    registerStreamHost(new StreamHub(tracker));
  }
};

/** Model, provider, tokens and cost of the current notebook's GLM replies. */
const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-jupyter-labextension:status',
  description: 'GLM model, tokens and cost of the current notebook in the status bar.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    statusBar: IStatusBar | null
  ) => {
    if (statusBar) {
      addStatusItem(app, tracker, statusBar);
    }
  }
};

/** Inline completions (ghost text) from the notebook's kernel, which knows its variables. */
const completerPlugin: JupyterFrontEndPlugin<void> = {
  id: 'glm-jupyter-labextension:completer',
  description: 'GLM inline completions that know the live kernel.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ICompletionProviderManager, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    manager: ICompletionProviderManager | null,
    statusBar: IStatusBar | null
  ) => {
    manager?.registerInlineProvider(new GlmInlineProvider());
    if (statusBar) {
      addAssistItem(app, tracker, statusBar); // completions and edits, a line of their own
    }
  }
};

const plugins: JupyterFrontEndPlugin<void>[] = [
  commandsPlugin,
  streamPlugin,
  statusPlugin,
  completerPlugin
];

export default plugins;
