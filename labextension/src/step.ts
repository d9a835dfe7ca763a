/**
 * StepRenderer: one agent step card.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { PanelLayout, Widget } from '@lumino/widgets';

import { addCodeActions } from './codeactions';
import { el, nodeWidget, setText } from './dom';
import { MarkdownRegion } from './markdown';
import { argumentsMarkdown, IStep } from './model';

/** Step number, tool, status, approval, elapsed time, arguments and tool output. */
export class StepRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-GLM-step');
    const layout = new PanelLayout();
    this.layout = layout;

    const head = el('div', 'jp-GLM-step-head');
    this._index = el('span', 'jp-GLM-step-index');
    this._tool = el('code', 'jp-GLM-step-tool');
    this._statusBadge = el('span', 'jp-GLM-badge');
    this._approvalBadge = el('span', 'jp-GLM-badge');
    this._elapsed = el('span', 'jp-GLM-step-elapsed');
    head.append(
      this._index,
      this._tool,
      this._statusBadge,
      this._approvalBadge,
      this._elapsed
    );
    this._head = nodeWidget(head);
    layout.addWidget(this._head);

    this._args = new MarkdownRegion(options, { onRendered: addCodeActions });
    this._args.addClass('jp-GLM-step-args');
    layout.addWidget(this._args);

    this._outputDetails = el('details', 'jp-GLM-step-output');
    this._outputDetails.appendChild(
      el('summary', undefined, 'What the model was told')
    );
    this._outputPre = el('pre', 'jp-GLM-step-output-text');
    this._outputDetails.appendChild(this._outputPre);
    this._output = nodeWidget(this._outputDetails);
    layout.addWidget(this._output);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const step = model.data[this._mimeType] as unknown as IStep;
    if (!step || typeof step !== 'object') {
      return;
    }
    // The head is updated field by field so a step that is re-sent (running → done)
    // keeps its nodes, and with them any open tooltip or selection.
    const status = String(step.status ?? '');
    const approval = String(step.approval ?? '');
    setText(this._index, `Step ${step.index}`);
    setText(this._tool, step.tool);
    setText(this._statusBadge, status);
    this._statusBadge.className = `jp-GLM-badge jp-GLM-status-${status}`;
    setText(this._approvalBadge, approval);
    const approvalClass = approval.replace(/\s+/g, '-');
    this._approvalBadge.className = `jp-GLM-badge jp-GLM-approval-${approvalClass}`;
    setText(this._elapsed, step.elapsed_s ? `${step.elapsed_s.toFixed(2)} s` : '');
    this._elapsed.hidden = !step.elapsed_s;
    this._head.node.title = step.reasoning || '';
    if (this.node.dataset.status !== status) {
      this.node.dataset.status = status;
    }

    setText(this._outputPre, step.output || '');
    this._output.setHidden(!step.output);

    await this._args.render(
      argumentsMarkdown(step.tool, step.arguments || ''),
      model.trusted
    );
  }

  private _mimeType: string;
  private _head: Widget;
  private _index: HTMLElement;
  private _tool: HTMLElement;
  private _statusBadge: HTMLElement;
  private _approvalBadge: HTMLElement;
  private _elapsed: HTMLElement;
  private _args: MarkdownRegion;
  private _outputDetails: HTMLDetailsElement;
  private _outputPre: HTMLElement;
  private _output: Widget;
}
