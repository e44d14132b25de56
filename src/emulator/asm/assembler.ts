// The multi-pass assembler core. Every pass walks the parsed statements, defines labels, evaluates
// expressions with the values of the previous pass and asks the encoder for bytes; passes repeat until no
// label moves (NASM -Ox: the encoder picks the shortest form for the current values, optimistic about
// forward references in the first pass). The last, stable pass is the output. NASM manual 2.1.23, 3.x.
import type { EncodeContext, EncodeResult, InstructionStatement } from '../isa/operands';
import { DiagnosticSink, LineOrigin } from './diagnostics';
import { AsmError, evaluate, evaluateBig, EvalContext, mentionsSymbol, MIXED_BASE, needsBigInt, spanOf, Value } from './expressions';
import { Body, OperandAst, ParsedLine } from './parser';
import { SourceLine } from './preprocessor';
import { EXTERN_BASE, Section } from './sections';
import { buildOperands, OperandValues } from './operandBuilder';
import { executeDirective } from './directives';

export type Encoder = (stmt: InstructionStatement, ctx: EncodeContext) => EncodeResult;
export type OutputFormat = 'bin' | 'elf32';

export interface PreparedStatement {
  readonly line: SourceLine;
  readonly parsed: ParsedLine | AsmError;
}

export type SymbolKind = 'label' | 'equ' | 'extern';

export interface SymbolEntry {
  readonly name: string;
  kind: SymbolKind;
  /** Section index, or -1 for absolute values (equ, struc fields, absolute-mode labels). */
  section: number;
  /** Offset within the section, or the absolute value. */
  offset: number;
  /** Relocation base of an equ defined from a relocatable expression (0 = plain number). */
  base: number;
  known: boolean;
  global: boolean;
  /** Pass in which it was last defined (redefinition check). */
  definedPass: number;
  /** Order of first definition (elf symbol order). */
  order: number;
  externIndex: number;
  origin: LineOrigin;
  column: number;
}

/** One statement's output in the final pass: where it landed and which bytes it produced. */
export interface EmittedRange {
  readonly statement: number;
  readonly section: number;
  readonly offset: number;
  readonly size: number;
  /** True when the range is reserved space (resb, nobits), not stored bytes. */
  readonly reserved: boolean;
}

const MAX_PASSES = 64;
/** Bound on the bytes a single `times` may produce (prevents `times 1<<40 nop` from exhausting memory). */
const MAX_TIMES_BYTES = 16 * 1024 * 1024;

export class Assembler {
  readonly sections: Section[] = [];
  readonly symbols = new Map<string, SymbolEntry>();
  readonly externs: SymbolEntry[] = [];
  readonly globalsDeclared = new Map<string, LineOrigin>();
  sink = new DiagnosticSink();
  /** Output ranges of this pass, as parallel typed arrays (no allocation per statement per pass). */
  private emittedLog = new Int32Array(4 * 1024);
  private emittedCount = 0;

  /** The final pass's output ranges, one per statement that produced bytes or reserved space. */
  get emitted(): EmittedRange[] {
    const out: EmittedRange[] = [];
    const log = this.emittedLog;
    for (let k = 0; k < this.emittedCount; k++) {
      const at = k * 4;
      out.push({ statement: log[at]!, section: log[at + 1]! >> 1, offset: log[at + 2]!, size: log[at + 3]!, reserved: (log[at + 1]! & 1) === 1 });
    }
    return out;
  }

  private logEmitted(statement: number, section: number, offset: number, size: number, reserved: boolean): void {
    const at = this.emittedCount * 4;
    if (at + 4 > this.emittedLog.length) {
      const next = new Int32Array(this.emittedLog.length * 2);
      next.set(this.emittedLog);
      this.emittedLog = next;
    }
    this.emittedLog[at] = statement;
    this.emittedLog[at + 1] = (section << 1) | (reserved ? 1 : 0);
    this.emittedLog[at + 2] = offset;
    this.emittedLog[at + 3] = size;
    this.emittedCount++;
  }

