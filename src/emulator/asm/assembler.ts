// The multi-pass assembler core. Every pass walks the parsed statements, defines labels, evaluates
// expressions with the values of the previous pass and asks the encoder for bytes; passes repeat until no
// label moves (NASM -Ox: the encoder picks the shortest form for the current values, optimistic about
// forward references in the first pass). The last, stable pass is the output. NASM manual 2.1.23, 3.x.
// Pass state and the location counter: assemblyState.ts; symbols: symbolTable.ts; statement kinds:
// emitInstruction.ts, emitData.ts, directives.ts.
import { DiagnosticSink, LineOrigin } from './diagnostics';
import { AsmError } from './expressionParser';
import { Body } from './parser';
import { executeDirective } from './directives';
import { emitData } from './emitData';
import { emitInstruction } from './emitInstruction';
import type { CachedEncoding } from './encodingReuse';
import { layoutBinSections } from './outputBin';
import { PreparedStatement } from './assemblyState';
import { SymbolTable } from './symbolTable';

export type { EmittedRange, Encoder, OutputFormat, PreparedStatement } from './assemblyState';
export type { SymbolEntry, SymbolKind } from './symbolTable';

const MAX_PASSES = 64;
/** Bound on the bytes a single `times` may produce (prevents `times 1<<40 nop` from exhausting memory). */
const MAX_TIMES_BYTES = 16 * 1024 * 1024;

export class Assembler extends SymbolTable {
  /** Per statement: its encoding in the last pass that encoded it (emitInstruction.ts, encodingReuse.ts). */
  readonly encodeCache: (CachedEncoding | undefined)[] = [];
  private timesBudget = 0;
  /** Section layout of the assembly this one was seeded from ('' when cold). */
  private seededLayout = '';
  /** Warnings NASM gives in its first pass only (kept although later passes start a fresh sink). */
  private firstPassWarnings: DiagnosticSink | undefined;

  /**
   * Seeds this assembly from the previous one of the same document: symbol values (so pass 1 already
   * sees nearly final addresses), section layout, and cached encodings of unchanged statements
   * (`previousIndex` maps a statement to its index in the previous run, or -1 if it changed).
   */
  seedFrom(previous: Assembler, previousIndex: (k: number) => number): void {
    for (const s of previous.sections) {
      const mine = this.sectionNamed(s.name, false);
      if (mine.index !== s.index) return;
      mine.address = s.address;
      mine.loadAddress = s.loadAddress;
    }
    this.seededLayout = previous.layoutSignature();
    for (const sym of previous.symbols.values()) {
      if (sym.definedPass <= 0 || (sym.kind !== 'label' && sym.kind !== 'equ')) continue;
      this.seededPending++;
      this.symbols.set(sym.name, {
        name: sym.name, kind: sym.kind, section: sym.section, offset: sym.offset, base: sym.base, known: sym.known, global: false,
        definedPass: -1, order: sym.order, externIndex: -1, origin: sym.origin, column: sym.column,
      });
    }
    for (let k = 0; k < this.statements.length; k++) {
      const j = previousIndex(k);
      if (j >= 0) this.encodeCache[k] = previous.encodeCache[j];
    }
  }

  run(): void {
    let previousLayout = '';
    for (this.pass = 1; this.pass <= MAX_PASSES; this.pass++) {
      if (this.pass === 2) this.firstPassWarnings = this.sink;
      this.startPass();
      this.swapStatementPositions();
      for (let k = 0; k < this.statements.length; k++) {
        this.statementIndex = k;
        this.recordStatementPosition(k);
        this.currentStatement = this.statements[k]!;
        this.executeStatement(this.statements[k]!);
      }
      this.finishPass();
      const layout = this.layoutSignature();
      const stable = !this.changed && layout === previousLayout;
      previousLayout = layout;
      if (stable && this.pass >= 2) return this.keepFirstPassWarnings();
      // A seeded first pass is already final when every value it used was defined, every seeded symbol
      // was redefined with the value it was seeded with, and the layout did not move: a second pass
      // would see exactly the same values (editors re-assemble after one-line edits in one pass).
      if (this.pass === 1 && this.seededLayout !== '' && !this.changed && this.unresolvedLookups === 0 && this.seededPending === 0 && layout === this.seededLayout) return;
    }
    this.keepFirstPassWarnings();
    this.sink.report('error', this.statements[0]?.line.origin ?? { file: '', line: 1 }, 1, 1, `unable to find valid values for all labels after ${MAX_PASSES} passes; stalled`);
  }

