// What one assembly pass is doing at any moment: the sections and which one is current, absolute mode
// (`absolute`, `struc`), `bits`, `org`, the location counter `$`/`$$` (NASM manual 3.5), diagnostics and
// the log of what each statement emitted. The base of the Assembler class (symbolTable.ts, assembler.ts).
import type { EncodeContext, EncodeResult, InstructionStatement } from '../isa/operands';
import { DiagnosticSink, LineOrigin } from './diagnostics';
import { AsmError, Value } from './expressions';
import { ParsedLine } from './parser';
import { SourceLine } from './sourceFiles';
import { Section } from './sections';

export type Encoder = (stmt: InstructionStatement, ctx: EncodeContext) => EncodeResult;
export type OutputFormat = 'bin' | 'elf32';

export interface PreparedStatement {
  readonly line: SourceLine;
  readonly parsed: ParsedLine | AsmError;
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

export class AssemblyState {
  readonly sections: Section[] = [];
  sink = new DiagnosticSink();
  /** Output ranges of this pass, as parallel typed arrays (no allocation per statement per pass). */
  private emittedLog = new Int32Array(4 * 1024);
  protected emittedCount = 0;

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

  protected logEmitted(statement: number, section: number, offset: number, size: number, reserved: boolean): void {
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

  /**
   * Per `times` statement of this pass: its repeat count and the size of one repetition (the listing
   * shows one repetition and `<rep N>` as NASM's does).
   */
  readonly timesRepeats = new Map<number, { readonly count: number; readonly size: number }>();

  pass = 0;
  changed = false;
  bits: 16 | 32;
  current!: Section;
  /** Absolute mode (`absolute`, `struc`): labels take values from this counter instead of a section. */
  absolute: { value: number } | undefined;
  savedSection: Section | undefined;
  org = 0;
  orgSet = false;
  istrucStack: { name: string; start: number; origin: LineOrigin }[] = [];
  strucName = '';
  strucStart = 0;
  statementIndex = 0;
  currentStatement!: PreparedStatement;

  constructor(
    readonly format: OutputFormat,
    readonly statements: readonly PreparedStatement[],
    readonly encode: Encoder,
    readonly readBinary: (name: string, from: string) => Uint8Array | undefined,
  ) {
    this.bits = format === 'bin' ? 16 : 32;
  }

  /** In the final (strict) passes an undefined symbol is an error; pass 1 treats it as a forward reference. */
  get strict(): boolean {
    return this.pass >= 2;
  }

  layoutSignature(): string {
    return this.sections.map((s) => `${s.address}:${s.size}`).join(',');
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

  /** `$$`: the start of the current section (NASM manual 3.5). */
  sectionStart(): Value {
    if (this.absolute) return { n: 0, base: 0, known: true };
    if (this.format === 'bin') return { n: this.current.address, base: this.current.index + 1, known: true };
    return { n: 0, base: this.current.index + 1, known: true };
  }
}
