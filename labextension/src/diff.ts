/**
 * A line diff (longest common subsequence) of a cell's source against its proposed new one,
 * and its rendering: removed lines red, added lines green, the rest as they are.
 */

/** One line of a diff. */
export interface IDiffLine {
  kind: 'same' | 'add' | 'del';
  text: string;
}

/** The lines of `before` and `after` as a diff, in order. */
export function lineDiff(before: string, after: string): IDiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  // lengths[i][j]: the longest common subsequence of a[i:] and b[j:].
  const lengths: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0)
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i][j] =
        a[i] === b[j]
          ? lengths[i + 1][j + 1] + 1
          : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const out: IDiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i] });
      i++;
      j++;
    } else if (lengths[i + 1][j] >= lengths[i][j + 1]) {
      out.push({ kind: 'del', text: a[i++] });
    } else {
      out.push({ kind: 'add', text: b[j++] });
    }
  }
  while (i < a.length) {
    out.push({ kind: 'del', text: a[i++] });
  }
  while (j < b.length) {
    out.push({ kind: 'add', text: b[j++] });
  }
  return out;
}

const MARKS = { same: ' ', add: '+', del: '-' };

/** The diff as a `<pre>`, a line each, marked and classed by kind. */
export function renderDiff(lines: IDiffLine[], into: HTMLElement): void {
  const pre = document.createElement('pre');
  pre.className = 'jp-GLM-diff';
  for (const line of lines) {
    const row = document.createElement('div');
    row.className = `jp-GLM-diff-${line.kind}`;
    row.textContent = `${MARKS[line.kind]} ${line.text}`;
    pre.appendChild(row);
  }
  into.replaceChildren(pre);
}
