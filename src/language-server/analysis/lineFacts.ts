// What one source line says on its own, with the assembler's own tokenizer (src/emulator/asm/lexer): a
// directive, a label/equ/%define/%macro it defines, the instruction it holds with its virtualization class,
// and the identifiers it mentions. Nothing here depends on other lines, so the facts are cached by the
// line's text: after a one-line edit, re-indexing a 5,000-line document tokenizes and classifies one line.
import { tokenize, type Token } from '../../emulator/asm/lexer';
import { canonicalMnemonic, formsOf } from '../../emulator/isa/table';
import type { InstructionForm, OperandKind, VirtualizationClass } from '../../emulator/isa/types';

/** The paravirtual hypercall gate of HyperStep's Xen-style ABI (docs/vmm/hypercall-abi.md). */
export const HYPERCALL_VECTOR = 0x82;

const CLASS_ORDER: readonly VirtualizationClass[] = ['privileged', 'vmx-exits', 'io-sensitive', 'sensitive-unprivileged', 'innocuous'];
const SEGMENT_REGISTERS = new Set(['cs', 'ss', 'ds', 'es', 'fs', 'gs']);
const SPECIAL_OPERANDS: readonly OperandKind[] = ['Cd', 'Dd', 'Sw', 'ES', 'CS', 'SS', 'DS', 'FS', 'GS', 'Ap', 'Mp'];
const NOT_LABELS = /^(section|segment|bits|org|global|extern|align|alignb|endstruc|iend|ret|nop)$/i;

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
  let pick: readonly InstructionForm[];
  if (words.some((w) => /^(cr|dr)\d$/.test(w))) pick = forms.filter(has(['Cd', 'Dd']));
  else if (words.some((w) => SEGMENT_REGISTERS.has(w)) && !operands.some((t) => t.text === '[')) pick = forms.filter(has(['Sw', 'ES', 'CS', 'SS', 'DS', 'FS', 'GS']));
  else if (words.includes('far') || (operands.some((t) => t.text === ':') && !operands.some((t) => t.text === '['))) pick = forms.filter(has(['Ap', 'Mp']));
  else if (operands.length > 0) pick = forms.filter((f) => !has(SPECIAL_OPERANDS)(f));
  else pick = forms;
  return mostSensitive(pick.length ? pick : forms);
}

/** The classification a mnemonic gets when its operands are unknown (its most sensitive form). */
export function classifyMnemonic(spelling: string): VirtualizationClass | undefined {
  return classifyStatement(spelling);
}