  pass = 0;
  changed = false;
  bits: 16 | 32;
  current!: Section;
  /** Absolute mode (`absolute`, `struc`): labels take values from this counter instead of a section. */
  absolute: { value: number } | undefined;
  savedSection: Section | undefined;
  lastGlobal = '';
  org = 0;
  orgSet = false;
  symbolOrder = 0;
  istrucStack: { name: string; start: number; origin: LineOrigin }[] = [];
  strucName = '';
  strucStart = 0;
  statementIndex = 0;
  currentStatement!: PreparedStatement;
  private timesBudget = 0;

  constructor(
    readonly format: OutputFormat,
    readonly statements: readonly PreparedStatement[],
    readonly encode: Encoder,
    readonly readBinary: (name: string, from: string) => Uint8Array | undefined,
  ) {
    this.bits = format === 'bin' ? 16 : 32;
  }

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

  /** Section layout of the assembly this one was seeded from ('' when cold). */
  private seededLayout = '';
  /** Seeded symbols not yet redefined in this pass (a deleted label keeps this above zero). */
  private seededPending = 0;
  /** Lookups in this pass that found no value (forward references to not-yet-defined symbols). */
  private unresolvedLookups = 0;
  /** Warnings NASM gives in its first pass only (kept although later passes start a fresh sink). */
  private firstPassWarnings: DiagnosticSink | undefined;

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

  /** In the final (strict) passes an undefined symbol is an error; pass 1 treats it as a forward reference. */
  get strict(): boolean {
    return this.pass >= 2;
  }

  private startPass(): void {
    this.symbolOrder = 0;
    this.unresolvedLookups = 0;
    this.sink = new DiagnosticSink();
    this.emittedCount = 0;
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
    if (this.format === 'bin') this.layoutBin();
  }

  layoutSignature(): string {
    return this.sections.map((s) => `${s.address}:${s.size}`).join(',');
  }

  /**
   * Section placement for -f bin (NASM manual 8.1.3): .text first at `org`, then the other progbits
   * sections in order of definition, then nobits sections; each aligned to its alignment unless it has
   * `start=`; `follows=` chains after the named section; `vstart=` gives a different run address.
   */
  layoutBin(): void {
    const used = this.usedSections();
    const ordered = [...used.filter((s) => s.name === '.text'), ...used.filter((s) => s.name !== '.text' && s.progbits), ...used.filter((s) => !s.progbits)];
    let cursor = this.org;
    const placed = new Map<string, Section>();
    for (const s of ordered) {
      let start: number;
      if (s.start !== undefined) start = s.start;
      else if (s.follows !== undefined && placed.has(s.follows)) {
        const prev = placed.get(s.follows)!;
        start = alignUp(prev.address + prev.size, s.align);
      } else start = alignUp(cursor, s.align);
      if (s.name === '.text' && s.start === undefined) start = this.org;
      s.address = s.vstart ?? start;
      s.loadAddress = start;
      cursor = Math.max(cursor, start + s.size);
      placed.set(s.name, s);
    }
  }

  /** Sections that exist in the output, in NASM's order (first use). */
  usedSections(): Section[] {
    return this.sections.filter((s) => s.firstUse >= 0).sort((a, b) => a.firstUse - b.firstUse);
  }

  private useCounter = 0;

  markUsed(s: Section): void {
    s.used = true;
    if (s.firstUse < 0) s.firstUse = this.useCounter++;
  }

  sectionNamed(name: string, select: boolean): Section {
    let s = this.sections.find((x) => x.name === name);
    if (!s) {
      s = new Section(name, this.sections.length, this.format);
      this.sections.push(s);
    }
    if (select) this.markUsed(s);
    return s;
  }

  error(origin: LineOrigin, start: number, end: number, message: string): void {
    this.sink.report('error', origin, start + 1, end + 1, message);
  }

  warning(origin: LineOrigin, start: number, end: number, message: string): void {
    this.sink.report('warning', origin, start + 1, end + 1, message);
  }

  /** Offset where the current statement (or `times` repetition) started: NASM's `$`. */
  private statementStart = -1;

  /** Current location counter `$`: the start of the statement being assembled (NASM manual 3.5). */
  here(): Value {
    if (this.absolute) return { n: this.statementStart >= 0 ? this.statementStart : this.absolute.value, base: 0, known: true };
    const offset = this.statementStart >= 0 ? this.statementStart : this.current.size;
    if (this.format === 'bin') return { n: this.current.address + offset, base: this.current.index + 1, known: true };
    return { n: offset, base: this.current.index + 1, known: true };
  }

