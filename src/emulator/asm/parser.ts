// Parses one preprocessed line into a statement: optional label, then an instruction (with prefixes and
// operands), a data/reserve directive, `equ`, `times`, or an assembler directive. NASM manual 3.1-3.3.
// Expressions stay as trees: the passes evaluate them against the symbol values of the current pass.
import { AsmError, ExprNode, ExprParser, REGISTERS } from './expressionParser';
import { Token, tokenize } from './lexer';
import { encodeFloat, hasFloatFormat, isFloatSpecial } from './floats';
import { DATA_UNITS, DIRECTIVES, isReservedWord, MNEMONICS, PREFIXES, RESERVE_UNITS, SIZE_KEYWORDS } from './mnemonics';
import type { OperandBits, SegmentRegister } from '../isa/operands';

export interface Span {
  readonly start: number;
  readonly end: number;
}

export type OperandAst =
  | ({ readonly k: 'reg'; readonly name: string } & Span)
  | ({
      readonly k: 'imm';
      readonly expr: ExprNode;
      readonly bits?: OperandBits;
      readonly strict?: boolean;
      readonly distance?: 'short' | 'near' | 'far';
    } & Span)
  | ({
      readonly k: 'mem';
      readonly expr: ExprNode | undefined;
      readonly bits?: OperandBits;
      readonly segment?: SegmentRegister;
      readonly displacementBits?: 8 | 16 | 32;
      readonly nosplit?: boolean;
      readonly strict?: boolean;
      /** `jmp far [mem]` / `call far [mem]`: an m16:32 far pointer in memory. */
      readonly distance?: 'short' | 'near' | 'far';
    } & Span)
  | ({ readonly k: 'far'; readonly segment: ExprNode; readonly offset: ExprNode; readonly distance?: 'far'; readonly bits?: 16 | 32 } & Span);

export type DataItem = ({ readonly k: 'expr'; readonly expr: ExprNode } | { readonly k: 'bytes'; readonly bytes: readonly number[]; readonly warning?: string } | { readonly k: 'uninit' }) & Span;

export type Body =
  | { readonly k: 'none' }
  | ({ readonly k: 'insn'; readonly mnemonic: string; readonly prefixes: readonly string[]; readonly operands: readonly OperandAst[] } & Span)
  | ({ readonly k: 'data'; readonly unit: number; readonly items: readonly DataItem[] } & Span)
  | ({ readonly k: 'res'; readonly unit: number; readonly count: ExprNode } & Span)
  | ({ readonly k: 'equ'; readonly expr: ExprNode } & Span)
  | ({ readonly k: 'times'; readonly count: ExprNode; readonly inner: Body } & Span)
  | ({ readonly k: 'dir'; readonly name: string; readonly tokens: readonly Token[]; readonly argStart: number } & Span);

export interface ParsedLine {
  readonly label?: { readonly name: string } & Span;
  readonly body: Body;
  /** Set when the label stands alone without a colon (NASM warns: orphan-labels). */
  readonly orphanLabel?: boolean;
}

/** Parses a line; syntax errors come back as AsmError with a column range. */
export function parseLine(text: string): ParsedLine | AsmError {
  try {
    return parseTokens(tokenize(text));
  } catch (e) {
    if (e instanceof AsmError) return e;
    return new AsmError(String(e), 0, text.length);
  }
}

