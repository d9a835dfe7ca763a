import { afterEach, describe, expect, it, vi } from 'vitest';

import { ICodeActionHost, registerCodeActionHost } from '../src/bridge';
import {
  addCodeActions,
  CODE_ACTIONS_CLASS,
  CODE_WRAPPER_CLASS,
  codeText,
  copyCode,
  COPY_CLASS,
  INSERT_CLASS,
  INSERT_RUN_CLASS,
  writeClipboard
} from '../src/codeactions';

/** A notebook cell holding rendered Markdown with two code blocks, as JupyterLab draws it. */
function fragment(): { cell: HTMLElement; region: HTMLElement } {
  const cell = document.createElement('div');
  cell.className = 'jp-Cell jp-CodeCell';
  const region = document.createElement('div');
  region.className = 'jp-GLM-content';
  region.innerHTML =
    '<div class="jp-RenderedMarkdown jp-RenderedHTMLCommon">' +
    '<p>Try:</p>' +
    '<pre><code class="language-python"><span class="cm-keyword">import</span> os\nprint(os.getcwd())\n</code></pre>' +
    '<ul><li><pre><code>echo hi\n</code></pre></li></ul>' +
    '</div>';
  cell.appendChild(region);
  document.body.appendChild(cell);
  return { cell, region };
}

function labels(toolbar: Element): string[] {
  return Array.from(toolbar.querySelectorAll('button')).map(b => b.textContent ?? '');
}

let unregister: (() => void) | null = null;

afterEach(() => {
  unregister?.();
  unregister = null;
  document.body.innerHTML = '';
});

describe('code actions', () => {
  it('adds one toolbar per pre, once, with only Copy when no host is registered', () => {
    const { region } = fragment();
    addCodeActions(region);
    addCodeActions(region);
    const pres = region.querySelectorAll('pre');
    expect(pres).toHaveLength(2);
    const toolbars = region.querySelectorAll(`.${CODE_ACTIONS_CLASS}`);
    expect(toolbars).toHaveLength(2);
    for (const pre of Array.from(pres)) {
      const wrapper = pre.parentElement!;
      expect(wrapper.classList.contains(CODE_WRAPPER_CLASS)).toBe(true);
      // The toolbar sits just before the pre, inside the wrapper.
      expect(pre.previousElementSibling?.classList.contains(CODE_ACTIONS_CLASS)).toBe(
        true
      );
      expect(labels(pre.previousElementSibling!)).toEqual(['Copy']);
    }
  });

  it('adds exactly three buttons when a host is registered, and keeps labels out of the code', async () => {
    const calls: [HTMLElement, string, boolean][] = [];
    const host: ICodeActionHost = {
      insertBelow: async (cellNode, code, run) => {
        calls.push([cellNode, code, run]);
        return true;
      }
    };
    unregister = registerCodeActionHost(host);
    const { cell, region } = fragment();
    addCodeActions(region);
    addCodeActions(region);
    const toolbar = region.querySelector(`.${CODE_ACTIONS_CLASS}`)!;
    expect(labels(toolbar)).toEqual(['Copy', 'Insert below', 'Insert and run']);
    expect(toolbar.querySelectorAll(`.${COPY_CLASS}`)).toHaveLength(1);
    expect(toolbar.querySelectorAll(`.${INSERT_CLASS}`)).toHaveLength(1);
    expect(toolbar.querySelectorAll(`.${INSERT_RUN_CLASS}`)).toHaveLength(1);

    const pre = region.querySelector('pre')!;
    expect(codeText(pre)).toBe('import os\nprint(os.getcwd())');

    (toolbar.querySelector(`.${INSERT_CLASS}`) as HTMLButtonElement).click();
    (toolbar.querySelector(`.${INSERT_RUN_CLASS}`) as HTMLButtonElement).click();
    await Promise.resolve();
    expect(calls).toEqual([
      [cell, 'import os\nprint(os.getcwd())', false],
      [cell, 'import os\nprint(os.getcwd())', true]
    ]);
    for (const [, code] of calls) {
      expect(code).not.toMatch(/Copy|Insert/);
    }
  });

  it('adds the Insert buttons to toolbars drawn before the host registered, and drops them after', () => {
    const { region } = fragment();
    addCodeActions(region);
    const toolbar = region.querySelector(`.${CODE_ACTIONS_CLASS}`)!;
    expect(labels(toolbar)).toEqual(['Copy']);
    unregister = registerCodeActionHost({ insertBelow: async () => true });
    expect(labels(toolbar)).toEqual(['Copy', 'Insert below', 'Insert and run']);
    unregister();
    unregister = null;
    expect(labels(toolbar)).toEqual(['Copy']);
  });

  it('decorates a fresh render again after Markdown replaces its DOM', () => {
    const { region } = fragment();
    addCodeActions(region);
    region.innerHTML =
      '<div class="jp-RenderedMarkdown"><pre><code>x = 2\n</code></pre></div>';
    addCodeActions(region);
    expect(region.querySelectorAll(`.${CODE_ACTIONS_CLASS}`)).toHaveLength(1);
    expect(codeText(region.querySelector('pre')!)).toBe('x = 2');
  });

  it('copies the raw code and says so, then shows its label again', async () => {
    vi.useFakeTimers();
    try {
      const writeText = vi.fn(async (_: string) => undefined);
      Object.defineProperty(window.navigator, 'clipboard', {
        value: { writeText },
        configurable: true
      });
      const { region } = fragment();
      addCodeActions(region);
      const copy = region.querySelector(`.${COPY_CLASS}`) as HTMLButtonElement;
      copy.click();
      // The clipboard call happens in the click itself.
      expect(writeText).toHaveBeenCalledWith('import os\nprint(os.getcwd())');
      await copyCode(copy, 'x');
      expect(copy.textContent).toBe('Copied');
      vi.runAllTimers();
      expect(copy.textContent).toBe('Copy');
    } finally {
      vi.useRealTimers();
    }
  });

  it('falls back to execCommand without the clipboard API', async () => {
    Object.defineProperty(window.navigator, 'clipboard', {
      value: undefined,
      configurable: true
    });
    let copied: string | null = null;
    const execCommand = vi.fn((command: string) => {
      copied = document.querySelector('textarea')?.value ?? null;
      return command === 'copy';
    });
    Object.defineProperty(document, 'execCommand', {
      value: execCommand,
      configurable: true
    });
    expect(await writeClipboard(document, 'a = 1')).toBe(true);
    expect(execCommand).toHaveBeenCalledWith('copy');
    expect(copied).toBe('a = 1');
    // The helper textarea is gone again.
    expect(document.querySelector('textarea')).toBeNull();
  });
});