  /** `$` as a plain number (bin: absolute; elf32: section offset), without allocating a Value. */
  hereAddress(): number {
    if (this.absolute) return this.statementStart >= 0 ? this.statementStart : this.absolute.value;
    const offset = this.statementStart >= 0 ? this.statementStart : this.current.size;
    return this.format === 'bin' ? this.current.address + offset : offset;
  }

  /** The location counter right now (after bytes already emitted by this statement). */
  cursor(): number {
    if (this.absolute) return this.absolute.value;
    return (this.format === 'bin' ? this.current.address : 0) + this.current.size;
  }

  markStatementStart(): void {
    this.statementStart = this.absolute ? this.absolute.value : this.current.size;
  }

  clearStatementStart(): void {
    this.statementStart = -1;
  }

  sectionStart(): Value {
    if (this.absolute) return { n: 0, base: 0, known: true };
    if (this.format === 'bin') return { n: this.current.address, base: this.current.index + 1, known: true };
    return { n: 0, base: this.current.index + 1, known: true };
  }

  /** Expands `.local` against the last non-local label (NASM manual 3.9). */
  qualify(name: string): string {
    if (name.startsWith('.') && !name.startsWith('..')) return this.lastGlobal + name;
    return name;
  }

  /** Local symbols by scope (the last non-local label), so lookups never build `global.local` strings. */
  private readonly localScopes = new Map<string, Map<string, SymbolEntry>>();
  private scopeName = '\u0000';
  private scope: Map<string, SymbolEntry> | undefined;

  private currentScope(): Map<string, SymbolEntry> {
    if (this.scopeName !== this.lastGlobal || !this.scope) {
      this.scopeName = this.lastGlobal;
      let scope = this.localScopes.get(this.lastGlobal);
      if (!scope) this.localScopes.set(this.lastGlobal, (scope = new Map()));
      this.scope = scope;
    }
    return this.scope;
  }

  /** The symbol a name written in the source refers to here (undefined if none yet). */
  findSymbol(rawName: string): SymbolEntry | undefined {
    if (rawName.charCodeAt(0) === 46 /* . */ && rawName.charCodeAt(1) !== 46) {
      const scope = this.currentScope();
      let sym = scope.get(rawName);
      if (!sym) {
        sym = this.symbols.get(this.lastGlobal + rawName);
        if (sym) scope.set(rawName, sym);
      }
      return sym;
    }
    return this.symbols.get(rawName);
  }

  symbolValue(sym: SymbolEntry): Value {
    switch (sym.kind) {
      case 'extern':
        return { n: 0, base: EXTERN_BASE + sym.externIndex, known: true };
      case 'equ':
        return { n: sym.offset, base: sym.base, known: sym.known };
      default:
        if (sym.section < 0) return { n: sym.offset, base: 0, known: sym.known };
        // bin: the final address, still marked label-based (section + 1) so NASM's full-width rule applies.
        if (this.format === 'bin') return { n: this.sections[sym.section]!.address + sym.offset, base: sym.section + 1, known: sym.known };
        return { n: sym.offset, base: sym.section + 1, known: sym.known };
    }
  }

  readonly evalContext: EvalContext = {
    lookup: (name) => {
      const sym = this.findSymbol(name);
      // definedPass -1: seeded from the previous assembly of this document (known in pass 1 only).
      if (!sym || sym.definedPass === 0 || (sym.definedPass < 0 && this.pass >= 2)) {
        this.unresolvedLookups++;
        return undefined;
      }
      const v = this.symbolValue(sym);
      if (this.forwardShift > 0 && sym.kind === 'label' && sym.definedPass === this.pass - 1 && sym.section === this.current.index && !this.absolute && sym.offset >= this.forwardFrom) {
        v.n += this.forwardShift;
      }
      return v;
    },
    here: () => this.here(),
    sectionStart: () => this.sectionStart(),
    get strict() {
      return false;
    },
  };

