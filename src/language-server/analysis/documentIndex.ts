// Indexes one guest assembly document for the editor features: where each label, constant, %define and
// %macro is defined and referenced, which instructions appear (with their virtualization class), and the
// foldable blocks. It reads raw source lines with the assembler's own tokenizer (src/emulator/asm/lexer),
// so highlighting, navigation and assembly agree on what a token is; it never assembles.
import { tokenize, type Token } from '../../emulator/asm/lexer';
import { canonicalMnemonic, formsOf } from '../../emulator/isa/table';
import type { InstructionForm, OperandKind, VirtualizationClass } from '../../emulator/isa/types';

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
/** The paravirtual hypercall gate of HyperStep's Xen-style ABI (docs/vmm/hypercall-abi.md). */
export const HYPERCALL_VECTOR = 0x82;

const CLASS_ORDER: readonly VirtualizationClass[] = ['privileged', 'vmx-exits', 'io-sensitive', 'sensitive-unprivileged', 'innocuous'];
const SEGMENT_REGISTERS = new Set(['cs', 'ss', 'ds', 'es', 'fs', 'gs']);

function mostSensitive(forms: readonly InstructionForm[]): VirtualizationClass | undefined {
  let best = -1;
  for (const f of forms) {
    const rank = CLASS_ORDER.indexOf(f.virtualization);
    if (best < 0 || rank < best) best = rank;
  }
  return best < 0 ? undefined : CLASS_ORDER[best];
}

/**
 * The class of the form a statement selects, judged from its operand tokens: a control/debug register
 * selects MOV CRn/DRn (privileged), a segment register the Sreg forms, a far pointer or `far` the far
 * forms; otherwise the ordinary forms. Without operands, the mnemonic's most sensitive form.
 */
