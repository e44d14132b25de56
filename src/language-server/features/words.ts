// Finds the NASM identifier under a position (labels may contain . $ # @ ~ ? and start with . or ..@).
import type { Position } from 'vscode-languageserver';

export interface Word {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

const IDENT_CHAR = /[A-Za-z0-9_$#@~.?%]/;

export function lineAt(text: string, line: number): string {
  let start = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) return '';
    start = nl + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

export function wordAt(text: string, position: Position): Word | undefined {
  const line = lineAt(text, position.line);
  let start = Math.min(position.character, line.length);
  let end = start;
  while (start > 0 && IDENT_CHAR.test(line[start - 1]!)) start--;
  while (end < line.length && IDENT_CHAR.test(line[end]!)) end++;
  if (start === end) return undefined;
  const word = line.slice(start, end);
  if (/^[0-9]/.test(word)) return undefined;
  return { text: word, start, end };
}
