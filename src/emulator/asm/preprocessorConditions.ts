// Conditional assembly (NASM manual 4.4): the %if/%elif/%else/%endif nesting of one block of lines and
// the tests of the %if family (%if expr, %ifdef, %ifmacro, %ifctx, %ifidn/%ifidni, %ifempty, %ifnum,
// %ifstr, %ifid and their %ifn/%elif forms), plus the constant expressions preprocessor directives take.
import { AsmError, evaluate, parseExpression, Value } from './expressions';
import { tokenize } from './lexer';
import { splitMacroArguments } from './macroText';

/**
 * The %if directives (with their negated forms); the captured part is the test's kind. `env`, `token`,
 * `usable` and `using` are NASM 2.16 tests HyperStep does not evaluate: they open a conditional (so %endif
 * still matches) and report that they are not supported.
 */
export const IF_DIRECTIVE = /^(if|ifn)(def|ndef|idn|idni|empty|num|str|id|macro|ctx|env|token|usable|using)?$/;
export const ELIF_DIRECTIVE = /^elif(n)?(def|ndef|idn|idni|empty|num|str|id|macro|ctx|env|token|usable|using)?$/;
/** A line continuing an open %if: %elif…, %else, %endif. */
export const CONTINUES_CONDITIONAL = /^\s*%(?:elif[a-z]*|else|endif)\b/i;

interface ConditionalState {
  /** Some branch of this %if has already been taken. */
  taken: boolean;
  /** Lines are currently being emitted. */
  active: boolean;
  /** Inside an enclosing inactive region: nothing in this %if is ever emitted. */
  parentInactive: boolean;
  sawElse: boolean;
}

/** The open %if blocks of one block of lines (conditionals must balance within a file or expansion). */
export class ConditionalStack {
  private readonly open: ConditionalState[] = [];

  /** Lines are emitted (no %if is open, or the innermost one's current branch is taken). */
  get active(): boolean {
    return this.open.length === 0 || this.open[this.open.length - 1]!.active;
  }

  /** The region around the innermost open %if is emitted (its %elif/%else/%endif lines are expanded). */
  get enclosingActive(): boolean {
    return this.open.length === 0 || !this.open[this.open.length - 1]!.parentInactive;
  }

  get depth(): number {
    return this.open.length;
  }

  /** %if…: `result` is the test's value (false when the enclosing region is inactive). */
  openIf(result: boolean, parentInactive: boolean): void {
    this.open.push({ taken: result, active: result, parentInactive, sawElse: false });
  }

  /** %elif…: `test` runs only when no earlier branch was taken. False when no %if is open. */
  elseIf(test: () => boolean): boolean {
    const top = this.open[this.open.length - 1];
    if (!top) return false;
    if (top.parentInactive || top.taken) {
      top.active = false;
      return true;
    }
    const result = test();
    top.active = result;
    top.taken = result;
    return true;
  }

  /** %else: 'unmatched' when no %if is open, 'repeated' for a second %else (NASM warns), else 'ok'. */
  otherwise(): 'ok' | 'unmatched' | 'repeated' {
    const top = this.open[this.open.length - 1];
    if (!top) return 'unmatched';
    const repeated = top.sawElse;
    top.sawElse = true;
    top.active = !top.parentInactive && !top.taken;
    top.taken = true;
    return repeated ? 'repeated' : 'ok';
  }

  /** %endif; false when no %if is open. */
  close(): boolean {
    return this.open.pop() !== undefined;
  }
}

/** What the tests of the %if family ask of the preprocessor. */
export interface ConditionEnvironment {
  /** The text with single-line macros expanded. */
  expand(text: string): string;
  /** A constant expression's value (errors already reported: undefined). */
  constant(text: string): number | undefined;
  isSingleLineMacro(name: string): boolean;
  isMultiLineMacro(name: string): boolean;
  /** The name of the top context (%ifctx), undefined when the stack is empty. */
  readonly contextName: string | undefined;
  unknownTest(kind: string): void;
}

/** The value of one %if-family test; `kind` is the directive without `if`/`elif` (`def`, `nidn`, ``…). */
export function evaluateCondition(kind: string, rest: string, env: ConditionEnvironment): boolean {
  let negate = false;
  if (kind.startsWith('n') && kind !== 'num' && kind !== 'ndef') {
    negate = true;
    kind = kind.slice(1);
  }
  let result: boolean;
  switch (kind) {
    case '':
      result = (env.constant(rest) ?? 0) !== 0;
      break;
    case 'def':
    case 'ndef': {
      const defined = env.isSingleLineMacro(rest.trim());
      result = kind === 'def' ? defined : !defined;
      break;
    }
    case 'macro':
      result = env.isMultiLineMacro(rest.trim().split(/\s+/)[0]!);
      break;
    case 'ctx': {
      // True when the top context has any of the names given (NASM manual 4.7.4).
      const top = env.contextName;
      result = top !== undefined && rest.split(/[\s,]+/).filter((w) => w !== '').includes(top);
      break;
    }
    case 'idn':
    case 'idni': {
      const parts = splitMacroArguments(env.expand(rest));
      const a = (parts[0] ?? '').replace(/\s+/g, '');
      const b = (parts[1] ?? '').replace(/\s+/g, '');
      result = kind === 'idn' ? a === b : a.toLowerCase() === b.toLowerCase();
      break;
    }
    case 'empty':
      result = env.expand(rest).trim() === '';
      break;
    case 'num':
      result = /^\s*[0-9$][\w$]*\s*$/.test(env.expand(rest));
      break;
    case 'str':
      result = /^\s*(["'`]).*\1\s*$/.test(env.expand(rest));
      break;
    case 'id':
      result = /^\s*[A-Za-z_.?@$][\w$#@~.?]*\s*$/.test(env.expand(rest));
      break;
    default:
      env.unknownTest(kind);
      result = false;
  }
  return negate ? !result : result;
}

/**
 * The value of an already expanded constant expression in a preprocessor directive (%if, %assign, %rep,
 * %rotate, %substr), or the error message: symbols, `$` and `$$` have no value here.
 */
export function evaluateConstantText(text: string): number | { readonly error: AsmError } {
  try {
    const tokens = tokenize(text);
    const node = parseExpression(tokens);
    const v: Value = evaluate(node, {
      strict: true,
      lookup: () => undefined,
      here: () => {
        throw new AsmError('non-constant value given to preprocessor directive', 0, text.length);
      },
      sectionStart: () => {
        throw new AsmError('non-constant value given to preprocessor directive', 0, text.length);
      },
    });
    return v.n;
  } catch (e) {
    if (e instanceof AsmError) return { error: e };
    throw e;
  }
}
