// NASM expressions (manual 3.5): parsing to a small tree and evaluating with relocatable values.
// Precedence, lowest first: ?: , || , ^^ , && , comparisons (= == != <> < <= > >= <=>) , | , ^ , & ,
// << >> <<< >>> , + - , * / // % %% , unary - + ~ ! (and `seg`, rejected). `/` and `%` are unsigned,
// `//` and `%%` signed, all on 64-bit integers as in NASM.
import { Token, charConstantBig, charConstantValue } from './lexer';

export type ExprNode =
  | { readonly t: 'num'; readonly value: number; readonly big?: bigint }
  | { readonly t: 'sym'; readonly name: string; readonly start: number; readonly end: number }
  | { readonly t: 'here' }
  | { readonly t: 'sectionStart' }
  | { readonly t: 'reg'; readonly name: string; readonly start: number; readonly end: number }
  | { readonly t: 'unary'; readonly op: string; readonly arg: ExprNode }
  | { readonly t: 'binary'; readonly op: string; readonly left: ExprNode; readonly right: ExprNode; readonly start: number; readonly end: number }
  | { readonly t: 'cond'; readonly test: ExprNode; readonly yes: ExprNode; readonly no: ExprNode };

/** A syntax or evaluation error with the 0-based column range that caused it. */
export class AsmError extends Error {
  constructor(message: string, readonly start: number, readonly end: number) {
    super(message);
  }
}

export const REGISTERS = new Set([
  'al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh', 'ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di',
  'eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'es', 'cs', 'ss', 'ds', 'fs', 'gs',
  'cr0', 'cr2', 'cr3', 'cr4', 'dr0', 'dr1', 'dr2', 'dr3', 'dr6', 'dr7',
]);

/** Recursive-descent parser over a token array; `pos` advances as tokens are consumed. */
export class ExprParser {
  pos: number;
  constructor(readonly tokens: readonly Token[], start: number) {
    this.pos = start;
  }

  peek(): Token {
    return this.tokens[this.pos]!;
  }

  parse(): ExprNode {
    return this.conditional();
  }

  private conditional(): ExprNode {
    const test = this.binaryLevel(0);
    if (this.peek().text === '?' && this.peek().kind === 'op') {
      this.pos++;
      const yes = this.conditional();
      if (this.peek().text !== ':') throw this.syntaxError();
      this.pos++;
      const no = this.conditional();
      return { t: 'cond', test, yes, no };
    }
    return test;
  }

  private static readonly LEVELS: readonly (readonly string[])[] = [
    ['||'], ['^^'], ['&&'], ['=', '==', '!=', '<>', '<', '<=', '>', '>=', '<=>'], ['|'], ['^'], ['&'],
    ['<<', '>>', '<<<', '>>>'], ['+', '-'], ['*', '/', '//', '%', '%%'],
  ];

  private binaryLevel(level: number): ExprNode {
    if (level >= ExprParser.LEVELS.length) return this.unary();
    const ops = ExprParser.LEVELS[level]!;
    let left = this.binaryLevel(level + 1);
    for (;;) {
      const tok = this.peek();
      if (tok.kind !== 'op' || !ops.includes(tok.text)) return left;
      this.pos++;
      const right = this.binaryLevel(level + 1);
      left = { t: 'binary', op: tok.text, left, right, start: tok.start, end: tok.end };
    }
  }

  private unary(): ExprNode {
    const tok = this.peek();
    if (tok.kind === 'op' && (tok.text === '-' || tok.text === '+' || tok.text === '~' || tok.text === '!')) {
      this.pos++;
      return { t: 'unary', op: tok.text, arg: this.unary() };
    }
    if (tok.kind === 'ident' && tok.text.toLowerCase() === 'seg') {
      throw new AsmError('`seg\' is not supported: HyperStep targets flat 32-bit segments', tok.start, tok.end);
    }
    return this.primary();
  }

  private primary(): ExprNode {
    const tok = this.peek();
    switch (tok.kind) {
      case 'number':
        if (tok.error) throw new AsmError(tok.error, tok.start, tok.end);
        this.pos++;
        return tok.big !== undefined ? { t: 'num', value: tok.value!, big: tok.big } : { t: 'num', value: tok.value! };
      case 'string':
        if (tok.error) throw new AsmError(tok.error, tok.start, tok.end);
        if (tok.bytes!.length > 8) throw new AsmError('character constant too long', tok.start, tok.end);
        this.pos++;
        if (tok.bytes!.length > 6) return { t: 'num', value: charConstantValue(tok.bytes!), big: charConstantBig(tok.bytes!) };
        return { t: 'num', value: charConstantValue(tok.bytes!) };
      case 'ident': {
        this.pos++;
        const lower = tok.text.toLowerCase();
        if (REGISTERS.has(lower)) return { t: 'reg', name: lower, start: tok.start, end: tok.end };
        if (lower === 'wrt') throw new AsmError('`wrt\' is not supported by the elf32/bin subset of HyperStep', tok.start, tok.end);
        const name = tok.text.startsWith('$') ? tok.text.slice(1) : tok.text;
        return { t: 'sym', name, start: tok.start, end: tok.end };
      }
      case 'op':
        if (tok.text === '(') {
          this.pos++;
          const inner = this.parse();
          if (this.peek().text !== ')') throw new AsmError('expecting `)\'', this.peek().start, this.peek().end);
          this.pos++;
          return inner;
        }
        if (tok.text === '$') {
          this.pos++;
          return { t: 'here' };
        }
        if (tok.text === '$$') {
          this.pos++;
          return { t: 'sectionStart' };
        }
        throw this.syntaxError();
      default:
        throw this.syntaxError();
    }
  }