  private strictContext: EvalContext = {
    lookup: (name, start, end) => this.evalContext.lookup(name, start, end),
    here: () => this.here(),
    sectionStart: () => this.sectionStart(),
    strict: true,
  };

  /**
   * Evaluates with the pass's strictness; on error reports and returns undefined. In elf32 a result must
   * be a plain number or one section/extern plus an addend (what an ELF REL relocation can express).
   */
  evaluate(node: Parameters<typeof evaluate>[0], origin: LineOrigin, regs?: Parameters<typeof evaluate>[2]): Value | undefined {
    try {
      const v = evaluate(node, this.strict ? this.strictContext : this.evalContext, regs);
      if (this.format === 'elf32' && (v.base < 0 || v.base === MIXED_BASE)) {
        const span = spanOf(node);
        throw new AsmError('expression is not simple or relocatable', span.start, span.end);
      }
      return v;
    } catch (e) {
      if (e instanceof AsmError) {
        this.error(origin, e.start, e.end, e.message);
        return undefined;
      }
      throw e;
    }
  }

  defineSymbol(name: string, kind: SymbolKind, section: number, offset: number, base: number, known: boolean, origin: LineOrigin, start: number, end: number, entry?: SymbolEntry): void {
    let sym = entry ?? this.symbols.get(name);
    if (!sym) {
      sym = { name, kind, section, offset, base, known, global: false, definedPass: 0, order: this.symbolOrder++, externIndex: -1, origin, column: start + 1 };
      this.symbols.set(name, sym);
      this.changed = true;
    } else if (sym.definedPass === this.pass) {
      if (sym.kind === 'extern' && kind === 'extern') return;
      this.error(origin, start, end, sym.kind === 'extern' ? `symbol \`${name}' declared both as extern and defined` : `label \`${name}' inconsistently redefined`);
      return;
    } else if (sym.definedPass === 0 && sym.kind !== kind) {
      sym.kind = kind;
    }
    if (sym.section !== section || sym.offset !== offset || sym.base !== base || sym.known !== known || sym.kind !== kind) this.changed = true;
    if (sym.definedPass < 0) this.seededPending--;
    // Symbol order (ELF .symtab/.strtab) is the order of definition in the final pass, as in NASM.
    sym.order = this.symbolOrder++;
    sym.kind = kind;
    sym.section = section;
    sym.offset = offset;
    sym.base = base;
    sym.known = known;
    sym.definedPass = this.pass;
    sym.origin = origin;
    sym.column = start + 1;
  }

  /**
   * Forward-reference estimate (speeds convergence, same result): jumps only grow from NASM's
   * optimistic start, so a label ahead of the current statement in the same section has moved at least
   * as far as the current statement has since the last pass. Using that lower bound lets a jump that
   * must become near do so one pass earlier instead of one pass per knock-on effect.
   */
  private prevStatementSection = new Int32Array(0);
  private prevStatementOffset = new Int32Array(0);
  private curStatementSection = new Int32Array(0);
  private curStatementOffset = new Int32Array(0);
  private forwardShift = 0;
  private forwardFrom = 0;

  private recordStatementPosition(k: number): void {
    const section = this.absolute ? -1 : this.current.index;
    const offset = this.absolute ? 0 : this.current.size;
    this.curStatementSection[k] = section;
    this.curStatementOffset[k] = offset;
    if (this.pass > 1 && section >= 0 && this.prevStatementSection[k] === section) {
      this.forwardShift = offset - this.prevStatementOffset[k]!;
      this.forwardFrom = this.prevStatementOffset[k]!;
    } else this.forwardShift = 0;
  }

  private swapStatementPositions(): void {
    const n = this.statements.length;
    if (this.curStatementSection.length !== n) {
      this.curStatementSection = new Int32Array(n).fill(-1);
      this.curStatementOffset = new Int32Array(n);
      this.prevStatementSection = new Int32Array(n).fill(-1);
      this.prevStatementOffset = new Int32Array(n);
      return;
    }
    [this.prevStatementSection, this.curStatementSection] = [this.curStatementSection, this.prevStatementSection];
    [this.prevStatementOffset, this.curStatementOffset] = [this.curStatementOffset, this.prevStatementOffset];
  }