function parseTokens(tokens: Token[]): ParsedLine {
  let pos = 0;
  // Bracketed directive form: `[bits 32]`, `[section .text]`.
  if (tokens[0]!.text === '[' && tokens[1]?.kind === 'ident' && DIRECTIVES.has(tokens[1].text.toLowerCase())) {
    const close = tokens.findIndex((t) => t.text === ']');
    const inner = tokens.slice(1, close < 0 ? tokens.length - 1 : close);
    inner.push({ kind: 'end', text: '', start: tokens[tokens.length - 1]!.start, end: tokens[tokens.length - 1]!.end });
    return parseTokens(inner);
  }
  let label: ParsedLine['label'];
  let orphanLabel = false;
  const first = tokens[0]!;
  if (first.kind === 'end') return { body: { k: 'none' } };
  if (first.kind === 'ident') {
    const lower = first.text.toLowerCase();
    const next = tokens[1]!;
    const nextLower = next.kind === 'ident' ? next.text.toLowerCase() : '';
    const isLabel =
      next.text === ':' ||
      (!isReservedWord(lower) || first.text.startsWith('$')) && (next.kind === 'end' || (next.kind === 'ident' && isReservedWord(nextLower)));
    if (isLabel && !(REGISTERS.has(lower) && !first.text.startsWith('$') && next.text !== ':')) {
      label = { name: first.text.startsWith('$') ? first.text.slice(1) : first.text, start: first.start, end: first.end };
      pos = next.text === ':' ? 2 : 1;
      orphanLabel = next.kind === 'end';
    }
  }
  const body = parseBody(tokens, pos);
  return { ...(label ? { label } : {}), body, ...(orphanLabel ? { orphanLabel } : {}) };
}

/** Parses the statement body starting at token `pos` (used by `at field, <data>` inside istruc). */
export function parseBody(tokens: Token[], pos: number): Body {
  const tok = tokens[pos]!;
  if (tok.kind === 'end') return { k: 'none' };
  if (tok.kind !== 'ident') throw new AsmError('parser: instruction expected', tok.start, tok.end);
  const lower = tok.text.toLowerCase();
  const lineEnd = tokens[tokens.length - 1]!.start;
  if (lower === 'times') {
    const p = new ExprParser(tokens, pos + 1);
    const count = p.parse();
    const inner = parseBody(tokens, p.pos);
    return { k: 'times', count, inner, start: tok.start, end: lineEnd };
  }
  if (lower === 'equ') {
    const p = new ExprParser(tokens, pos + 1);
    const expr = p.parse();
    if (p.peek().kind !== 'end') throw p.syntaxError();
    return { k: 'equ', expr, start: tok.start, end: lineEnd };
  }
  const unit = DATA_UNITS.get(lower);
  if (unit !== undefined) return { k: 'data', unit, items: parseDataItems(tokens, pos + 1, unit), start: tok.start, end: lineEnd };
  const resUnit = RESERVE_UNITS.get(lower);
  if (resUnit !== undefined) {
    const p = new ExprParser(tokens, pos + 1);
    const count = p.parse();
    if (p.peek().kind !== 'end') throw p.syntaxError();
    return { k: 'res', unit: resUnit, count, start: tok.start, end: lineEnd };
  }
  if (DIRECTIVES.has(lower) && !MNEMONICS.has(lower)) {
    return { k: 'dir', name: lower, tokens, argStart: pos + 1, start: tok.start, end: lineEnd };
  }
  // Instruction with optional prefixes.
  const prefixes: string[] = [];
  let p = pos;
  while (tokens[p]!.kind === 'ident' && PREFIXES.has(tokens[p]!.text.toLowerCase()) && tokens[p + 1]!.kind === 'ident') {
    prefixes.push(tokens[p]!.text.toLowerCase());
    p++;
  }
  const mnemonicToken = tokens[p]!;
  if (mnemonicToken.kind !== 'ident') throw new AsmError('parser: instruction expected', mnemonicToken.start, mnemonicToken.end);
  const mnemonic = mnemonicToken.text.toLowerCase();
  if (!MNEMONICS.has(mnemonic) && !PREFIXES.has(mnemonic)) {
    throw new AsmError('parser: instruction expected', mnemonicToken.start, mnemonicToken.end);
  }
  const operands = parseOperands(tokens, p + 1);
  return { k: 'insn', mnemonic, prefixes, operands, start: tok.start, end: lineEnd };
}

