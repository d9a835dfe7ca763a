/**
 * Where a streaming Markdown text's complete blocks end, so that each is rendered once and
 * only the open tail is rendered again as text arrives.
 */

const FENCE = /^ {0,3}(`{3,}|~{3,})/;

function closesFence(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return (
    trimmed.length >= fence.length &&
    trimmed[0] === fence[0] &&
    /^(`+|~+)$/.test(trimmed)
  );
}

function countMathFences(line: string): number {
  let count = 0;
  for (let at = line.indexOf('$$'); at !== -1; at = line.indexOf('$$', at + 2)) {
    count++;
  }
  return count;
}

/**
 * The offsets at which complete blocks of `text` end: each is the start of a line that
 * begins a new block after a blank line, outside fenced code and `$$` math, and not
 * indented (an indented line may continue a list item). What follows the last offset is
 * the open tail, still growing.
 */
export function blockEnds(text: string): number[] {
  const ends: number[] = [];
  let fence: string | null = null;
  let math = false;
  let afterBlank = false;
  let start = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
    const line = text.slice(start, nl);
    const lineStart = start;
    start = nl + 1;
    if (fence !== null) {
      if (closesFence(line, fence)) {
        fence = null;
      }
      afterBlank = false;
      continue;
    }
    const blank = line.trim() === '';
    if (afterBlank && !blank && !math && !/^[ \t]/.test(line)) {
      ends.push(lineStart);
    }
    const opened = FENCE.exec(line);
    if (opened && !math) {
      fence = opened[1];
    } else if (countMathFences(line) % 2 === 1) {
      math = !math;
    }
    afterBlank = blank;
  }
  // A line still arriving starts a new block as soon as its first character shows it.
  if (
    afterBlank &&
    fence === null &&
    !math &&
    start < text.length &&
    !/^[ \t]/.test(text[start])
  ) {
    ends.push(start);
  }
  return ends;
}
