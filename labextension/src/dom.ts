/**
 * Small DOM helpers shared by the renderers.
 */

import { Widget } from '@lumino/widgets';

/** A new element with an optional class and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** Wrap a plain node as a widget so it can sit in a PanelLayout. */
export function nodeWidget(node: HTMLElement): Widget {
  return new Widget({ node });
}

/** Set a node's text only when it differs, so unchanged updates touch no DOM. */
export function setText(node: HTMLElement, text: string): void {
  if (node.textContent !== text) {
    node.textContent = text;
  }
}