  /** Per statement: the symbol its label defined last pass (saves re-qualifying names every pass). */
  private readonly labelCache: (SymbolEntry | undefined)[] = [];

  /** Defines a label at the current location. */
  defineLabel(rawName: string, origin: LineOrigin, start: number, end: number, isEqu: boolean): string {
    const cached = this.labelCache[this.statementIndex];
    if (cached && !isEqu && cached.kind === 'label' && cached.definedPass === this.pass - 1 && this.lastGlobalFor(rawName, cached)) {
      if (!rawName.startsWith('.') && !rawName.startsWith('..@')) this.lastGlobal = cached.name;
      if (this.absolute) this.defineSymbol(cached.name, 'label', -1, this.absolute.value, 0, true, origin, start, end, cached);
      else {
        this.markUsed(this.current);
        this.defineSymbol(cached.name, 'label', this.current.index, this.current.size, 0, true, origin, start, end, cached);
      }
      return cached.name;
    }
    const name = this.qualify(rawName);
    if (!isEqu && !rawName.startsWith('.') && !rawName.startsWith('..@')) this.lastGlobal = name;
    if (isEqu) return name;
    if (rawName.startsWith('..') && !rawName.startsWith('..@') && rawName !== '..start') {
      this.error(origin, start, end, `\`${rawName}' is a reserved special symbol`);
      return name;
    }
    if (this.absolute) this.defineSymbol(name, 'label', -1, this.absolute.value, 0, true, origin, start, end);
    else {
      this.markUsed(this.current);
      this.defineSymbol(name, 'label', this.current.index, this.current.size, 0, true, origin, start, end);
    }
    this.labelCache[this.statementIndex] = this.symbols.get(name);
    return name;
  }