export interface WordAt {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

export interface LineFacts {
  /** `%macro`, `section`, … (lower case), or '' when the line does not start with a keyword. */
  readonly directive: string;
  /** `%macro name N`: the name and the parameter count text. */
  readonly macro?: WordAt & { readonly parameters?: string };
  /** `%define`/`%assign`: the name, value text and, for `%define name(a, b)`, the parameter names. */
  readonly define?: WordAt & { readonly valueText?: string; readonly parameterNames?: readonly string[] };
  /** `name:`, `name equ …` or a lone name: the label as written (local labels keep their dot). */
  readonly label?: WordAt & { readonly equ: boolean; readonly valueText?: string };
  readonly instruction?: WordAt & { readonly mnemonic: string; readonly virtualization: VirtualizationClass; readonly hypercall: boolean };
  /** Identifiers the line mentions outside the definition and the mnemonic, as written. */
  readonly words: readonly WordAt[];
  /** The text of a whole-line comment (`; text`), for the doc comment of the definition below it. */
  readonly commentLine?: string;
  /** The trailing comment after code on this line. */
  readonly trailingComment?: string;
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

const word = (t: Token): WordAt => ({ text: t.text, start: t.start, end: t.end });
const EMPTY: LineFacts = { directive: '', words: [] };

function analyzeLine(raw: string): LineFacts {
  const comment = /^\s*;+\s?(.*)$/.exec(raw);
  if (comment) return { directive: '', words: [], commentLine: comment[1]! };
  let tokens: Token[];
  try {
    tokens = tokenize(raw); // the lexer appends an 'end' token; kept, as every consumer of tokens sees it
  } catch {
    return EMPTY; // the tokenizer reports malformed tokens as data; this guards the index against the unexpected
  }
  if (tokens.length === 0) return EMPTY;
  const trailing = /;\s?(.*)$/.exec(raw.replace(/(["'`]).*?\1/g, ''))?.[1]?.trim() || undefined;
  const first = tokens[0]!;
  // Preprocessor directives arrive as '%' followed by an identifier.
  const directive = first.text === '%' && tokens[1]?.kind === 'ident' && tokens[1].start === first.end ? `%${tokens[1].text.toLowerCase()}` : first.kind === 'ident' ? first.text.toLowerCase() : '';
  if (directive.startsWith('%')) {
    const nameTok = tokens[2];
    const words = tokens.slice(3).filter((t) => t.kind === 'ident').map(word);
    const facts: { -readonly [K in keyof LineFacts]: LineFacts[K] } = { directive, words, ...(trailing ? { trailingComment: trailing } : {}) };
    if ((directive === '%macro' || directive === '%imacro') && nameTok?.kind === 'ident') {
      facts.macro = { ...word(nameTok), parameters: restOfLine(raw, tokens[3]) };
    } else if (/^%(x?i?define|assign|iassign)$/.test(directive) && nameTok?.kind === 'ident') {
      // `%define name(a, b) body`: the '(' touching the name opens a parameter list (NASM manual 4.1.1).
      const list = directive.endsWith('define') && tokens[3]?.text === '(' && tokens[3].start === nameTok.end ? defineParameters(tokens, 4) : undefined;
      facts.define = { ...word(nameTok), valueText: restOfLine(raw, list ? tokens[list.next] : tokens[3]), ...(list ? { parameterNames: list.names } : {}) };
    }
    return facts;
  }
  let i = 0;
  let label: LineFacts['label'];
  // A label: `name:` or `name equ …`, or a lone identifier that is not an instruction or directive.
  if (first.kind === 'ident') {
    const next = tokens[1];
    const equ = next?.kind === 'ident' && next.text.toLowerCase() === 'equ';
    const colon = next?.text === ':';
    const lone = next === undefined && classifyMnemonic(first.text) === undefined && !NOT_LABELS.test(first.text);
    if (equ || colon || lone) {
      label = { ...word(first), equ, ...(equ ? { valueText: restOfLine(raw, tokens[2]) } : {}) };
      i = equ || colon ? 2 : 1;
    }
  }
  // The instruction (after optional prefixes) and the identifiers the line references.
  let instruction: LineFacts['instruction'];
  const words: WordAt[] = [];
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'ident') continue;
    const virtualization = instruction ? undefined : classifyStatement(t.text, tokens.slice(i + 1));
    if (virtualization !== undefined) {
      const operand = tokens[i + 1];
      const hypercall = t.text.toLowerCase() === 'int' && operand?.kind === 'number' && operand.value === HYPERCALL_VECTOR;
      instruction = { ...word(t), mnemonic: t.text.toLowerCase(), virtualization, hypercall };
      continue;
    }
    words.push(word(t));
  }
  return { directive, words, ...(label ? { label } : {}), ...(instruction ? { instruction } : {}), ...(trailing ? { trailingComment: trailing } : {}) };
}

/** Lines seen recently, by text (bounded: cleared when it grows past what a few large documents need). */
const cache = new Map<string, LineFacts>();
const CACHE_LIMIT = 200_000;

export function lineFacts(raw: string): LineFacts {
  let facts = cache.get(raw);
  if (facts === undefined) {
    facts = analyzeLine(raw);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(raw, facts);
  }
  return facts;
}
