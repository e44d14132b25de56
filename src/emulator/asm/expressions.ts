// NASM expressions (manual 3.5), evaluation: relocatable values (a number plus section/extern terms),
// NASM's operator rules for them, and exact 64-bit evaluation for `dq`. `/` and `%` are unsigned, `//` and
// `%%` signed, all on 64-bit integers as in NASM. The tree and its parser: expressionParser.ts (re-exported).
import { AsmError, ExprNode } from './expressionParser';

export { AsmError, ExprParser, mentionsSymbol, needsBigInt, parseExpression, REGISTERS, spanOf } from './expressionParser';
export type { ExprNode } from './expressionParser';

/**
 * An evaluated value: `n` plus, when `base` ≠ 0, the relocation base it depends on (a section start or an
 * external symbol). NASM keeps every expression as a sum of terms, a number plus multiples of segment bases
 * (manual 3.5: "simple" vs "relocatable"); this keeps the common shapes exactly: `base` > 0 is +1 × that
 * base, `base` < 0 is −1 × it (`-lbl`), and MIXED_BASE stands for anything else (two bases, `lbl*2`).
 * `lbl2 - lbl1` of one section cancels to a plain number. In -f bin `n` is the final absolute value and a
 * non-zero `base` only marks it label-based (NASM then keeps the field full width); in -f elf32 `n` is
 * the addend and only a single positive base can be relocated. `known` is false for an unresolved
 * forward reference.
 */
export interface Value {
  n: number;
  base: number;
  known: boolean;
  /** For MIXED_BASE only: coefficient per relocation base (so `a + b - b` cancels back to `a`). */
  terms?: ReadonlyMap<number, number>;
}

/** `base` of a value with several or scaled relocation terms (label-based in bin, not relocatable in elf). */
export const MIXED_BASE = 0x7fffffff;

type Terms = Map<number, number>;

function addTerms(v: Value, factor: number, into: Terms): void {
  if (v.base === 0) return;
  if (v.base === MIXED_BASE) {
    for (const [b, c] of v.terms ?? []) into.set(b, (into.get(b) ?? 0) + c * factor);
  } else if (v.base > 0) into.set(v.base, (into.get(v.base) ?? 0) + factor);
  else into.set(-v.base, (into.get(-v.base) ?? 0) - factor);
}

/** Back from a term map to the compact form: a single ±1 term is a plain (negated) base. */
function fromTerms(n: number, known: boolean, terms: Terms): Value {
  for (const [b, c] of terms) if (c === 0) terms.delete(b);
  if (terms.size === 0) return { n, base: 0, known };
  if (terms.size === 1) {
    const [b, c] = terms.entries().next().value!;
    if (c === 1) return { n, base: b, known };
    if (c === -1) return { n, base: -b, known };
  }
  return { n, base: MIXED_BASE, known, terms };
}

/** `l + sign·r` on the relocation terms; the common shapes allocate nothing beyond the result. */
function combine(n: number, l: Value, r: Value, sign: 1 | -1): Value {
  const known = l.known && r.known;
  if (r.base === 0) return l.base === MIXED_BASE ? { n, base: MIXED_BASE, known, terms: l.terms! } : { n, base: l.base, known };
  if (l.base !== MIXED_BASE && r.base !== MIXED_BASE) {
    const rb = sign === 1 ? r.base : -r.base;
    if (l.base === 0) return { n, base: rb, known };
    if (l.base === -rb) return { n, base: 0, known };
  }
  const terms: Terms = new Map();
  addTerms(l, 1, terms);
  addTerms(r, sign, terms);
  return fromTerms(n, known, terms);
}

function negate(v: Value): Value {
  return combine(wrap64(-v.n), ZERO, v, -1);
}

const ZERO: Value = { n: 0, base: 0, known: true };

/** `k * value`: scaling by ±1 keeps one term, by 0 drops it, anything else makes scaled terms. */
function scale(n: number, v: Value, factor: number, known: boolean): Value {
  if (v.base === 0) return { n, base: 0, known };
  if (factor === 1) return v.base === MIXED_BASE ? { n, base: MIXED_BASE, known, terms: v.terms! } : { n, base: v.base, known };
  const terms: Terms = new Map();
  addTerms(v, factor, terms);
  return fromTerms(n, known, terms);
}