  private keepFirstPassWarnings(): void {
    const first = this.firstPassWarnings;
    if (!first) return;
    // The final pass's diagnostics first, so first-pass warnings never push errors past the sink's cap.
    for (const d of first.items) if (d.severity === 'warning') this.sink.report('warning', originOf(d), d.column, d.endColumn, d.message);
  }

  private startPass(): void {
    this.symbolOrder = 0;
    this.unresolvedLookups = 0;
    this.sink = new DiagnosticSink();
    this.emittedCount = 0;
    this.timesRepeats.clear();
    this.changed = false;
    this.bits = this.format === 'bin' ? 16 : 32;
    for (const s of this.sections) s.resetForPass();
    this.current = this.sectionNamed('.text', false);
    this.absolute = undefined;
    this.lastGlobal = '';
    this.istrucStack = [];
    this.strucName = '';
  }

  private finishPass(): void {
    if (this.absolute && this.strucName) {
      const last = this.statements[this.statements.length - 1];
      if (last) this.error(last.line.origin, 1, 1, 'end of file while still in a `struc\' definition');
    }
    if (this.format === 'bin') layoutBinSections(this);
  }

  private executeStatement(stmt: PreparedStatement): void {
    const parsed = stmt.parsed;
    const origin = stmt.line.origin;
    if (parsed instanceof AsmError) {
      this.error(origin, parsed.start, parsed.end, parsed.message);
      return;
    }
    const body = parsed.body;
    if (parsed.label) {
      const isEqu = body.k === 'equ';
      const name = this.defineLabel(parsed.label.name, origin, parsed.label.start, parsed.label.end, isEqu);
      if (isEqu) {
        const v = this.evaluate(body.expr, origin);
        if (v) this.defineSymbol(name, 'equ', -1, v.n, v.base, v.known, origin, parsed.label.start, parsed.label.end);
        return;
      }
      if (parsed.orphanLabel && this.pass === 1) this.warning(origin, parsed.label.start, parsed.label.end, 'label alone on a line without a colon might be in error [-w+label-orphan]');
    } else if (body.k === 'equ') {
      this.error(origin, body.start, body.end, '`equ\' without a preceding label');
      return;
    }
    const startOffset = this.absolute ? this.absolute.value : this.current.size;
    const section = this.current;
    this.timesBudget = MAX_TIMES_BYTES;
    this.markStatementStart();
    this.executeBody(body, origin);
    this.clearStatementStart();
    if (!this.absolute && this.current === section) {
      const size = section.size - startOffset;
      if (size > 0) this.logEmitted(this.statementIndex, section.index, startOffset, size, !section.progbits || reservesSpace(body));
    }
  }

  executeBody(body: Body, origin: LineOrigin): void {
    switch (body.k) {
      case 'none':
      case 'equ':
        return;
      case 'times':
        this.executeTimes(body, origin);
        return;
      case 'data':
        emitData(this, body, origin);
        return;
      case 'res':
        this.executeReserve(body, origin);
        return;
      case 'insn':
        emitInstruction(this, body, origin);
        return;
      case 'dir':
        executeDirective(this, body, origin);
        return;
    }
  }