function parseDataItems(tokens: Token[], pos: number, unit: number): DataItem[] {
  const items: DataItem[] = [];
  if (tokens[pos]!.kind === 'end') throw new AsmError('no operand for data declaration', tokens[pos]!.start, tokens[pos]!.end);
  for (;;) {
    const tok = tokens[pos]!;
    const after = tokens[pos + 1]!;
    const float = floatItem(tokens, pos, unit);
    if (float) {
      items.push(float.item);
      pos = float.next;
    } else if (tok.kind === 'string' && (after.text === ',' || after.kind === 'end')) {
      if (tok.error) throw new AsmError(tok.error, tok.start, tok.end);
      items.push({ k: 'bytes', bytes: tok.bytes!, start: tok.start, end: tok.end });
      pos++;
    } else if (tok.text === '?' && (after.text === ',' || after.kind === 'end')) {
      items.push({ k: 'uninit', start: tok.start, end: tok.end });
      pos++;
    } else {
      const p = new ExprParser(tokens, pos);
      const expr = p.parse();
      items.push({ k: 'expr', expr, start: tok.start, end: tokens[p.pos - 1]!.end });
      pos = p.pos;
    }
    const sep = tokens[pos]!;
    if (sep.kind === 'end') return items;
    if (sep.text !== ',') throw new AsmError('comma expected after operand', sep.start, sep.end);
    pos++;
  }
}

/**
 * A floating-point data item: an optional sign, then a float literal or special name, then `,` or the
 * end (NASM allows no other arithmetic on floats). Encoded here into the item's bytes (floats.ts).
 */
function floatItem(tokens: Token[], pos: number, unit: number): { item: DataItem; next: number } | undefined {
  let k = pos;
  let negative = false;
  while (tokens[k]!.kind === 'op' && (tokens[k]!.text === '-' || tokens[k]!.text === '+')) {
    if (tokens[k]!.text === '-') negative = !negative;
    k++;
  }
  const tok = tokens[k]!;
  const isFloat = (tok.kind === 'number' && tok.float === true) || (tok.kind === 'ident' && isFloatSpecial(tok.text));
  if (!isFloat) return undefined;
  const after = tokens[k + 1]!;
  if (after.text !== ',' && after.kind !== 'end') throw new AsmError('comma expected after operand', after.start, after.end);
  if (!hasFloatFormat(unit)) throw new AsmError(`floating-point constant not allowed in a ${unit * 8}-bit data declaration`, tok.start, tok.end);
  const encoded = encodeFloat(tok.text, negative, unit);
  if (typeof encoded === 'string') throw new AsmError(encoded, tok.start, tok.end);
  const warning = encoded.overflow ? { warning: 'overflow in floating-point constant [-w+float-overflow]' } : {};
  return { item: { k: 'bytes', bytes: Array.from(encoded.bytes), start: tokens[pos]!.start, end: tok.end, ...warning }, next: k + 1 };
}

function parseOperands(tokens: Token[], pos: number): OperandAst[] {
  const operands: OperandAst[] = [];
  if (tokens[pos]!.kind === 'end') return operands;
  for (;;) {
    const { operand, next } = parseOperand(tokens, pos);
    operands.push(operand);
    const sep = tokens[next]!;
    if (sep.kind === 'end') return operands;
    if (sep.text !== ',') throw new AsmError('comma, colon, decorator or end of line expected after operand', sep.start, sep.end);
    pos = next + 1;
  }
}

const SEGMENTS = new Set(['es', 'cs', 'ss', 'ds', 'fs', 'gs']);

