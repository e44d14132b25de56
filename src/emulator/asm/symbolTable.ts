// The symbol table of an assembly: label, equ and extern definitions with NASM's redefinition rules,
// `.local` names scoped by the last non-local label (NASM manual 3.9), lookups for the expression
// evaluator with this pass's values, and the forward-reference estimate that speeds up convergence.
import { LineOrigin } from './diagnostics';
import { AsmError, evaluate, EvalContext, MIXED_BASE, spanOf, Value } from './expressions';
import { AssemblyState } from './assemblyState';
import { EXTERN_BASE } from './sections';

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

export class SymbolTable extends AssemblyState {
  readonly symbols = new Map<string, SymbolEntry>();
  readonly externs: SymbolEntry[] = [];
  readonly globalsDeclared = new Map<string, LineOrigin>();
  lastGlobal = '';
  symbolOrder = 0;
  /** Seeded symbols not yet redefined in this pass (a deleted label keeps this above zero). */
  protected seededPending = 0;
  /** Lookups in this pass that found no value (forward references to not-yet-defined symbols). */
  protected unresolvedLookups = 0;

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

  protected readonly strictContext: EvalContext = {
    lookup: (name, start, end) => this.evalContext.lookup(name, start, end),
    here: () => this.here(),
    sectionStart: () => this.sectionStart(),
    strict: true,
  };

  /** The evaluation context of this pass: lenient about undefined symbols in pass 1, strict after. */
  get passContext(): EvalContext {
    return this.strict ? this.strictContext : this.evalContext;
  }

  /**
   * Evaluates with the pass's strictness (or `context`'s); on error reports and returns undefined. In elf32 a result must
   * be a plain number or one section/extern plus an addend (what an ELF REL relocation can express).
   */
  evaluate(node: Parameters<typeof evaluate>[0], origin: LineOrigin, regs?: Parameters<typeof evaluate>[2], context = this.passContext): Value | undefined {
    try {
      const v = evaluate(node, context, regs);
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

  protected recordStatementPosition(k: number): void {
    const section = this.absolute ? -1 : this.current.index;
    const offset = this.absolute ? 0 : this.current.size;
    this.curStatementSection[k] = section;
    this.curStatementOffset[k] = offset;
    if (this.pass > 1 && section >= 0 && this.prevStatementSection[k] === section) {
      this.forwardShift = offset - this.prevStatementOffset[k]!;
      this.forwardFrom = this.prevStatementOffset[k]!;
    } else this.forwardShift = 0;
  }

  protected swapStatementPositions(): void {
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

  /** Defines a label at the current location; returns its qualified name. */
  defineLabel(rawName: string, origin: LineOrigin, start: number, end: number, isEqu: boolean): string {
    const cached = this.labelCache[this.statementIndex];
    if (cached && !isEqu && cached.kind === 'label' && cached.definedPass === this.pass - 1 && this.lastGlobalFor(rawName, cached)) {
      if (!rawName.startsWith('.') && !rawName.startsWith('..@')) this.lastGlobal = cached.name;
      this.defineLabelHere(cached.name, origin, start, end, cached);
      return cached.name;
    }
    const name = this.qualify(rawName);
    if (!isEqu && !rawName.startsWith('.') && !rawName.startsWith('..@')) this.lastGlobal = name;
    if (isEqu) return name;
    if (rawName.startsWith('..') && !rawName.startsWith('..@') && rawName !== '..start') {
      this.error(origin, start, end, `\`${rawName}' is a reserved special symbol`);
      return name;
    }
    this.defineLabelHere(name, origin, start, end, undefined);
    this.labelCache[this.statementIndex] = this.symbols.get(name);
    return name;
  }

  /** A label at the location counter: in absolute mode a plain number, else an offset in the section. */
  private defineLabelHere(name: string, origin: LineOrigin, start: number, end: number, entry: SymbolEntry | undefined): void {
    if (this.absolute) this.defineSymbol(name, 'label', -1, this.absolute.value, 0, true, origin, start, end, entry);
    else {
      this.markUsed(this.current);
      this.defineSymbol(name, 'label', this.current.index, this.current.size, 0, true, origin, start, end, entry);
    }
  }

  /** A cached local label is only valid while it belongs to the same scope as when it was cached. */
  private lastGlobalFor(rawName: string, cached: SymbolEntry): boolean {
    if (rawName.charCodeAt(0) !== 46 || rawName.charCodeAt(1) === 46) return cached.name === rawName;
    return cached.name.length === this.lastGlobal.length + rawName.length && cached.name.startsWith(this.lastGlobal) && cached.name.endsWith(rawName);
  }
}
