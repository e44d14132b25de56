// Indexes one guest assembly document for the editor features: where each label, constant, %define and
// %macro is defined and referenced, which instructions appear (with their virtualization class), and the
// foldable blocks. Each line is read by lineFacts.ts (the assembler's own tokenizer, cached by line text);
// this pass only adds what spans lines: local-label scopes, doc comments and block nesting. It never assembles.
import type { VirtualizationClass } from '../../emulator/isa/types';
import { lineFacts } from './lineFacts';

export { classifyMnemonic, classifyStatement, HYPERCALL_VECTOR } from './lineFacts';

export type SymbolKind = 'label' | 'local-label' | 'constant' | 'define' | 'macro';

/** A 0-based line and a half-open column range on it. */
export interface LineRange {
  readonly line: number;
  readonly start: number;
  readonly end: number;
}

export interface SymbolDefinition extends LineRange {
  /** Full name: local labels are stored as `parent.local`, as NASM resolves them. */
  readonly name: string;
  /** Name as written at the definition (`.loop` for a local label). */
  readonly written: string;
  readonly kind: SymbolKind;
  /** For `equ` and `%define`/`%assign`: the text after the name. */
  readonly valueText?: string;
  /** For `%macro name N`: the parameter count text (e.g. `2`, `1-3`, `0+`). */
  readonly parameters?: string;
  /** For a single-line macro with parameters, `%define name(a, b) body`: the parameter names. */
  readonly parameterNames?: readonly string[];
  /** Comment lines directly above the definition (or after it on the same line). */
  readonly doc?: string;
}

export interface SymbolReference extends LineRange {
  readonly name: string;
}

export interface InstructionSite extends LineRange {
  readonly mnemonic: string;
  readonly virtualization: VirtualizationClass;
  /** True for `int 0x82`, the paravirtual hypercall gate. */
  readonly hypercall: boolean;
}

export interface FoldingBlock {
  readonly startLine: number;
  readonly endLine: number;
  readonly kind: 'macro' | 'rep' | 'if' | 'struc' | 'section';
}

export interface DocumentIndex {
  readonly definitions: readonly SymbolDefinition[];
  readonly references: readonly SymbolReference[];
  readonly instructions: readonly InstructionSite[];
  readonly folding: readonly FoldingBlock[];
  /** Map from full name to its first definition. */
  readonly byName: ReadonlyMap<string, SymbolDefinition>;
}

const OPENERS: Record<string, FoldingBlock['kind']> = { '%macro': 'macro', '%imacro': 'macro', '%rep': 'rep', '%if': 'if', '%ifdef': 'if', '%ifndef': 'if', '%ifidn': 'if', '%ifidni': 'if', '%ifnum': 'if', '%ifstr': 'if', struc: 'struc' };
const CLOSERS: Record<string, FoldingBlock['kind']> = { '%endmacro': 'macro', '%endrep': 'rep', '%endif': 'if', endstruc: 'struc' };

/** The comment lines directly above `line`, or else the comment after the code on it. */
function docComment(lines: readonly string[], line: number): string | undefined {
  const docs: string[] = [];
  for (let l = line - 1; l >= 0; l--) {
    const above = lineFacts(lines[l]!).commentLine;
    if (above === undefined) break;
    docs.unshift(above);
  }
  return docs.length ? docs.join('\n') : lineFacts(lines[line]!).trailingComment;
}

/** Builds the index of a document's text. Linear in the text; safe on any input. */
export function indexDocument(text: string): DocumentIndex {
  const lines = text.split(/\r?\n/);
  const definitions: SymbolDefinition[] = [];
  const references: SymbolReference[] = [];
  const instructions: InstructionSite[] = [];
  const folding: FoldingBlock[] = [];
  const open: { kind: FoldingBlock['kind']; line: number }[] = [];
  let lastSection: number | undefined;
  let parentLabel = '';

  for (let line = 0; line < lines.length; line++) {
    const facts = lineFacts(lines[line]!);
    const directive = facts.directive;
    if (directive in OPENERS) open.push({ kind: OPENERS[directive]!, line });
    if (directive in CLOSERS || directive === '%elif' || directive === '%else') {
      for (let i = open.length - 1; i >= 0; i--) {
        if (open[i]!.kind === (CLOSERS[directive] ?? 'if')) {
          const o = open.splice(i, 1)[0]!;
          if (line - 1 > o.line) folding.push({ startLine: o.line, endLine: line - 1, kind: o.kind });
          if (directive === '%elif' || directive === '%else') open.push({ kind: 'if', line });
          break;
        }
      }
    }
    if (directive === 'section' || directive === 'segment') {
      if (lastSection !== undefined && line - 1 > lastSection) folding.push({ startLine: lastSection, endLine: line - 1, kind: 'section' });
      lastSection = line;
    }
    if (facts.macro) {
      const m = facts.macro;
      definitions.push({ name: m.text, written: m.text, kind: 'macro', line, start: m.start, end: m.end, parameters: m.parameters, doc: docComment(lines, line) } as SymbolDefinition);
    } else if (facts.define) {
      const d = facts.define;
      definitions.push({
        name: d.text, written: d.text, kind: 'define', line, start: d.start, end: d.end, valueText: d.valueText, doc: docComment(lines, line),
        ...(d.parameterNames ? { parameterNames: d.parameterNames } : {}),
      } as SymbolDefinition);
    }
    if (directive.startsWith('%')) {
      for (const w of facts.words) references.push({ name: w.text, line, start: w.start, end: w.end });
      continue;
    }
    if (facts.label) {
      const l = facts.label;
      const local = l.text.startsWith('.') && !l.text.startsWith('..');
      const name = local ? parentLabel + l.text : l.text;
      if (!local && !l.text.startsWith('..@')) parentLabel = l.text;
      definitions.push({
        name, written: l.text, kind: l.equ ? 'constant' : local ? 'local-label' : 'label',
        line, start: l.start, end: l.end, doc: docComment(lines, line),
        ...(l.equ ? { valueText: l.valueText } : {}),
      } as SymbolDefinition);
    }
    if (facts.instruction) {
      const s = facts.instruction;
      instructions.push({ mnemonic: s.mnemonic, virtualization: s.virtualization, hypercall: s.hypercall, line, start: s.start, end: s.end });
    }
    for (const w of facts.words) {
      const name = w.text.startsWith('.') && !w.text.startsWith('..') ? parentLabel + w.text : w.text;
      references.push({ name, line, start: w.start, end: w.end });
    }
  }
  if (lastSection !== undefined && lines.length - 1 > lastSection) folding.push({ startLine: lastSection, endLine: lines.length - 1, kind: 'section' });
  const byName = new Map<string, SymbolDefinition>();
  for (const d of definitions) if (!byName.has(d.name)) byName.set(d.name, d);
  // Keep only references to names the document defines, or that look like symbols (not registers/keywords).
  return { definitions, references: references.filter((r) => byName.has(r.name)), instructions, folding, byName };
}