  /** A cached local label is only valid while it belongs to the same scope as when it was cached. */
  private lastGlobalFor(rawName: string, cached: SymbolEntry): boolean {
    if (rawName.charCodeAt(0) !== 46 || rawName.charCodeAt(1) === 46) return cached.name === rawName;
    return cached.name.length === this.lastGlobal.length + rawName.length && cached.name.startsWith(this.lastGlobal) && cached.name.endsWith(rawName);
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
      if (size > 0) this.logEmitted(this.statementIndex, section.index, startOffset, size, !section.progbits || body.k === 'res');
    }
  }

  executeBody(body: Body, origin: LineOrigin): void {
    switch (body.k) {
      case 'none':
      case 'equ':
        return;
      case 'times': {
        const v = this.evaluate(body.count, origin);
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
        for (let k = 0; k < v.n; k++) {
          const before = this.cursor();
          this.markStatementStart();
          this.executeBody(body.inner, origin);
          const grew = this.cursor() - before;
          // Decide from the first repetition whether the whole `times` fits the output bound.
          const projected = k === 0 ? Math.max(1, grew) * v.n : 0;
          this.timesBudget -= Math.max(1, grew);
          if (projected > MAX_TIMES_BYTES || this.timesBudget < 0) {
            this.error(origin, body.start, body.end, `TIMES output exceeds ${MAX_TIMES_BYTES} bytes`);
            return;
          }
        }
        return;
      }
      case 'data':
        this.executeData(body, origin);
        return;
      case 'res': {
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
        return;
      }
      case 'insn':
        this.executeInstruction(body, origin);
        return;
      case 'dir':
        executeDirective(this, body, origin);
        return;
    }
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

  private outputAllowed(origin: LineOrigin, start: number, end: number): boolean {
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

  private executeData(body: Extract<Body, { k: 'data' }>, origin: LineOrigin): void {
    if (!this.outputAllowed(origin, body.start, body.end)) return;
    const unit = body.unit;
    for (const item of body.items) {
      if (item.k === 'bytes') {
        if (item.warning !== undefined && this.pass === 1) this.warning(origin, item.start, item.end, item.warning);
        this.current.writeBytes(item.bytes);
        const pad = (unit - (item.bytes.length % unit)) % unit;
        if (pad > 0) this.current.fill(pad, 0);
        continue;
      }
      if (item.k === 'uninit') {
        if (this.current.progbits && this.pass === 1) this.warning(origin, item.start, item.end, `uninitialized space declared in non-BSS section \`${this.current.name}': zeroing [-w+zeroing]`);
        this.current.fill(unit, 0);
        continue;
      }
      if (unit === 8 && needsBigInt(item.expr)) {
        try {
          const exact = BigInt.asUintN(64, evaluateBig(item.expr, this.strict ? this.strictContext : this.evalContext));
          this.current.writeInteger(Number(exact & 0xffffffffn), 4);
          this.current.writeInteger(Number(exact >> 32n), 4);
        } catch (e) {
          if (!(e instanceof AsmError)) throw e;
          this.error(origin, e.start, e.end, e.message);
          this.current.fill(8, 0);
        }
        continue;
      }
      const v = this.evaluate(item.expr, origin) ?? { n: 0, base: 0, known: true };
      if (v.base !== 0) this.addRelocation(v, this.current.size, unit, false, origin, item.start, item.end);
      else if (unit <= 4 && v.known) checkOverflow(this, v.n, unit, origin, item.start, item.end, 'data');
      if (unit > 8) {
        this.current.writeInteger(v.n, 8);
        this.current.fill(unit - 8, v.n < 0 ? 0xff : 0);
      } else this.current.writeInteger(v.n, unit);
    }
  }

  /** Records a relocation for a field (elf32); -f bin never has relocatable values. */
  addRelocation(v: Value, offset: number, size: number, pcRelative: boolean, origin: LineOrigin, start: number, end: number): void {
    if (this.format !== 'elf32') return;
    if (size !== 4 && size !== 2 && size !== 1) {
      this.error(origin, start, end, `${size * 8}-bit relocations are not supported by elf32`);
      return;
    }
    if (size !== 4 && this.pass === 1) this.warning(origin, start, end, `${size * 8}-bit relocations in ELF32 are a GNU extension [-w+gnu-elf-extensions]`);
    this.current.relocations.push({ offset, size: size as 1 | 2 | 4, pcRelative, base: v.base });
  }

  /**
   * Encodings are cached per statement across passes: an instruction whose operands mention no symbol
   * is encoded once; others are re-encoded only when an operand value (or, for branches, the address)
   * changed. Most of a large program is stable after pass 1, so later passes cost little.
   */
  readonly encodeCache: (CachedEncoding | undefined)[] = [];

  private executeInstruction(body: Extract<Body, { k: 'insn' }>, origin: LineOrigin): void {
    if (!this.outputAllowed(origin, body.start, body.end)) return;
    const k = this.statementIndex;
    const cached = this.encodeCache[k];
    const address = this.hereAddress();
    let result: EncodeResult;
    let values: OperandValues[];
    let retargeted: EncodeResult | undefined;
    if (cached && cached.symbolFree && cached.bits === this.bits && (!cached.branch || cached.address === address)) {
      result = cached.result;
      values = cached.values;
    } else {
      const built = buildOperands(this, body, origin);
      if (!built) return;
      values = built.values;
      const branch = isBranch(body.mnemonic);
      if (cached && cached.bits === this.bits && (!branch || cached.address === address) && sameValues(cached.values, values)) {
        result = cached.result;
      } else if (cached && cached.bits === this.bits && branch && body.operands[0]?.k === 'imm' && sameRelativeBranch(cached, address, values, this.format === 'bin' ? -1 : this.current.index + 1)) {
        // The branch and its target moved together (code was inserted before both): same bytes.
        result = cached.result;
        this.encodeCache[k] = { bits: this.bits, address, branch, values, result, symbolFree: cached.symbolFree };
      } else if (cached && cached.bits === this.bits && branch && body.operands[0]?.k === 'imm' && (retargeted = retargetBranch(cached, address, values, this.format === 'bin' ? -1 : this.current.index + 1, body.mnemonic)) !== undefined) {
        // Only the target moved and the same form still applies: rewrite the displacement in place.
        result = retargeted;
        this.encodeCache[k] = { bits: this.bits, address, branch, values, result, symbolFree: cached.symbolFree };
      } else if (cached && cached.bits === this.bits && !branch && (retargeted = repatchLabelValues(cached, values)) !== undefined) {
        // Only label-based values changed (their fields are full width whatever the value): new bytes in place.
        result = retargeted;
        this.encodeCache[k] = { bits: this.bits, address, branch, values, result, symbolFree: cached.symbolFree };
      } else {
        try {
          result = this.encode({ mnemonic: body.mnemonic, prefixes: body.prefixes, operands: built.operands }, { bits: this.bits, address });
        } catch (e) {
          result = { ok: false, message: `internal encoder error: ${e instanceof Error ? e.message : String(e)}` };
        }
        this.encodeCache[k] = { bits: this.bits, address, branch, values, result, symbolFree: cached?.symbolFree ?? !body.operands.some(operandMentionsSymbol) };
      }
    }
    if (!result.ok) {
      const op = result.operandIndex !== undefined ? body.operands[result.operandIndex] : undefined;
      this.error(origin, op ? op.start : body.start, op ? op.end : body.end, result.message);
      return;
    }
    const built = { values };
    const fieldStart = this.current.size;
    const bytes = result.bytes;
    const length = bytes.length;
    // Relocatable fields: write the addend NASM stores (REL relocations keep it in the field).
    let patched: Uint8Array | undefined;
    for (const field of result.fields) {
      const value = built.values[field.operandIndex]?.[field.part === 'segment' ? 'segment' : 'main'];
      if (!value) continue;
      const sameSectionRelative = field.part === 'relative' && value.base === this.current.index + 1;
      // bin: values are final; NASM checks overflow only for plain numbers, not label-based fields.
      if (value.base === 0 || sameSectionRelative || this.format === 'bin') {
        if (field.part !== 'relative' && value.base === 0 && value.known && field.size < 4) checkOverflow(this, value.n, field.size, origin, body.start, body.end, 'field');
        continue;
      }
      patched ??= bytes.slice();
      const fieldValue = field.part === 'relative' ? value.n - (length - field.offset) : value.n;
      for (let k = 0; k < field.size; k++) patched[field.offset + k] = Math.floor(fieldValue / 2 ** (8 * k)) & 0xff;
      this.addRelocation(value, fieldStart + field.offset, field.size, field.part === 'relative', origin, body.start, body.end);
    }
    this.current.writeBytes(patched ?? bytes);
  }
}

interface CachedEncoding {
  readonly bits: 16 | 32;
  readonly address: number;
  readonly branch: boolean;
  readonly values: OperandValues[];
  readonly result: EncodeResult;
  readonly symbolFree: boolean;
}

const BRANCHES = new Set(['jmp', 'call', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'jcxz', 'jecxz']);

function isBranch(mnemonic: string): boolean {
  return mnemonic.charCodeAt(0) === 106 /* j */ || BRANCHES.has(mnemonic);
}

function originOf(d: { file: string; line: number; expansion?: LineOrigin['expansion'] }): LineOrigin {
  return d.expansion ? { file: d.file, line: d.line, expansion: d.expansion } : { file: d.file, line: d.line };
}

function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.n === b.n && a.base === b.base && a.known === b.known;
}

