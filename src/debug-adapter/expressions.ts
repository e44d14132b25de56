// SPDX-License-Identifier: MIT
// Debugger expressions in NASM syntax: `eax+4`, `dword [esp+8]`, `[msg]`, `byte [esi]`, labels,
// `zf`, `eax == 5 && ecx > 2`, `$` (the current instruction). Parsing reuses the assembler's lexer and
// expression parser (src/emulator/asm/expressions.ts, NASM manual 3.5 precedence); this file only adds what
// a debugger needs on top: memory operands (evaluated innermost first and replaced by their value) and a
// tree walk over the parser's nodes with live register, flag, memory and symbol values. Results are
// 32-bit (NASM evaluates in 64 bits; a debugger shows guest-sized values).
import { AsmError, parseExpression, type ExprNode } from '../emulator/asm/expressions';
import { tokenize, type Token } from '../emulator/asm/lexer';

/** What an expression can see of the stopped machine. */
export interface ExpressionScope {
  /** A register or flag by lower-case name (`eax`, `al`, `cr0`, `zf`, `eip`); undefined if not one. */
  register(name: string): number | undefined;
  /** A label's address; undefined if the program has no such symbol. */
  symbol(name: string): number | undefined;
  /** Side-effect-free read of `size` bytes of guest linear memory; undefined if unmapped. */
  readMemory(address: number, size: 1 | 2 | 4): number | undefined;
  /** Linear address of the current instruction (`$`). */
  here(): number;
}

/** An expression that cannot be evaluated; the message is shown to the user as is. */
export class ExpressionError extends Error {}

const SIZE_KEYWORDS: Readonly<Record<string, 1 | 2 | 4>> = { byte: 1, word: 2, dword: 4 };

/** Evaluates an expression to an unsigned 32-bit number. */
export function evaluateExpression(text: string, scope: ExpressionScope): number {
  if (text.trim() === '') throw new ExpressionError('empty expression');
  let tokens: Token[];
  try {
    tokens = tokenize(text);
  } catch (e) {
    throw new ExpressionError(e instanceof Error ? e.message : String(e));
  }
  for (const t of tokens) if (t.error !== undefined) throw new ExpressionError(t.error);
  const flat = replaceMemoryOperands(tokens, scope);
  let tree: ExprNode;
  try {
    tree = parseExpression(flat);
  } catch (e) {
    if (e instanceof AsmError) throw new ExpressionError(`${e.message} in '${text}'`);
    throw e;
  }
  return walk(tree, scope) >>> 0;
}

/** True when an expression's value counts as true (a condition): non-zero. */
export function evaluateCondition(text: string, scope: ExpressionScope): boolean {
  return evaluateExpression(text, scope) !== 0;
}

/** Replaces every `[size] [ ... ]` group, innermost first, by a number token holding the memory value. */
function replaceMemoryOperands(tokens: readonly Token[], scope: ExpressionScope): Token[] {
  let list = [...tokens];
  for (;;) {
    const close = list.findIndex((t) => t.kind === 'op' && t.text === ']');
    const firstOpen = list.findIndex((t) => t.kind === 'op' && t.text === '[');
    if (close < 0) {
      if (firstOpen >= 0) throw new ExpressionError("missing ']'");
      return list;
    }
    let open = -1;
    for (let k = close - 1; k >= 0; k--) {
      if (list[k]!.kind === 'op' && list[k]!.text === '[') {
        open = k;
        break;
      }
    }
    if (open < 0) throw new ExpressionError("']' without '['");
    const inner = [...list.slice(open + 1, close), { kind: 'end', text: '', start: list[close]!.start, end: list[close]!.end } as Token];
    let address: number;
    try {
      address = walk(parseExpression(inner), scope) >>> 0;
    } catch (e) {
      if (e instanceof AsmError) throw new ExpressionError(`${e.message} inside [...]`);
      throw e;
    }
    let size: 1 | 2 | 4 = 4;
    let from = open;
    const before = list[open - 1];
    if (before !== undefined && before.kind === 'ident' && SIZE_KEYWORDS[before.text.toLowerCase()] !== undefined) {
      size = SIZE_KEYWORDS[before.text.toLowerCase()]!;
      from = open - 1;
    }
    const value = scope.readMemory(address, size);
    if (value === undefined) throw new ExpressionError(`cannot read ${size} byte${size > 1 ? 's' : ''} at 0x${address.toString(16)}: not mapped`);
    const token: Token = { kind: 'number', text: String(value >>> 0), start: list[from]!.start, end: list[close]!.end, value: value >>> 0 };
    list = [...list.slice(0, from), token, ...list.slice(close + 1)];
  }
}

function name(scope: ExpressionScope, id: string): number {
  const register = scope.register(id.toLowerCase());
  if (register !== undefined) return register;
  const symbol = scope.symbol(id);
  if (symbol !== undefined) return symbol;
  throw new ExpressionError(`'${id}' is neither a register, a flag nor a label of the program`);
}

function walk(node: ExprNode, scope: ExpressionScope): number {
  switch (node.t) {
    case 'num':
      return node.value;
    case 'reg':
    case 'sym':
      return name(scope, node.name);
    case 'here':
      return scope.here();
    case 'sectionStart':
      throw new ExpressionError("'$$' (section start) has no meaning while debugging");
    case 'cond':
      return walk(node.test, scope) !== 0 ? walk(node.yes, scope) : walk(node.no, scope);
    case 'unary': {
      const v = walk(node.arg, scope);
      switch (node.op) {
        case '-': return -v | 0;
        case '~': return ~v;
        case '!': return v === 0 ? 1 : 0;
        default: return v;
      }
    }
    case 'binary':
      return binary(node.op, walk(node.left, scope), walk(node.right, scope));
  }
}

function binary(op: string, l: number, r: number): number {
  const lu = l >>> 0;
  const ru = r >>> 0;
  switch (op) {
    case '+': return (l + r) | 0;
    case '-': return (l - r) | 0;
    case '*': return Math.imul(l, r);
    case '/':
    case '%':
      if (ru === 0) throw new ExpressionError('division by zero');
      return op === '/' ? Math.floor(lu / ru) : lu % ru;
    case '//':
    case '%%':
      if ((r | 0) === 0) throw new ExpressionError('division by zero');
      return op === '//' ? Math.trunc((l | 0) / (r | 0)) : (l | 0) % (r | 0);
    case '<<': case '<<<': return l << (r & 31);
    case '>>': return lu >>> (r & 31);
    case '>>>': return (l | 0) >> (r & 31);
    case '&': return l & r;
    case '|': return l | r;
    case '^': return l ^ r;
    case '&&': return l !== 0 && r !== 0 ? 1 : 0;
    case '||': return l !== 0 || r !== 0 ? 1 : 0;
    case '^^': return (l !== 0) !== (r !== 0) ? 1 : 0;
    // Comparisons are unsigned, as NASM compares addresses; use `//`-style signed ops for signed values.
    case '=': case '==': return lu === ru ? 1 : 0;
    case '!=': case '<>': return lu !== ru ? 1 : 0;
    case '<': return lu < ru ? 1 : 0;
    case '<=': return lu <= ru ? 1 : 0;
    case '>': return lu > ru ? 1 : 0;
    case '>=': return lu >= ru ? 1 : 0;
    case '<=>': return lu < ru ? -1 : lu > ru ? 1 : 0;
    default: throw new ExpressionError(`operator '${op}' is not supported`);
  }
}