  syntaxError(): AsmError {
    const tok = this.peek();
    return new AsmError('expression syntax error', tok.start, Math.max(tok.end, tok.start + 1));
  }
}

/** Parses a whole token range as one expression; errors if tokens remain. */
export function parseExpression(tokens: readonly Token[], start = 0): ExprNode {
  const p = new ExprParser(tokens, start);
  const node = p.parse();
  if (p.peek().kind !== 'end') throw p.syntaxError();
  return node;
}

/**
 * An evaluated value: `n` plus, when `base` ≠ 0, the address of a relocation base (a section start or an
 * external symbol) the linker adds. `known` is false when a forward reference was still undefined.
 */
export interface Value {
  n: number;
  base: number;
  known: boolean;
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
      const t = scalar(evaluate(node.test, ctx), 0, 0);
      return t.n !== 0 ? evaluate(node.yes, ctx) : evaluate(node.no, ctx);
    }
    case 'unary': {
      const v = evaluate(node.arg, ctx, regs && node.op === '+' ? regs : undefined);
      if (node.op === '+') return v;
      const s = scalar(v, 0, 0);
      const n = node.op === '-' ? wrap64(-s.n) : node.op === '~' ? (isInt32(s.n) ? ~s.n : fromBig(~big(s.n))) : s.n === 0 ? 1 : 0;
      return { n, base: 0, known: s.known };
    }
    case 'binary':
      return evaluateBinary(node, ctx, regs);
  }
}

function scalar(v: Value, start: number, end: number): Value {
  if (v.base !== 0) throw new AsmError('expression is not simple or relocatable', start, end);
  return v;
}

function evaluateBinary(node: Extract<ExprNode, { t: 'binary' }>, ctx: EvalContext, regs?: RegisterTerm[]): Value {
  const { op, start, end } = node;
  if (op === '+' || op === '-') {
    const before = regs ? regs.length : 0;
    const l = evaluate(node.left, ctx, regs);
    const mid = regs ? regs.length : 0;
    const r = evaluate(node.right, ctx, regs);
    if (regs && op === '-' && regs.length > mid) throw new AsmError('invalid effective address: cannot subtract a register', start, end);
    void before;
    const known = l.known && r.known;
    if (op === '+') {
      if (l.base !== 0 && r.base !== 0) throw new AsmError('expression is not simple or relocatable', start, end);
      return { n: wrap64(l.n + r.n), base: l.base || r.base, known };
    }
    if (r.base !== 0) {
      if (r.base !== l.base) throw new AsmError('expression is not simple or relocatable', start, end);
      return { n: wrap64(l.n - r.n), base: 0, known };
    }
    return { n: wrap64(l.n - r.n), base: l.base, known };
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
    const factor = regCountLeft > 0 ? scalar(r, start, end) : scalar(l, start, end);
    const scaled = regCountLeft > 0 ? l : r;
    for (let k = mark; k < regs.length; k++) {
      regs[k]!.scale *= factor.n;
      regs[k]!.multiplied = true;
    }
    return { n: scaled.n * factor.n, base: scaled.base, known: l.known && r.known };
  }
  const l = scalar(evaluate(node.left, ctx), start, end);
  const r = scalar(evaluate(node.right, ctx), start, end);
  const known = l.known && r.known;
  const res = (n: number): Value => ({ n, base: 0, known });
  const a = l.n;
  const b = r.n;
  switch (op) {
    case '*':
      return multiply(l, r, start, end);
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
  scalar(l, start, end);
  scalar(r, start, end);
  const p = l.n * r.n;
  return { n: Number.isSafeInteger(p) ? p : fromBig(big(l.n) * big(r.n)), base: 0, known: l.known && r.known };
}

/** True if the tree mentions a symbol (used by `%if` to reject labels and by listings). */
export function mentionsSymbol(node: ExprNode): boolean {
  switch (node.t) {
    case 'sym':
    case 'here':
    case 'sectionStart':
      return true;
    case 'unary':
      return mentionsSymbol(node.arg);
    case 'binary':
      return mentionsSymbol(node.left) || mentionsSymbol(node.right);
    case 'cond':
      return mentionsSymbol(node.test) || mentionsSymbol(node.yes) || mentionsSymbol(node.no);
    default:
      return false;
  }
}

/** True if any constant in the tree needs more than 53 bits (then `dq` evaluates exactly with BigInt). */
export function needsBigInt(node: ExprNode): boolean {
  return !mentionsSymbol(node) || hasBigConstant(node);
}

function hasBigConstant(node: ExprNode): boolean {
  switch (node.t) {
    case 'num':
      return node.big !== undefined;
    case 'unary':
      return hasBigConstant(node.arg);
    case 'binary':
      return hasBigConstant(node.left) || hasBigConstant(node.right);
    case 'cond':
      return hasBigConstant(node.test) || hasBigConstant(node.yes) || hasBigConstant(node.no);
    default:
      return false;
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