/** A register term inside an effective address, in order of appearance. */
export interface RegisterTerm {
  reg: string;
  scale: number;
  /** Written with an explicit multiplier (`eax*1`): NASM then makes it the index, never the base. */
  multiplied: boolean;
}

export interface EvalContext {
  /** Value of a symbol; undefined when it is not defined (yet). */
  lookup(name: string, start: number, end: number): Value | undefined;
  here(): Value;
  sectionStart(): Value;
  /** Final pass: an undefined symbol is an error rather than an unknown forward reference. */
  readonly strict: boolean;
}

const TWO64 = 18446744073709551616;

function wrap64(x: number): number {
  if (Number.isSafeInteger(x)) return x;
  if (!Number.isFinite(x)) return 0;
  return Number(BigInt.asIntN(64, BigInt(Math.trunc(x % TWO64))));
}

function big(x: number): bigint {
  return BigInt(Math.trunc(x));
}

/**
 * Back to a JS number. Values beyond 2^53 keep their low 53 bits exactly (so every field of up to 32
 * bits gets NASM's bytes); `dq` of such constants is evaluated exactly by evaluateBig instead.
 */
function fromBig(x: bigint): number {
  const v = BigInt.asIntN(64, x);
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Number(BigInt.asIntN(53, v));
}

function isInt32(x: number): boolean {
  return (x | 0) === x;
}

/** Evaluates an expression; register terms are collected into `regs` when given, otherwise rejected. */
export function evaluate(node: ExprNode, ctx: EvalContext, regs?: RegisterTerm[]): Value {
  switch (node.t) {
    case 'num':
      return { n: node.value, base: 0, known: true };
    case 'here':
      return ctx.here();
    case 'sectionStart':
      return ctx.sectionStart();
    case 'sym': {
      const v = ctx.lookup(node.name, node.start, node.end);
      if (v) return v;
      if (ctx.strict) throw new AsmError(`symbol \`${node.name}' not defined`, node.start, node.end);
      return { n: 0, base: 0, known: false };
    }
    case 'reg':
      if (!regs) throw new AsmError('invalid use of register in expression', node.start, node.end);
      regs.push({ reg: node.name, scale: 1, multiplied: false });
      return { n: 0, base: 0, known: true };
    case 'cond': {
      const t = evaluate(node.test, ctx);
      if (t.base !== 0) throw new AsmError('the left-hand side of `?\' must be a scalar value', 0, 0);
      return t.n !== 0 ? evaluate(node.yes, ctx) : evaluate(node.no, ctx);
    }
    case 'unary': {
      const v = evaluate(node.arg, ctx, regs && node.op === '+' ? regs : undefined);
      if (node.op === '+') return v;
      if (node.op === '-') return negate(v);
      const s = scalar(v, node.op, 0, 0);
      const n = node.op === '~' ? (isInt32(s.n) ? ~s.n : fromBig(~big(s.n))) : s.n === 0 ? 1 : 0;
      return { n, base: 0, known: s.known };
    }
    case 'binary':
      return evaluateBinary(node, ctx, regs);
  }
}

/** NASM's wording for an operator applied to a label-based value ("`&' operator may only be ..."). */
function scalarOnlyMessage(op: string): string {
  if (op === '/' || op === '//' || op === '%' || op === '%%') return 'division operator may only be applied to scalar values';
  if (op === '<<' || op === '>>' || op === '<<<' || op === '>>>') return 'shift operator may only be applied to scalar values';
  return `\`${op.charAt(0)}' operator may only be applied to scalar values`;
}

function scalar(v: Value, op: string, start: number, end: number): Value {
  if (v.base !== 0) throw new AsmError(scalarOnlyMessage(op), start, end);
  return v;
}