/**
 * A relative branch (immediate target) encodes `target - address` only: when both moved by the same
 * amount, the cached bytes still hold. Relocatable (other-section elf32) targets store the addend: not
 * reused.
 */
function sameRelativeBranch(cached: CachedEncoding, address: number, values: readonly OperandValues[], sectionBase: number): boolean {
  if (values.length !== 1 || cached.values.length !== 1) return false;
  const now = values[0]!.main;
  const then = cached.values[0]!.main;
  if (!now || !then || values[0]!.segment || cached.values[0]!.segment) return false;
  if (now.base !== then.base || now.known !== then.known || !now.known) return false;
  // elf32: only a target in this section is resolved to a displacement (others keep their addend).
  if (sectionBase >= 0 && now.base !== 0 && now.base !== sectionBase) return false;
  return now.n - address === then.n - cached.address;
}

/**
 * The cached encoding of a relative branch with a new displacement, when NASM would keep the same form:
 * a rel32 that still does not fit rel8 (or a `call`, which has no short form), or a rel8 that still
 * fits. Anything else (a form change, 16-bit displacements, relocatable targets) is re-encoded.
 */
function retargetBranch(cached: CachedEncoding, address: number, values: readonly OperandValues[], sectionBase: number, mnemonic: string): EncodeResult | undefined {
  const result = cached.result;
  if (!result.ok || values.length !== 1 || values[0]!.segment) return undefined;
  const target = values[0]!.main;
  const before = cached.values[0]?.main;
  if (!target || !before || !target.known || target.base !== before.base || target.known !== before.known) return undefined;
  if (sectionBase >= 0 && target.base !== 0 && target.base !== sectionBase) return undefined;
  if (result.fields.length !== 1) return undefined;
  const field = result.fields[0]!;
  if (field.part !== 'relative' || field.offset + field.size !== result.bytes.length) return undefined;
  const relative = target.n - (address + result.bytes.length);
  const fitsShort = relative >= -128 && relative <= 127;
  if (field.size === 1 ? !fitsShort : field.size !== 4 || (fitsShort && mnemonic !== 'call')) return undefined;
  if (field.size === 4 && (relative < -0x80000000 || relative > 0xffffffff)) return undefined;
  const bytes = result.bytes.slice();
  for (let k = 0; k < field.size; k++) bytes[field.offset + k] = (relative >>> (8 * k)) & 0xff;
  return { ...result, bytes };
}