function parseOperand(tokens: Token[], pos: number): { operand: OperandAst; next: number } {
  const startTok = tokens[pos]!;
  let bits: OperandBits | undefined;
  let strict = false;
  let distance: 'short' | 'near' | 'far' | undefined;
  // Size and distance keywords before the operand.
  for (;;) {
    const t = tokens[pos]!;
    if (t.kind !== 'ident') break;
    const w = t.text.toLowerCase();
    const size = SIZE_KEYWORDS.get(w);
    if (size !== undefined) bits = size;
    else if (w === 'strict') strict = true;
    else if (w === 'short' || w === 'near' || w === 'far') distance = w;
    else break;
    pos++;
  }
  let segment: SegmentRegister | undefined;
  const t = tokens[pos]!;
  if (t.kind === 'ident' && SEGMENTS.has(t.text.toLowerCase()) && tokens[pos + 1]!.text === ':' && tokens[pos + 2]!.text === '[') {
    segment = t.text.toLowerCase() as SegmentRegister;
    pos += 2;
  }
  if (tokens[pos]!.text === '[') return parseMemory(tokens, pos, startTok.start, bits, segment, strict, distance);
  const regTok = tokens[pos]!;
  if (regTok.kind === 'ident' && REGISTERS.has(regTok.text.toLowerCase()) && (tokens[pos + 1]!.text === ',' || tokens[pos + 1]!.kind === 'end')) {
    return { operand: { k: 'reg', name: regTok.text.toLowerCase(), start: regTok.start, end: regTok.end }, next: pos + 1 };
  }
  const p = new ExprParser(tokens, pos);
  const expr = p.parse();
  if (tokens[p.pos]!.text === ':') {
    const q = new ExprParser(tokens, p.pos + 1);
    const offset = q.parse();
    // `jmp word 0x8:0x1000` is ptr16:16 (66h in 32-bit code), `dword` ptr16:32.
    const farBits = bits === 16 || bits === 32 ? { bits } : {};
    return { operand: { k: 'far', segment: expr, offset, start: startTok.start, end: tokens[q.pos - 1]!.end, ...farBits }, next: q.pos };
  }
  const operand: OperandAst = {
    k: 'imm',
    expr,
    start: startTok.start,
    end: tokens[p.pos - 1]!.end,
    ...(bits !== undefined ? { bits } : {}),
    ...(strict ? { strict } : {}),
    ...(distance ? { distance } : {}),
  };
  return { operand, next: p.pos };
}

function parseMemory(
  tokens: Token[], pos: number, start: number, bits: OperandBits | undefined, segment: SegmentRegister | undefined, strict: boolean,
  distance: 'short' | 'near' | 'far' | undefined,
): { operand: OperandAst; next: number } {
  pos++; // '['
  let displacementBits: 8 | 16 | 32 | undefined;
  let nosplit = false;
  for (;;) {
    const t = tokens[pos]!;
    if (t.kind !== 'ident') break;
    const w = t.text.toLowerCase();
    if (w === 'byte') displacementBits = 8;
    else if (w === 'word') displacementBits = 16;
    else if (w === 'dword') displacementBits = 32;
    else if (w === 'nosplit') nosplit = true;
    else if (w === 'rel' || w === 'abs') {
      throw new AsmError(`\`${w}' addressing is only for 64-bit code`, t.start, t.end);
    } else if (SEGMENTS.has(w) && tokens[pos + 1]!.text === ':') {
      segment = w as SegmentRegister;
      pos++;
    } else break;
    pos++;
  }
  let expr: ExprNode | undefined;
  if (tokens[pos]!.text !== ']') {
    const p = new ExprParser(tokens, pos);
    expr = p.parse();
    pos = p.pos;
  }
  const close = tokens[pos]!;
  if (close.text !== ']') throw new AsmError('expecting ]', close.start, Math.max(close.end, close.start + 1));
  const operand: OperandAst = {
    k: 'mem',
    expr,
    start,
    end: close.end,
    ...(bits !== undefined ? { bits } : {}),
    ...(segment ? { segment } : {}),
    ...(displacementBits !== undefined ? { displacementBits } : {}),
    ...(nosplit ? { nosplit } : {}),
    ...(strict ? { strict } : {}),
    ...(distance ? { distance } : {}),
  };
  return { operand, next: pos + 1 };
}