  /** `times n statement` (NASM manual 3.2.5); the output is bounded. */
  private executeTimes(body: Extract<Body, { k: 'times' }>, origin: LineOrigin): void {
    // An undefined symbol in the count is nasm's "non-constant argument", not "symbol not defined".
    const v = this.evaluate(body.count, origin, undefined, this.evalContext);
    if (!v) return;
    if (!v.known) {
      if (this.strict) this.error(origin, body.start, body.end, 'non-constant argument supplied to TIMES');
      return;
    }
    if (v.base !== 0) {
      this.error(origin, body.start, body.end, 'non-constant argument supplied to TIMES');
      return;
    }
    if (v.n < 0) {
      this.error(origin, body.start, body.end, `TIMES value ${v.n} is negative`);
      return;
    }
    // `times a times b x`: nasm checks every count but the last one given is the one used.
    if (body.inner.k === 'times') {
      this.executeTimes(body.inner, origin);
      return;
    }
    // `$` stays the start of the line in every repetition (nasm evaluates the operands once per line);
    // a relative branch is still encoded from the address of its own copy (emitInstruction.ts).
    for (let k = 0; k < v.n; k++) {
      const before = this.cursor();
      this.executeBody(body.inner, origin);
      const grew = this.cursor() - before;
      if (k === 0) this.timesRepeats.set(this.statementIndex, { count: v.n, size: grew });
      // Decide from the first repetition whether the whole `times` fits the output bound.
      const projected = k === 0 ? Math.max(1, grew) * v.n : 0;
      this.timesBudget -= Math.max(1, grew);
      if (projected > MAX_TIMES_BYTES || this.timesBudget < 0) {
        this.error(origin, body.start, body.end, `TIMES output exceeds ${MAX_TIMES_BYTES} bytes`);
        return;
      }
    }
  }

  /** resb/resw/resd/resq/rest (NASM manual 3.2.2): reserved, uninitialized space. */
  private executeReserve(body: Extract<Body, { k: 'res' }>, origin: LineOrigin): void {
    const v = this.evaluate(body.count, origin);
    if (!v) return;
    if ((!v.known && this.strict) || v.base !== 0) {
      this.error(origin, body.start, body.end, 'attempt to reserve non-constant quantity of BSS space');
      return;
    }
    if (v.n < 0) {
      this.error(origin, body.start, body.end, `attempt to reserve negative amount of space`);
      return;
    }
    const bytes = v.n * body.unit;
    if (bytes > MAX_TIMES_BYTES) {
      this.error(origin, body.start, body.end, `reservation of ${bytes} bytes is too large`);
      return;
    }
    this.advance(bytes, 0, origin, body.start, body.end, true);
  }

  /** Advances the location counter: stores `fill` bytes in progbits sections, just counts elsewhere. */
  advance(count: number, fill: number, origin: LineOrigin, start: number, end: number, reserve: boolean): void {
    if (!(count >= 0 && count <= MAX_TIMES_BYTES)) {
      this.error(origin, start, end, `cannot advance the location counter by ${count} bytes`);
      return;
    }
    if (this.absolute) {
      this.absolute.value += count;
      return;
    }
    if (reserve && this.current.progbits && count > 0 && this.pass === 1) {
      this.warning(origin, start, end, `uninitialized space declared in non-BSS section \`${this.current.name}': zeroing [-w+zeroing]`);
    }
    this.markUsed(this.current);
    this.current.fill(count, fill);
  }

  /** Whether a statement may store bytes here (not in absolute mode; in a nobits section with a warning). */
  outputAllowed(origin: LineOrigin, start: number, end: number): boolean {
    if (this.absolute) {
      this.error(origin, start, end, 'attempt to initialize memory in a nobits section: ignored');
      return false;
    }
    if (!this.current.progbits) {
      this.warning(origin, start, end, `attempt to initialize memory in BSS section \`${this.current.name}': ignored [-w+other]`);
    }
    this.markUsed(this.current);
    return true;
  }
}

/** `resb`-like statements, also under `times` (listed as reserved space even in progbits sections). */
function reservesSpace(body: Body): boolean {
  return body.k === 'res' || (body.k === 'times' && reservesSpace(body.inner));
}

function originOf(d: { file: string; line: number; expansion?: LineOrigin['expansion'] }): LineOrigin {
  return d.expansion ? { file: d.file, line: d.line, expansion: d.expansion } : { file: d.file, line: d.line };
}
