// Incremental preprocessing for on-keystroke diagnostics: when an edit changes a few ordinary lines of the
// main file (no `%`, no macro name, no standard-macro directive such as `section`), the preprocessor's
// output is the previous output with those lines replaced, because such a line neither reads nor
// changes preprocessor state. Anything else (directives, macro calls, line continuations, changed
// %include files, added or removed lines) falls back to a full run. The result is identical either way.
import type { SourceLine, Preprocessor } from './preprocessor';
import { isStandardMacroDirective } from './standardMacros';

/** What a full preprocessor run left behind, kept with the document's session. */
export interface PreprocessedDocument {
  readonly pre: Preprocessor;
  /** The main file split on '\n' exactly as received (before continuation and '\r' handling). */
  readonly rawLines: readonly string[];
  readonly output: readonly SourceLine[];
}

export interface PatchedOutput {
  readonly output: readonly SourceLine[];
  readonly rawLines: readonly string[];
  /** Indexes in `output` of the replaced lines (empty when nothing the assembler sees changed). */
  readonly changedOutput: readonly number[];
}

/** More changed lines than this (a paste, a search-and-replace) simply take the full path. */
const MAX_PATCHED_LINES = 16;

const IDENTIFIER = /[A-Za-z_.?@$][\w$#@~.?]*/g;

/** A line the preprocessor passes through untouched whatever its state (see the file comment). */
function isPlain(text: string, pre: Preprocessor): boolean {
  if (text.includes('%') || text.endsWith('\\')) return false;
  IDENTIFIER.lastIndex = 0;
  let first = true;
  for (let m = IDENTIFIER.exec(text); m !== null; m = IDENTIFIER.exec(text)) {
    const word = m[0];
    if (word.startsWith('__') || pre.namesEverDefined.has(word.toLowerCase())) return false;
    // The statement's keyword: the first word, or the one after a `label:`.
    if (first && isStandardMacroDirective(word)) return false;
    first = text.charCodeAt(m.index + word.length) === 58 /* : */ && first;
  }
  return true;
}

function stripCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/**
 * The preprocessor output for `text`, derived from the previous run of the same document, or undefined
 * when the edit is not a replacement of a few plain lines (the caller then runs the preprocessor).
 */
export function patchPreprocessed(
  previous: PreprocessedDocument, text: string, readFile: (path: string) => string | undefined,
): PatchedOutput | undefined {
  const rawLines = text.split('\n');
  const old = previous.rawLines;
  const { pre } = previous;
  if (rawLines.length !== old.length || pre.outputOverflowReported) return undefined;
  const changed: number[] = [];
  for (let k = 0; k < rawLines.length; k++) {
    if (rawLines[k] === old[k]) continue;
    if (changed.length === MAX_PATCHED_LINES) return undefined;
    changed.push(k);
  }
  const replacements: [number, string][] = [];
  for (const k of changed) {
    // The last line, and lines joined by a `\` continuation, are split differently: not patched.
    if (k === rawLines.length - 1 || (k > 0 && stripCarriageReturn(old[k - 1]!).endsWith('\\'))) return undefined;
    const after = stripCarriageReturn(rawLines[k]!);
    if (!isPlain(stripCarriageReturn(old[k]!), pre) || !isPlain(after, pre)) return undefined;
    const at = pre.topLevelLines.get(k + 1);
    if (at === undefined) return undefined;
    if (at >= 0) replacements.push([at, after]);
  }
  // Every include candidate, found or missing, must read as it did: an unchanged main file whose include
  // appeared (or changed) since the previous run needs the full run too.
  for (const [path, content] of pre.includeTexts) {
    let now: string | undefined;
    try {
      now = readFile(path);
    } catch {
      now = undefined;
    }
    if (now !== content) return undefined;
  }
  if (replacements.length === 0) return { output: previous.output, rawLines, changedOutput: [] };
  const output = previous.output.slice();
  for (const [at, after] of replacements) output[at] = { text: after, origin: previous.output[at]!.origin };
  return { output, rawLines, changedOutput: replacements.map(([at]) => at) };
}