/**
 * The cached encoding with new values written into its fields, when every changed value is label-based
 * (one positive relocation base, known before and after): NASM never sizes such a field by its value
 * (see operandBuilder.ts), so the form stays and only the field bytes change. Otherwise undefined.
 */
function repatchLabelValues(cached: CachedEncoding, values: readonly OperandValues[]): EncodeResult | undefined {
  const result = cached.result;
  if (!result.ok || values.length !== cached.values.length) return undefined;
  let changed = 0;
  for (let k = 0; k < values.length; k++) {
    for (const part of ['main', 'segment'] as const) {
      const now = values[k]![part];
      const then = cached.values[k]![part];
      if (sameValue(now, then)) continue;
      if (!now || !then || !now.known || !then.known || now.base !== then.base || now.base <= 0 || now.base === MIXED_BASE) return undefined;
      changed++;
    }
  }
  if (changed === 0) return undefined;
  const bytes = result.bytes.slice();
  let written = 0;
  for (const field of result.fields) {
    const part = field.part === 'segment' ? 'segment' : 'main';
    const now = values[field.operandIndex]?.[part];
    const then = cached.values[field.operandIndex]?.[part];
    if (sameValue(now, then)) continue;
    if (field.part === 'relative' || !now) return undefined;
    for (let b = 0; b < field.size; b++) bytes[field.offset + b] = Math.floor(now.n / 2 ** (8 * b)) & 0xff;
    written++;
  }
  // Every changed value must have landed in a field of its own (none only steered the form).
  return written === changed ? { ...result, bytes } : undefined;
}

function sameValues(a: readonly OperandValues[], b: readonly OperandValues[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    if (!sameValue(a[k]!.main, b[k]!.main) || !sameValue(a[k]!.segment, b[k]!.segment)) return false;
  }
  return true;
}

function operandMentionsSymbol(op: OperandAst): boolean {
  switch (op.k) {
    case 'reg':
      return false;
    case 'imm':
      return mentionsSymbol(op.expr);
    case 'mem':
      return op.expr !== undefined && mentionsSymbol(op.expr);
    case 'far':
      return mentionsSymbol(op.segment) || mentionsSymbol(op.offset);
  }
}

export function alignUp(value: number, align: number): number {
  if (align <= 1) return value;
  return Math.ceil(value / align) * align;
}

/** NASM's number-overflow warning: the value must fit the field as signed or unsigned. */
function checkOverflow(asm: Assembler, n: number, size: number, origin: LineOrigin, start: number, end: number, what: 'data' | 'field'): void {
  const bits = size * 8;
  if (n >= -(2 ** (bits - 1)) && n < 2 ** bits) return;
  const name = size === 1 ? 'byte' : size === 2 ? 'word' : 'dword';
  asm.warning(origin, start, end, what === 'data' ? `${name} data exceeds bounds [-w+number-overflow]` : `${name} value exceeds bounds [-w+number-overflow]`);
}
