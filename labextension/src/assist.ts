/**
 * Completions and inline edits in the status bar, as a line of their own: this kernel
 * session's requests, tokens and cost of each kind, as the kernel's ledger counts them
 * (the last answer of each kind carries the totals, so a reloaded page shows them again
 * after the next one).
 */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { fmtCost, fmtInt } from './model';

/** Id of the status bar item. */
export const ASSIST_ITEM_ID = 'glm-jupyter:assist';

/** What the kernel's ledger says of one kind of use. */
export interface IAssistTotals {
  requests: number;
  tokens: number;
  cost: number | null;
}

/** The two kinds the kernel counts. */
export type AssistKind = 'completions' | 'edits';

/** Per kernel, its latest totals of each kind. */
export type AssistEntry = Partial<Record<AssistKind, IAssistTotals>>;

/** The status line of one kernel's totals ('' for none). */
export function assistText(entry: AssistEntry | undefined): string {
  if (!entry) {
    return '';
  }
  const parts: string[] = [];
  let cost: number | null = 0;
  for (const kind of ['completions', 'edits'] as const) {
    const t = entry[kind];
    if (t && t.requests) {
      parts.push(`${kind} ${fmtInt(t.requests)} (${fmtInt(t.tokens)} tokens)`);
      cost = cost === null || t.cost === null ? null : cost + t.cost;
    }
  }
  if (!parts.length) {
    return '';
  }
  return `GLM ${parts.join(', ')}${cost ? ` · ${fmtCost(cost)}` : ''}`;
}

/** The kernels' totals, as their answers report them. */
export class AssistUsage {
  /** Emitted when a kernel's totals change. */
  readonly changed = new Signal<this, string>(this);

  /** Take `totals` of `kind` from an answer of kernel `kernelId`. */
  record(kernelId: string, kind: AssistKind, totals: unknown): void {
    if (!isTotals(totals)) {
      return;
    }
    this._entries.set(kernelId, { ...this._entries.get(kernelId), [kind]: totals });
    this.changed.emit(kernelId);
  }

  /** The totals of kernel `kernelId`. */
  get(kernelId: string | undefined): AssistEntry | undefined {
    return kernelId ? this._entries.get(kernelId) : undefined;
  }

  private _entries = new Map<string, AssistEntry>();
}

function isTotals(value: unknown): value is IAssistTotals {
  const t = value as IAssistTotals | null;
  return (
    !!t &&
    typeof t.requests === 'number' &&
    typeof t.tokens === 'number' &&
    (t.cost === null || typeof t.cost === 'number')
  );
}

/** The page's one ledger view, shared by the completer and the edit command. */
export const assistUsage = new AssistUsage();

/** Show the current notebook kernel's completions and edits in the status bar. */
export function addAssistItem(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  statusBar: IStatusBar,
  usage: AssistUsage = assistUsage
): void {
  const item = new Widget();
  item.addClass('jp-GLM-assist-status');
  const kernelId = (): string | undefined =>
    tracker.currentWidget?.sessionContext.session?.kernel?.id;
  const activeChanged = new Signal<Widget, void>(item);
  const update = (): void => {
    const text = assistText(usage.get(kernelId()));
    if (item.node.textContent !== text) {
      item.node.textContent = text;
      item.node.title = text
        ? "This kernel session's inline completions and edits (the same as `%glm usage`)."
        : '';
      activeChanged.emit();
    }
  };
  usage.changed.connect(update);
  tracker.currentChanged.connect(update);
  app.shell.currentChanged?.connect(() => activeChanged.emit());
  statusBar.registerStatusItem(ASSIST_ITEM_ID, {
    item,
    align: 'left',
    rank: 101,
    isActive: () => {
      const current = app.shell.currentWidget;
      return (
        item.node.textContent !== '' && (!current || current === tracker.currentWidget)
      );
    },
    activeStateChanged: activeChanged
  });
}
