// The assembler's public API: assemble NASM-syntax source to a flat binary or an ELF32 object, with
// diagnostics, a source map, a symbol table and a listing. Pure TypeScript: files come through the
// injected `readFile`. Never throws: any input, however broken, yields an AssemblyResult.
import { Assembler, Encoder, OutputFormat, PreparedStatement } from './assembler';
import { Diagnostic, DiagnosticSink, formatDiagnostic, MacroExpansionSite } from './diagnostics';
import { defaultEncoder } from './encoderBinding';
import { buildListing } from './listing';
import { binImageSize, MAX_BIN_IMAGE, writeBin } from './outputBin';
import { writeElf32 } from './outputElf';
import { ParsedLine, parseLine } from './parser';
import { AsmError } from './expressionParser';
import { patchPreprocessed, PreprocessedDocument } from './incremental';
import { Preprocessor } from './preprocessor';
import { includeCandidates } from './sourceFiles';

export type { Diagnostic, MacroExpansionSite } from './diagnostics';
export { formatDiagnostic };
export type { Encoder, OutputFormat } from './assembler';

export interface AssembleSource {
  /** Path of the main file as the user named it (also the ELF FILE symbol). */
  readonly path: string;
  readonly text: string;
}

export interface AssembleOptions {
  readonly format?: OutputFormat;
  /** Extra %include directories (NASM -I), tried after the including file's directory. */
  readonly includePaths?: readonly string[];
  /** Predefined single-line macros (NASM -D name=value). */
  readonly defines?: Readonly<Record<string, string>>;
  /** Returns a file's text, or undefined if it cannot be read. */
  readonly readFile?: (absPath: string) => string | undefined;
  /** Returns a file's bytes for `incbin`; defaults to readFile's text as Latin-1. */
  readonly readBinaryFile?: (absPath: string) => Uint8Array | undefined;
  /** Instruction encoder (defaults to src/emulator/isa/encoder). */
  readonly encode?: Encoder;
  /** Skip building the listing text (saves time for on-keystroke diagnostics). */
  readonly listing?: boolean;
  /** Skip writing the output file (diagnostics, symbols and source map only; for editors). */
  readonly output?: boolean;
}

export interface SourceMapEntry {
  /** Address (bin: absolute; elf32: offset in the section). */
  readonly address: number;
  readonly size: number;
  readonly section: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** For code produced by a macro: the macro body line it came from. */
  readonly expansion?: MacroExpansionSite;
}

