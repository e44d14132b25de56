// Go to definition, find references, rename, document symbols and folding for labels, constants,
// %defines and macros within a document.
import { SymbolKind, type DocumentSymbol, type FoldingRange, type Location, type Position, type Range, type TextEdit } from 'vscode-languageserver';
import type { DocumentIndex, LineRange, SymbolDefinition } from '../analysis/documentIndex';
import { wordAt } from './words';

const toRange = (r: LineRange): Range => ({ start: { line: r.line, character: r.start }, end: { line: r.line, character: r.end } });

/** The definition the word at `position` names: local labels resolve against the enclosing global label. */
export function symbolAt(text: string, index: DocumentIndex, position: Position): SymbolDefinition | undefined {
  const word = wordAt(text, position);
  if (!word) return undefined;
  const onDefinition = index.definitions.find((d) => d.line === position.line && d.start === word.start);
  if (onDefinition) return onDefinition;
  const ref = index.references.find((r) => r.line === position.line && r.start === word.start);
  if (ref) return index.byName.get(ref.name);
  return index.byName.get(word.text);
}

export function definitionOf(uri: string, text: string, index: DocumentIndex, position: Position): Location | null {
  const def = symbolAt(text, index, position);
  return def ? { uri, range: toRange(def) } : null;
}

export function referencesOf(uri: string, text: string, index: DocumentIndex, position: Position, includeDeclaration: boolean): Location[] {
  const def = symbolAt(text, index, position);
  if (!def) return [];
  const refs = index.references.filter((r) => r.name === def.name).map((r) => ({ uri, range: toRange(r) }));
  return includeDeclaration ? [{ uri, range: toRange(def) }, ...refs] : refs;
}

const NAME = /^(\.\.@|\.)?[A-Za-z_?][A-Za-z0-9_$#@~.?]*$/;

/** Rename edits, or an error message when the new name is not a valid NASM identifier. */
export function renameEdits(text: string, index: DocumentIndex, position: Position, newName: string): TextEdit[] | string {
  const def = symbolAt(text, index, position);
  if (!def) return 'Nothing to rename here: place the cursor on a label, constant, %define or macro.';
  if (!NAME.test(newName)) return `'${newName}' is not a valid NASM identifier.`;
  const localWritten = def.kind === 'local-label';
  if (localWritten !== newName.startsWith('.')) return localWritten ? 'A local label must keep its leading dot.' : 'A global name cannot start with a single dot (that would make it local).';
  const edits: TextEdit[] = [{ range: toRange(def), newText: newName }];
  for (const r of index.references) {
    if (r.name !== def.name) continue;
    // A reference may be written `.loop` (local) or `parent.loop` (fully qualified): replace the written suffix.
    const writtenLength = r.end - r.start;
    const qualified = localWritten && writtenLength !== def.written.length;
    edits.push({ range: toRange(r), newText: qualified ? def.name.slice(0, def.name.length - def.written.length) + newName : newName });
  }
  return edits;
}

const KIND: Record<SymbolDefinition['kind'], SymbolKind> = {
  label: SymbolKind.Function, 'local-label': SymbolKind.Key, constant: SymbolKind.Constant, define: SymbolKind.Constant, macro: SymbolKind.Method,
};

export function documentSymbols(index: DocumentIndex): DocumentSymbol[] {
  const result: DocumentSymbol[] = [];
  let parent: DocumentSymbol | undefined;
  for (const d of index.definitions) {
    const symbol: DocumentSymbol = { name: d.written, kind: KIND[d.kind], range: toRange(d), selectionRange: toRange(d), detail: d.valueText ?? d.parameters ?? '', children: [] };
    if (d.kind === 'local-label' && parent) parent.children!.push(symbol);
    else {
      result.push(symbol);
      if (d.kind === 'label') parent = symbol;
    }
  }
  return result;
}

export function foldingRanges(index: DocumentIndex): FoldingRange[] {
  return index.folding.map((f) => ({ startLine: f.startLine, endLine: f.endLine, kind: 'region' }));
}