export function classifyStatement(spelling: string, operands: readonly Token[] = []): VirtualizationClass | undefined {
  const canonical = canonicalMnemonic(spelling);
  if (canonical === undefined) return undefined;
  const forms = formsOf(canonical);
  const words = operands.filter((t) => t.kind === 'ident').map((t) => t.text.toLowerCase());
  const has = (kinds: readonly OperandKind[]) => (f: InstructionForm) => f.operands.some((k) => kinds.includes(k));
  const special: readonly OperandKind[] = ['Cd', 'Dd', 'Sw', 'ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'Ap', 'Mp'];
  let pick: readonly InstructionForm[];
  if (words.some((w) => /^(cr|dr)\d$/.test(w))) pick = forms.filter(has(['Cd', 'Dd']));
  else if (words.some((w) => SEGMENT_REGISTERS.has(w)) && !operands.some((t) => t.text === '[')) pick = forms.filter(has(['Sw', 'ES', 'CS', 'SS', 'DS', 'FS', 'GS']));
  else if (words.includes('far') || (operands.some((t) => t.text === ':') && !operands.some((t) => t.text === '['))) pick = forms.filter(has(['Ap', 'Mp']));
  else if (operands.length > 0) pick = forms.filter((f) => !has(special)(f));
  else pick = forms;
  return mostSensitive(pick.length ? pick : forms);
}

/** The classification a mnemonic gets when its operands are unknown (its most sensitive form). */
export function classifyMnemonic(spelling: string): VirtualizationClass | undefined {
  return classifyStatement(spelling);
}

function precedingComment(lines: readonly string[], line: number): string | undefined {
  const docs: string[] = [];
  for (let l = line - 1; l >= 0; l--) {
    const m = /^\s*;+\s?(.*)$/.exec(lines[l]!);
    if (!m) break;
    docs.unshift(m[1]!);
  }
  const trailing = /;\s?(.*)$/.exec(lines[line]!.replace(/(["'`]).*?\1/g, ''));
  if (docs.length === 0 && trailing) return trailing[1]!.trim() || undefined;
  return docs.length ? docs.join('\n') : undefined;
}

function restOfLine(text: string, from: Token | undefined): string | undefined {
  if (!from) return undefined;
  const rest = text.slice(from.start).replace(/;.*$/, '').trim();
  return rest || undefined;
}

/** The names of a `%define name(a, b)` parameter list starting at token `from` (after the '('). */
function defineParameters(tokens: readonly Token[], from: number): { names: string[]; next: number } | undefined {
  const names: string[] = [];
  for (let i = from; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.text === ')') return { names, next: i + 1 };
    if (t.kind === 'ident') names.push(t.text);
    else if (t.text !== ',') return undefined;
  }
  return undefined;
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
    const raw = lines[line]!;
    let tokens: Token[];
    try {
      tokens = tokenize(raw);
    } catch {
      continue; // the tokenizer reports malformed tokens as data; this guards the index against the unexpected
    }
    if (tokens.length === 0) continue;
    // Preprocessor directives arrive as '%' followed by an identifier.
    const first = tokens[0]!;
    const directive = first.text === '%' && tokens[1]?.kind === 'ident' && tokens[1].start === first.end ? `%${tokens[1].text.toLowerCase()}` : first.kind === 'ident' ? first.text.toLowerCase() : '';
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
    if (directive.startsWith('%')) {
      const nameTok = tokens[2];
      if ((directive === '%macro' || directive === '%imacro') && nameTok?.kind === 'ident') {
        definitions.push({ name: nameTok.text, written: nameTok.text, kind: 'macro', line, start: nameTok.start, end: nameTok.end, parameters: restOfLine(raw, tokens[3]), doc: precedingComment(lines, line) } as SymbolDefinition);
      } else if (/^%(x?i?define|assign|iassign)$/.test(directive) && nameTok?.kind === 'ident') {
        // `%define name(a, b) body`: the '(' touching the name opens a parameter list (NASM manual 4.1.1).
        const parameterList = directive.endsWith('define') && tokens[3]?.text === '(' && tokens[3].start === nameTok.end ? defineParameters(tokens, 4) : undefined;
        definitions.push({
          name: nameTok.text, written: nameTok.text, kind: 'define', line, start: nameTok.start, end: nameTok.end,
          valueText: restOfLine(raw, parameterList ? tokens[parameterList.next] : tokens[3]), doc: precedingComment(lines, line),
          ...(parameterList ? { parameterNames: parameterList.names } : {}),
        } as SymbolDefinition);
      }
      for (const t of tokens.slice(3)) if (t.kind === 'ident') references.push({ name: t.text, line, start: t.start, end: t.end });
      continue;
    }
    let i = 0;
    // A label: `name:` or `name equ …`, or a lone identifier that is not an instruction or directive.
    if (first.kind === 'ident' && !first.text.startsWith('%')) {
      const next = tokens[1];
      const isEqu = next?.kind === 'ident' && next.text.toLowerCase() === 'equ';
      const isColon = next?.text === ':';
      const lone = next === undefined && classifyMnemonic(first.text) === undefined && !/^(section|segment|bits|org|global|extern|align|alignb|endstruc|iend|ret|nop)$/i.test(first.text);
      if (isEqu || isColon || lone) {
        const local = first.text.startsWith('.') && !first.text.startsWith('..');
        const name = local ? parentLabel + first.text : first.text;
        if (!local && !first.text.startsWith('..@')) parentLabel = first.text;
        definitions.push({
          name, written: first.text, kind: isEqu ? 'constant' : local ? 'local-label' : 'label',
          line, start: first.start, end: first.end, doc: precedingComment(lines, line),
          ...(isEqu ? { valueText: restOfLine(raw, tokens[2]) } : {}),
        } as SymbolDefinition);
        i = isEqu ? 2 : isColon ? 2 : 1;
      }
    }
    // The instruction (after optional prefixes) and the identifiers it references.
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (t.kind !== 'ident') continue;
      const cls = instructions.some((s) => s.line === line) ? undefined : classifyStatement(t.text, tokens.slice(i + 1));
      if (cls !== undefined) {
        const operand = tokens[i + 1];
        const hypercall = t.text.toLowerCase() === 'int' && operand?.kind === 'number' && operand.value === HYPERCALL_VECTOR;
        instructions.push({ mnemonic: t.text.toLowerCase(), virtualization: cls, hypercall, line, start: t.start, end: t.end });
        continue;
      }
      const name = t.text.startsWith('.') && !t.text.startsWith('..') ? parentLabel + t.text : t.text;
      references.push({ name, line, start: t.start, end: t.end });
    }
  }
  if (lastSection !== undefined && lines.length - 1 > lastSection) folding.push({ startLine: lastSection, endLine: lines.length - 1, kind: 'section' });
  const byName = new Map<string, SymbolDefinition>();
  for (const d of definitions) if (!byName.has(d.name)) byName.set(d.name, d);
  // Keep only references to names the document defines, or that look like symbols (not registers/keywords).
  return { definitions, references: references.filter((r) => byName.has(r.name)), instructions, folding, byName };
}
