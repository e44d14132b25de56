// Diagnostics from the real assembler as the student types: every error and warning NASM would print,
// with its range, in the file it belongs to (the main file or an %include), and for errors inside a macro
// expansion a related location at the macro body line. Assembly runs debounced, off the typing path.
import { DiagnosticSeverity, type Diagnostic as LspDiagnostic } from 'vscode-languageserver';
import { assemble, type Diagnostic } from '../../emulator/asm/index';

/** file:// URI ↔ path, enough for local files (the server sees no other scheme for guest sources). */
export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file://')) return undefined;
  return decodeURIComponent(uri.slice('file://'.length));
}
export function pathToUri(path: string): string {
  return 'file://' + path.split('/').map(encodeURIComponent).join('/');
}

export interface DiagnosticsByUri {
  /** Every URI that was assembled or included, mapped to its diagnostics (empty lists clear old ones). */
  readonly byUri: ReadonlyMap<string, LspDiagnostic[]>;
  /** Milliseconds the assembler took. */
  readonly elapsedMs: number;
}

function toLsp(d: Diagnostic): LspDiagnostic {
  return {
    severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    range: { start: { line: d.line - 1, character: d.column - 1 }, end: { line: d.endLine - 1, character: d.endColumn - 1 } },
    message: d.message,
    source: 'hyperstep-asm',
    ...(d.expansion
      ? { relatedInformation: [{ location: { uri: pathToUri(d.expansion.file), range: { start: { line: d.expansion.line - 1, character: 0 }, end: { line: d.expansion.line - 1, character: 0 } } }, message: `from macro \`${d.expansion.macro}' defined here` }] }
      : {}),
  };
}

/**
 * Assembles the document at `uri` with `text`, reading %include files first from the open documents
 * (`openText`) and then through `readFile` (the Node host reads the disk; the web host has none).
 */
export function diagnoseDocument(uri: string, text: string, openText: (path: string) => string | undefined, readFile?: (path: string) => string | undefined, includePaths: readonly string[] = []): DiagnosticsByUri {
  const path = uriToPath(uri) ?? uri;
  const started = performance.now();
  const result = assemble({ path, text }, { format: 'bin', listing: false, output: false, includePaths, readFile: (p) => openText(p) ?? readFile?.(p) });
  const elapsedMs = performance.now() - started;
  const byUri = new Map<string, LspDiagnostic[]>();
  for (const f of result.files) byUri.set(f === path ? uri : pathToUri(f), []);
  byUri.set(uri, byUri.get(uri) ?? []);
  for (const d of result.diagnostics) {
    const key = d.file === path ? uri : pathToUri(d.file);
    const list = byUri.get(key) ?? [];
    list.push(toLsp(d));
    byUri.set(key, list);
  }
  return { byUri, elapsedMs };
}