function evaluateBinary(node: Extract<ExprNode, { t: 'binary' }>, ctx: EvalContext, regs?: RegisterTerm[]): Value {
  const { op, start, end } = node;
  if (op === '+' || op === '-') {
    const l = evaluate(node.left, ctx, regs);
    const mid = regs ? regs.length : 0;
    const r = evaluate(node.right, ctx, regs);
    if (regs && op === '-' && regs.length > mid) throw new AsmError('invalid effective address: cannot subtract a register', start, end);
    return op === '+' ? combine(wrap64(l.n + r.n), l, r, 1) : combine(wrap64(l.n - r.n), l, r, -1);
  }
  if (op === '*' && regs) {
    // `reg*k` or `k*reg` inside an effective address.
    const mark = regs.length;
    const l = evaluate(node.left, ctx, regs);
    const afterLeft = regs.length;
    const r = evaluate(node.right, ctx, regs);
    const regCountLeft = afterLeft - mark;
    const regCountRight = regs.length - afterLeft;
    if (regCountLeft === 0 && regCountRight === 0) return multiply(l, r, start, end);
    if (regCountLeft > 0 && regCountRight > 0) throw new AsmError('invalid effective address: register multiplied by register', start, end);
    const factor = regCountLeft > 0 ? r : l;
    if (factor.base !== 0) throw new AsmError('unable to multiply two non-scalar objects', start, end);
    const scaled = regCountLeft > 0 ? l : r;
    for (let k = mark; k < regs.length; k++) {
      regs[k]!.scale *= factor.n;
      regs[k]!.multiplied = true;
    }
    return scale(scaled.n * factor.n, scaled, factor.n, l.known && r.known);
  }
  const lv = evaluate(node.left, ctx);
  const rv = evaluate(node.right, ctx);
  if (op === '*') return multiply(lv, rv, start, end);
  if (lv.base !== 0 || rv.base !== 0) return compareSymbolic(op, lv, rv, start, end);
  const l = lv;
  const r = rv;
  const known = l.known && r.known;
  const res = (n: number): Value => ({ n, base: 0, known });
  const a = l.n;
  const b = r.n;
  switch (op) {
    case '/':
    case '//':
    case '%':
    case '%%': {
      if (b === 0) {
        if (!known) return res(0);
        throw new AsmError('division by zero', start, end);
      }
      const signed = op === '//' || op === '%%';
      const x = signed ? big(a) : BigInt.asUintN(64, big(a));
      const y = signed ? big(b) : BigInt.asUintN(64, big(b));
      return res(fromBig(op === '/' || op === '//' ? x / y : x % y));
    }
    case '<<':
    case '<<<':
      return res(b >= 64 || b < 0 ? 0 : fromBig(big(a) << big(b)));
    case '>>':
      return res(b >= 64 || b < 0 ? 0 : fromBig(BigInt.asUintN(64, big(a)) >> big(b)));
    case '>>>':
      return res(fromBig(big(a) >> big(Math.min(Math.max(b, 0), 63))));
    case '&':
      return res(isInt32(a) && isInt32(b) ? a & b : fromBig(big(a) & big(b)));
    case '|':
      return res(isInt32(a) && isInt32(b) ? a | b : fromBig(big(a) | big(b)));
    case '^':
      return res(isInt32(a) && isInt32(b) ? a ^ b : fromBig(big(a) ^ big(b)));
    case '=':
    case '==':
      return res(a === b ? 1 : 0);
    case '!=':
    case '<>':
      return res(a !== b ? 1 : 0);
    case '<':
      return res(a < b ? 1 : 0);
    case '<=':
      return res(a <= b ? 1 : 0);
    case '>':
      return res(a > b ? 1 : 0);
    case '>=':
      return res(a >= b ? 1 : 0);
    case '<=>':
      // NASM 2.16.01 yields 1 for a > b and 0 otherwise (its -1 case is lost); match its bytes.
      return res(a > b ? 1 : 0);
    case '&&':
      return res(a !== 0 && b !== 0 ? 1 : 0);
    case '||':
      return res(a !== 0 || b !== 0 ? 1 : 0);
    case '^^':
      return res((a !== 0) !== (b !== 0) ? 1 : 0);
    default:
      throw new AsmError(`unknown operator \`${op}'`, start, end);
  }
}

