/**
 * The MIME renderer extension (package.json `jupyterlab.mimeExtension`).
 *
 * - `application/vnd.glm.response+json`: one model reply, updated in place while it
 *   streams.
 * - `application/vnd.glm.step+json`: one agent step card.
 */

import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

import { RESPONSE_MIME, STEP_MIME } from './model';
import { ResponseRenderer } from './response';
import { StepRenderer } from './step';

/** Creates ResponseRenderers. */
export const responseRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [RESPONSE_MIME],
  createRenderer: options => new ResponseRenderer(options)
};

/** Creates StepRenderers. */
export const stepRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [STEP_MIME],
  createRenderer: options => new StepRenderer(options)
};

const extensions: IRenderMime.IExtension[] = [
  {
    id: 'glm-jupyter-labextension:response',
    description: 'Renders glm-jupyter model responses.',
    rendererFactory: responseRendererFactory,
    rank: 0,
    dataType: 'json'
  },
  {
    id: 'glm-jupyter-labextension:step',
    description: 'Renders glm-jupyter agent steps.',
    rendererFactory: stepRendererFactory,
    rank: 0,
    dataType: 'json'
  }
];

export default extensions;
