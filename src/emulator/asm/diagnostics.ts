// Diagnostics and source positions shared by every stage of the assembler (preprocessor, parser, passes,
// output writers). Positions are 1-based lines and columns, as NASM prints lines and editors show columns.

export type Severity = 'error' | 'warning';

/** Where a line of preprocessed text came from: its file and line, and the macro calls that produced it. */
export interface LineOrigin {
  readonly file: string;
  readonly line: number;
  /**
   * Set when the line came out of a multi-line macro (or %rep) body: the body line's own position.
   * `file`/`line` then hold the outermost call site, as NASM reports errors there
   * ("x.asm:6: error: …" followed by "x.asm:3: ... from macro `foo' defined here").
   */
  readonly expansion?: MacroExpansionSite;
}

export interface MacroExpansionSite {
  readonly macro: string;
  readonly file: string;
  readonly line: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly endLine: number;
  readonly endColumn: number;
  readonly message: string;
  /** For diagnostics raised inside a macro expansion: the macro body line that produced the statement. */
  readonly expansion?: MacroExpansionSite;
}

/** Collects diagnostics, dropping exact duplicates (a statement re-assembled in every pass reports once). */
export class DiagnosticSink {
  readonly items: Diagnostic[] = [];
  private readonly seen = new Set<string>();
  errorCount = 0;
  /** Hard cap so pathological inputs cannot allocate unbounded diagnostic lists. */
  private static readonly LIMIT = 1000;

  report(severity: Severity, origin: LineOrigin, column: number, endColumn: number, message: string): void {
    const key = `${severity}\u0000${origin.file}\u0000${origin.line}\u0000${severity === "warning" ? 0 : column}\u0000${message}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (severity === 'error') this.errorCount++;
    if (this.items.length >= DiagnosticSink.LIMIT) return;
    const start = Math.max(1, column);
    this.items.push({
      severity,
      file: origin.file,
      line: origin.line,
      column: start,
      endLine: origin.line,
      endColumn: Math.max(start, endColumn),
      message,
      ...(origin.expansion ? { expansion: origin.expansion } : {}),
    });
  }
}

/** Formats a diagnostic the way NASM prints it: `file:line: error: message` (+ the macro note line). */
export function formatDiagnostic(d: Diagnostic): string {
  let text = `${d.file}:${d.line}: ${d.severity}: ${d.message}`;
  if (d.expansion) text += `\n${d.expansion.file}:${d.expansion.line}: ... from macro \`${d.expansion.macro}' defined here`;
  return text;
}
