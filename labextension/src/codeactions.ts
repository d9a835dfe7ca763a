/**
 * Copy / Insert below / Insert and run toolbars for code blocks in rendered output.
 */

import { codeActionHost, onCodeActionHostChanged } from './bridge';

/** Class of the toolbar placed before each decorated `<pre>`. */
export const CODE_ACTIONS_CLASS = 'jp-GLM-code-actions';
/** Class of the wrapper that holds the toolbar and the `<pre>`. */
export const CODE_WRAPPER_CLASS = 'jp-GLM-code';
/** Class of the Copy button. */
export const COPY_CLASS = 'jp-GLM-copy';
/** Class of the Insert below button. */
export const INSERT_CLASS = 'jp-GLM-insert';
/** Class of the Insert and run button. */
export const INSERT_RUN_CLASS = 'jp-GLM-insert-run';

/** How long a button shows its feedback ("Copied") before its label returns. */
const FEEDBACK_MS = 1500;

/** The raw code of a `<pre>`: its text, less the newline Markdown adds at the end. */
export function codeText(pre: HTMLElement): string {
  const text = pre.textContent ?? '';
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

/**
 * Give every `<pre>` under `root` a toolbar, once. Safe to call after each render: a
 * `<pre>` already in a wrapper only gets any missing buttons.
 */
export function addCodeActions(root: HTMLElement): void {
  const pres = Array.from(root.querySelectorAll('pre'));
  for (const pre of pres) {
    const parent = pre.parentElement;
    if (!parent) {
      continue;
    }
    if (parent.classList.contains(CODE_WRAPPER_CLASS)) {
      const toolbar = parent.querySelector(`:scope > .${CODE_ACTIONS_CLASS}`);
      if (toolbar instanceof HTMLElement) {
        syncButtons(toolbar, pre);
      }
      continue;
    }
    const doc = pre.ownerDocument;
    const wrapper = doc.createElement('div');
    wrapper.className = CODE_WRAPPER_CLASS;
    const toolbar = doc.createElement('div');
    toolbar.className = CODE_ACTIONS_CLASS;
    toolbar.setAttribute('role', 'toolbar');
    toolbar.setAttribute('aria-label', 'Code actions');
    // Keys pressed on these buttons (Enter, Space) must click them, not run the
    // notebook's command-mode shortcuts.
    toolbar.setAttribute('data-lm-suppress-shortcuts', 'true');
    parent.insertBefore(wrapper, pre);
    wrapper.appendChild(toolbar);
    wrapper.appendChild(pre);
    syncButtons(toolbar, pre);
  }
}

/** Add the buttons a toolbar lacks; Insert buttons only when a host is registered. */
function syncButtons(toolbar: HTMLElement, pre: HTMLElement): void {
  if (!toolbar.querySelector(`.${COPY_CLASS}`)) {
    toolbar.appendChild(
      button(toolbar, COPY_CLASS, 'Copy', 'Copy the code to the clipboard', btn =>
        copyCode(btn, codeText(pre))
      )
    );
  }
  const host = codeActionHost();
  const inserts = toolbar.querySelectorAll(`.${INSERT_CLASS}, .${INSERT_RUN_CLASS}`);
  if (!host) {
    inserts.forEach(node => node.remove());
    return;
  }
  if (inserts.length) {
    return;
  }
  toolbar.appendChild(
    button(
      toolbar,
      INSERT_CLASS,
      'Insert below',
      'Insert the code in a new cell below this one',
      btn => insert(btn, pre, false)
    )
  );
  toolbar.appendChild(
    button(
      toolbar,
      INSERT_RUN_CLASS,
      'Insert and run',
      'Insert the code in a new cell below this one and run it',
      btn => insert(btn, pre, true)
    )
  );
}

function button(
  toolbar: HTMLElement,
  className: string,
  label: string,
  title: string,
  onClick: (btn: HTMLButtonElement) => Promise<void>
): HTMLButtonElement {
  const btn = toolbar.ownerDocument.createElement('button');
  btn.type = 'button';
  btn.className = `${className} jp-GLM-code-action`;
  btn.textContent = label;
  btn.title = title;
  btn.dataset.label = label;
  btn.addEventListener('click', event => {
    // The click belongs to the button, not to the output area behind it.
    event.preventDefault();
    event.stopPropagation();
    void onClick(btn);
  });
  return btn;
}

/** Show `text` on the button for a moment, then its label again. */
function flash(btn: HTMLButtonElement, text: string): void {
  btn.textContent = text;
  const win = btn.ownerDocument.defaultView;
  const timer = (win ?? globalThis).setTimeout(() => {
    btn.textContent = btn.dataset.label ?? '';
  }, FEEDBACK_MS);
  // A newer flash replaces an older one's pending reset.
  const previous = Number(btn.dataset.timer);
  if (previous) {
    (win ?? globalThis).clearTimeout(previous);
  }
  btn.dataset.timer = String(timer);
}

/** Copy `code`, showing "Copied" (or "Copy failed") on the button. */
export async function copyCode(btn: HTMLButtonElement, code: string): Promise<void> {
  const ok = await writeClipboard(btn.ownerDocument, code);
  flash(btn, ok ? 'Copied' : 'Copy failed');
}

/** Write text to the clipboard; falls back to execCommand where the API is missing. */
export async function writeClipboard(doc: Document, text: string): Promise<boolean> {
  const clipboard = doc.defaultView?.navigator?.clipboard;
  if (clipboard && typeof clipboard.writeText === 'function') {
    try {
      await clipboard.writeText(text);
      return true;
    } catch {
      // Denied (insecure origin, no focus): try the old way.
    }
  }
  const area = doc.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.top = '-1000px';
  area.style.opacity = '0';
  doc.body.appendChild(area);
  const active = doc.activeElement as HTMLElement | null;
  try {
    area.select();
    return typeof doc.execCommand === 'function' && doc.execCommand('copy');
  } catch {
    return false;
  } finally {
    area.remove();
    active?.focus?.();
  }
}

async function insert(
  btn: HTMLButtonElement,
  pre: HTMLElement,
  run: boolean
): Promise<void> {
  const host = codeActionHost();
  const cell = btn.closest('.jp-Cell');
  if (!host || !(cell instanceof HTMLElement)) {
    flash(btn, 'Not in a notebook');
    return;
  }
  try {
    const done = await host.insertBelow(cell, codeText(pre), run);
    if (!done) {
      flash(btn, 'Not in a notebook');
    }
  } catch (reason) {
    console.error('glm-jupyter: insert failed', reason);
    flash(btn, 'Insert failed');
  }
}

// Toolbars drawn before the plugin registered (or after it went away) catch up.
onCodeActionHostChanged(() => {
  if (typeof document === 'undefined') {
    return;
  }
  document.querySelectorAll(`.${CODE_ACTIONS_CLASS}`).forEach(toolbar => {
    const pre = toolbar.parentElement?.querySelector(':scope > pre');
    if (toolbar instanceof HTMLElement && pre instanceof HTMLElement) {
      syncButtons(toolbar, pre);
    }
  });
});
