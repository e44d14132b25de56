// Workspace symbols (Ctrl+T): the global labels, macros, equ constants and %defines of every guest source
// the server knows — open documents and, in the Node server, the .asm/.inc files under the workspace folders.
import { SymbolKind, type SymbolInformation } from 'vscode-languageserver';
import type { DocumentIndex, SymbolDefinition } from '../analysis/documentIndex';

/** Bound on the answer: the editor filters further as the student types. */
export const MAX_WORKSPACE_SYMBOLS = 1000;

const KIND: Record<SymbolDefinition['kind'], SymbolKind> = {
  label: SymbolKind.Function, 'local-label': SymbolKind.Key, constant: SymbolKind.Constant, define: SymbolKind.Constant, macro: SymbolKind.Method,
};

/** True when the characters of `query` appear in `name` in order (case-insensitive), as VS Code matches. */
export function fuzzyMatches(query: string, name: string): boolean {
  const q = query.toLowerCase();
  const n = name.toLowerCase();
  let at = 0;
  for (const c of q) {
    at = n.indexOf(c, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

export function workspaceSymbols(sources: Iterable<{ readonly uri: string; readonly index: DocumentIndex }>, query: string): SymbolInformation[] {
  const result: SymbolInformation[] = [];
  const trimmed = query.trim();
  for (const { uri, index } of sources) {
    for (const d of index.definitions) {
      if (d.kind === 'local-label') continue; // local to their label: document symbols show them nested
      if (trimmed && !fuzzyMatches(trimmed, d.name)) continue;
      result.push({
        name: d.name,
        kind: KIND[d.kind],
        location: { uri, range: { start: { line: d.line, character: d.start }, end: { line: d.line, character: d.end } } },
        containerName: d.kind === 'macro' ? `macro ${d.parameters ?? ''}`.trim() : d.valueText ? `= ${d.valueText}` : d.kind,
      });
      if (result.length >= MAX_WORKSPACE_SYMBOLS) return result;
    }
  }
  return result;
}