function multiply(l: Value, r: Value, start: number, end: number): Value {
  if (l.base !== 0 && r.base !== 0) throw new AsmError('unable to multiply two non-scalar objects', start, end);
  const p = l.n * r.n;
  const n = Number.isSafeInteger(p) ? p : fromBig(big(l.n) * big(r.n));
  return l.base !== 0 ? scale(n, l, r.n, l.known && r.known) : scale(n, r, l.n, l.known && r.known);
}

/**
 * Operators other than + - * on label-based operands, as NASM 2.16 evaluates them: comparisons work on
 * the difference (`lbl < lbl2` is fine; `==`/`!=` with a non-scalar difference are simply false/true;
 * ordering a non-scalar difference is an error); every other operator needs scalars.
 */
function compareSymbolic(op: string, l: Value, r: Value, start: number, end: number): Value {
  const known = l.known && r.known;
  const differenceBase = combine(0, l, r, -1).base;
  const a = l.n;
  const b = r.n;
  switch (op) {
    case '=':
    case '==':
      return { n: differenceBase === 0 && a === b ? 1 : 0, base: 0, known };
    case '!=':
    case '<>':
      return { n: differenceBase === 0 && a === b ? 0 : 1, base: 0, known };
    case '<':
    case '<=':
    case '>':
    case '>=':
    case '<=>':
      if (differenceBase !== 0) throw new AsmError(`\`${op}': operands differ by a non-scalar`, start, end);
      return { n: op === '<' ? +(a < b) : op === '<=' ? +(a <= b) : op === '>' || op === '<=>' ? +(a > b) : +(a >= b), base: 0, known };
    default:
      throw new AsmError(scalarOnlyMessage(op), start, end);
  }
}

/** Exact 64-bit evaluation of a constant expression for `dq` (symbols contribute their Number value). */
export function evaluateBig(node: ExprNode, ctx: EvalContext): bigint {
  switch (node.t) {
    case 'num':
      return node.big ?? BigInt(node.value);
    case 'cond':
      return evaluateBig(node.test, ctx) !== 0n ? evaluateBig(node.yes, ctx) : evaluateBig(node.no, ctx);
    case 'unary': {
      const a = evaluateBig(node.arg, ctx);
      return BigInt.asIntN(64, node.op === '-' ? -a : node.op === '~' ? ~a : node.op === '!' ? (a === 0n ? 1n : 0n) : a);
    }
    case 'binary': {
      const a = evaluateBig(node.left, ctx);
      const b = evaluateBig(node.right, ctx);
      const ua = BigInt.asUintN(64, a);
      const ub = BigInt.asUintN(64, b);
      const r = ((): bigint => {
        switch (node.op) {
          case '+': return a + b;
          case '-': return a - b;
          case '*': return a * b;
          case '/': if (ub === 0n) throw new AsmError('division by zero', node.start, node.end); return ua / ub;
          case '%': if (ub === 0n) throw new AsmError('division by zero', node.start, node.end); return ua % ub;
          case '//': if (b === 0n) throw new AsmError('division by zero', node.start, node.end); return a / b;
          case '%%': if (b === 0n) throw new AsmError('division by zero', node.start, node.end); return a % b;
          case '<<': case '<<<': return b >= 64n || b < 0n ? 0n : a << b;
          case '>>': return b >= 64n || b < 0n ? 0n : ua >> b;
          case '>>>': return a >> (b > 63n ? 63n : b < 0n ? 0n : b);
          case '&': return a & b;
          case '|': return a | b;
          case '^': return a ^ b;
          case '<=>': return a > b ? 1n : 0n;
          case '<': return a < b ? 1n : 0n;
          case '<=': return a <= b ? 1n : 0n;
          case '>': return a > b ? 1n : 0n;
          case '>=': return a >= b ? 1n : 0n;
          case '=': case '==': return a === b ? 1n : 0n;
          case '!=': case '<>': return a !== b ? 1n : 0n;
          case '&&': return a !== 0n && b !== 0n ? 1n : 0n;
          case '||': return a !== 0n || b !== 0n ? 1n : 0n;
          case '^^': return (a !== 0n) !== (b !== 0n) ? 1n : 0n;
          default: return BigInt(evaluate(node, ctx).n);
        }
      })();
      return BigInt.asIntN(64, r);
    }
    default:
      return BigInt(Math.trunc(evaluate(node, ctx).n));
  }
}