export interface AssembledSymbol {
  readonly name: string;
  /** bin: absolute address/value; elf32: offset within `section` (or the value of an absolute symbol). */
  readonly value: number;
  /** Section name; undefined for absolute symbols (equ, struc fields) and externs. */
  readonly section?: string;
  readonly kind: 'label' | 'local' | 'equ' | 'extern';
  readonly global: boolean;
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface AssembledSection {
  readonly name: string;
  /** bin: run address (vstart); elf32: 0. */
  readonly address: number;
  readonly size: number;
  readonly progbits: boolean;
  readonly bytes: Uint8Array;
}

export interface AssemblyResult {
  /** True when no error was reported (warnings allowed). */
  readonly ok: boolean;
  readonly format: OutputFormat;
  /** The output file: flat image or ELF32 object. Empty when there were errors. */
  readonly output: Uint8Array;
  readonly diagnostics: readonly Diagnostic[];
  readonly sourceMap: readonly SourceMapEntry[];
  readonly symbols: readonly AssembledSymbol[];
  readonly sections: readonly AssembledSection[];
  /** bin: the `org`; elf32: 0. */
  readonly origin: number;
  readonly listing: string;
  /** Every file read while assembling (main file and %includes), for caching and file watching. */
  readonly files: readonly string[];
  readonly passes: number;
}

const LIST_ONLY: ParsedLine = { body: { k: 'none' } };

/** Parsed-line cache shared across calls: re-assembling after a one-line edit reparses one line. */
const parseCache = new Map<string, ParsedLine | AsmError>();
const PARSE_CACHE_LIMIT = 200_000;

function parseCached(text: string): ParsedLine | AsmError {
  let parsed = parseCache.get(text);
  if (parsed === undefined) {
    parsed = parseLine(text);
    if (parseCache.size >= PARSE_CACHE_LIMIT) parseCache.clear();
    parseCache.set(text, parsed);
  }
  return parsed;
}

/**
 * Incremental re-assembly for editors: the last assembly of each document (by path, format and
 * options) seeds the next one, so after a one-line edit pass 1 starts from the previous addresses and
 * unchanged instructions reuse their encodings. The result is the same as a cold assembly.
 */
interface Session {
  readonly asm: Assembler;
  readonly texts: readonly string[];
  readonly statements: readonly PreparedStatement[];
  readonly document: PreprocessedDocument;
  readonly preDiagnostics: readonly Diagnostic[];
}
const sessions = new Map<string, Session>();
const SESSION_LIMIT = 8;

function rememberSession(key: string, session: Session): void {
  sessions.delete(key);
  sessions.set(key, session);
  if (sessions.size > SESSION_LIMIT) sessions.delete(sessions.keys().next().value!);
}

function seedFromPrevious(asm: Assembler, previous: Session, statements: readonly PreparedStatement[]): void {
  const old = previous.texts;
  const n = statements.length;
  if (n === old.length) {
    // Lines replaced in place (typing within lines, possibly several): match statement by statement.
    asm.seedFrom(previous.asm, (k) => (statements[k]!.line.text === old[k] ? k : -1));
    return;
  }
  let prefix = 0;
  while (prefix < n && prefix < old.length && statements[prefix]!.line.text === old[prefix]) prefix++;
  let suffix = 0;
  while (suffix < n - prefix && suffix < old.length - prefix && statements[n - 1 - suffix]!.line.text === old[old.length - 1 - suffix]) suffix++;
  asm.seedFrom(previous.asm, (k) => (k < prefix ? k : k >= n - suffix ? k - n + old.length : -1));
}

/** Forgets the incremental state (tests use it to measure cold assemblies). */
export function clearAssemblerCaches(): void {
  sessions.clear();
  parseCache.clear();
}

export function assemble(source: AssembleSource, options: AssembleOptions = {}): AssemblyResult {
  const format = options.format ?? 'bin';
  try {
    return assembleUnchecked(source, options, format);
  } catch (e) {
    // Defensive: an internal bug becomes a diagnostic, never an exception.
    const message = `internal assembler error: ${e instanceof Error ? e.message : String(e)}`;
    return {
      ok: false, format, output: new Uint8Array(0), sourceMap: [], symbols: [], sections: [], origin: 0, listing: '', files: [source.path], passes: 0,
      diagnostics: [{ severity: 'error', file: source.path, line: 1, column: 1, endLine: 1, endColumn: 1, message }],
    };
  }
}

function assembleUnchecked(source: AssembleSource, options: AssembleOptions, format: OutputFormat): AssemblyResult {
  const readFile = options.readFile ?? ((): string | undefined => undefined);
  const preSink = new DiagnosticSink();
  // NASM's predefined macros that programs test (manual 5.2, 5.5): the output format and version.
  const predefined: Record<string, string> = {
    __OUTPUT_FORMAT__: format, '__?OUTPUT_FORMAT?__': format, __NASM_MAJOR__: '2', '__?NASM_MAJOR?__': '2', __NASM_MINOR__: '16', '__?NASM_MINOR?__': '16',
  };
  const sessionKey = `${format}\u0000${source.path}\u0000${JSON.stringify(options.includePaths ?? [])}\u0000${JSON.stringify(options.defines ?? {})}`;
  const previous = options.encode ? undefined : sessions.get(sessionKey);
  // After a one-line edit of an ordinary line, patch the previous preprocessor output (incremental.ts).
  const patched = previous ? patchPreprocessed(previous.document, source.text, readFile) : undefined;
  let document: PreprocessedDocument;
  let statements: PreparedStatement[];
  let preDiagnostics: readonly Diagnostic[];
  if (patched && previous) {
    const pre = previous.document.pre;
    document = { pre, rawLines: patched.rawLines, output: patched.output };
    preDiagnostics = previous.preDiagnostics;
    statements = previous.statements.slice();
    for (const at of patched.changedOutput) {
      const line = patched.output[at]!;
      statements[at] = { line, parsed: parseCached(line.text) };
    }
  } else {
    const pre = new Preprocessor({ includePaths: options.includePaths ?? [], defines: { ...predefined, ...(options.defines ?? {}) }, readFile }, preSink);
    let lines = pre.run(source.path, source.text);
    // A runaway expansion is reported once; assembling its truncated output would only waste time.
    if (pre.outputOverflowReported) lines = [];
    document = { pre, rawLines: source.text.split('\n'), output: lines };
    preDiagnostics = preSink.items;
    statements = lines.map((line) => ({ line, parsed: line.listOnly ? LIST_ONLY : parseCached(line.text) }));
  }
  const pre = document.pre;
  const readBinary = (name: string, from: string): Uint8Array | undefined => {
    for (const candidate of includeCandidates(name, from, options.includePaths ?? [])) {
      const bin = options.readBinaryFile?.(candidate);
      if (bin) return bin;
      const text = options.readBinaryFile ? undefined : readFile(candidate);
      if (text !== undefined) return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
    }
    return undefined;
  };
  const asm = new Assembler(format, statements, options.encode ?? defaultEncoder, readBinary);
  if (previous) seedFromPrevious(asm, previous, statements);
  asm.run();
  rememberSession(sessionKey, { asm, texts: statements.map((s) => s.line.text), statements, document, preDiagnostics });
  const diagnostics = [...preDiagnostics, ...asm.sink.items];
  checkGlobals(asm, diagnostics);
  if (format === 'bin' && binImageSize(asm) > MAX_BIN_IMAGE) {
    diagnostics.push({ severity: 'error', file: source.path, line: 1, column: 1, endLine: 1, endColumn: 1, message: `flat binary would be ${binImageSize(asm)} bytes (more than ${MAX_BIN_IMAGE}): check org and section start=` });
  }
  const ok = !diagnostics.some((d) => d.severity === 'error');
  let output: Uint8Array = new Uint8Array(0);
  if (ok && options.output !== false) output = format === 'bin' ? writeBin(asm) : writeElf32(asm, source.path);
  // The source map, symbol table and listing are built on first use: an editor asking only for
  // diagnostics does not pay for them (the assembler's final state is not modified afterwards).
  let sourceMap: SourceMapEntry[] | undefined;
  let symbols: AssembledSymbol[] | undefined;
  let listing: string | undefined;
  return {
    ok,
    format,
    output,
    diagnostics,
    get sourceMap() {
      return (sourceMap ??= buildSourceMap(asm));
    },
    get symbols() {
      return (symbols ??= buildSymbols(asm));
    },
    sections: asm.usedSections().map((s) => ({ name: s.name, address: format === 'bin' ? s.address : 0, size: s.size, progbits: s.progbits, bytes: s.progbits ? s.bytes.subarray(0, s.size) : new Uint8Array(0) })),
    origin: format === 'bin' ? asm.org : 0,
    get listing() {
      return (listing ??= options.listing === false ? '' : buildListing(asm, [], source.path));
    },
    files: [...pre.files.keys()],
    passes: asm.pass,
  };
}

function checkGlobals(asm: Assembler, diagnostics: Diagnostic[]): void {
  if (asm.format !== 'elf32') return;
  for (const [name, origin] of asm.globalsDeclared) {
    const sym = asm.symbols.get(name);
    if (!sym || sym.definedPass <= 0) {
      diagnostics.push({ severity: 'error', file: origin.file, line: origin.line, column: 1, endLine: origin.line, endColumn: 1, message: `symbol \`${name}' declared global but not defined`, ...(origin.expansion ? { expansion: origin.expansion } : {}) });
    }
  }
}

function buildSourceMap(asm: Assembler): SourceMapEntry[] {
  const map: SourceMapEntry[] = [];
  for (const e of asm.emitted) {
    const stmt = asm.statements[e.statement]!;
    const section = asm.sections[e.section]!;
    const parsed = stmt.parsed;
    const column = parsed instanceof AsmError ? 1 : 'start' in parsed.body ? parsed.body.start + 1 : 1;
    const origin = stmt.line.origin;
    map.push({
      address: (asm.format === 'bin' ? section.address : 0) + e.offset,
      size: e.size,
      section: section.name,
      file: origin.file,
      line: origin.line,
      column,
      ...(origin.expansion ? { expansion: origin.expansion } : {}),
    });
  }
  return map;
}

function buildSymbols(asm: Assembler): AssembledSymbol[] {
  const out: AssembledSymbol[] = [];
  const defined = [...asm.symbols.values()].filter((sym) => sym.definedPass > 0).sort((a, b) => a.order - b.order);
  for (const sym of defined) {
    const value = asm.symbolValue(sym);
    const section = sym.kind === 'label' && sym.section >= 0 ? asm.sections[sym.section]!.name : undefined;
    const local = sym.kind === 'label' && (sym.name.includes('.') && !sym.name.startsWith('.')) && !sym.name.startsWith('..@');
    out.push({
      name: sym.name,
      value: asm.format === 'bin' ? value.n : sym.offset,
      ...(section ? { section } : {}),
      kind: sym.kind === 'label' ? (local ? 'local' : 'label') : sym.kind,
      global: sym.kind === 'extern' || asm.globalsDeclared.has(sym.name),
      file: sym.origin.file,
      line: sym.origin.line,
      column: sym.column,
    });
  }
  return out;
}
