// NASM expressions (manual 3.5), the syntax: a small tree parsed from tokens by precedence, lowest first:
// ?: , || , ^^ , && , comparisons (= == != <> < <= > >= <=>) , | , ^ , & , << >> <<< >>> , + - ,
// * / // % %% , unary - + ~ ! (and `seg`, rejected); plus queries on the tree (its column span, whether it
// names a symbol or needs 64-bit BigInt evaluation). Evaluation: expressions.ts.
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

/** The 0-based column range an expression covers (for diagnostics about the whole value). */
export function spanOf(node: ExprNode): { start: number; end: number } {
  let start = Infinity;
  let end = -1;
  const visit = (n: ExprNode): void => {
    switch (n.t) {
      case 'sym':
      case 'reg':
        start = Math.min(start, n.start);
        end = Math.max(end, n.end);
        return;
      case 'binary':
        start = Math.min(start, n.start);
        end = Math.max(end, n.end);
        visit(n.left);
        visit(n.right);
        return;
      case 'unary':
        visit(n.arg);
        return;
      case 'cond':
        visit(n.test);
        visit(n.yes);
        visit(n.no);
        return;
      default:
        return;
    }
  };
  visit(node);
  return end < 0 ? { start: 0, end: 0 } : { start, end };
}

/** True if some node of the tree (operators' operands included) passes `test`. */
function anyNode(node: ExprNode, test: (node: ExprNode) => boolean): boolean {
  if (test(node)) return true;
  switch (node.t) {
    case 'unary':
      return anyNode(node.arg, test);
    case 'binary':
      return anyNode(node.left, test) || anyNode(node.right, test);
    case 'cond':
      return anyNode(node.test, test) || anyNode(node.yes, test) || anyNode(node.no, test);
    default:
      return false;
  }
}

const isSymbolic = (node: ExprNode): boolean => node.t === 'sym' || node.t === 'here' || node.t === 'sectionStart';
const isBigConstant = (node: ExprNode): boolean => node.t === 'num' && node.big !== undefined;

/** True if the tree mentions a symbol (used by `%if` to reject labels and by listings). */
export function mentionsSymbol(node: ExprNode): boolean {
  return anyNode(node, isSymbolic);
}

/** True if any constant in the tree needs more than 53 bits (then `dq` evaluates exactly with BigInt). */
export function needsBigInt(node: ExprNode): boolean {
  return !mentionsSymbol(node) || anyNode(node, isBigConstant);
}
