// The preprocessor's context stack and string functions (NASM manual 4.7 and 4.2.1-4.2.3): %push/%pop/
// %repl with context-local names (`%$x` is `..@N.x` for the top context, `%$$x` for the one below, as
// NASM names them in its output), %ifctx, and %strlen/%substr/%strcat, which define a macro.
import { tokenize } from './lexer';

/** One entry of the context stack. */
interface Context {
  name: string;
  /** Unique number shared with macro expansions (the counter behind `%%x` labels). */
  readonly number: number;
}

export class ContextStack {
  private readonly contexts: Context[] = [];

  /** The top context's name, for %ifctx (undefined when the stack is empty). */
  get topName(): string | undefined {
    return this.contexts[this.contexts.length - 1]?.name;
  }

  /** %push name / %pop [name] / %repl name; returns an error message or undefined. */
  directive(directive: 'push' | 'pop' | 'repl', name: string, nextUnique: () => number): string | undefined {
    const top = this.contexts[this.contexts.length - 1];
    if (directive === 'push') {
      this.contexts.push({ name, number: nextUnique() });
      return undefined;
    }
    if (!top) return `\`%${directive}': context stack is empty`;
    if (directive === 'repl') top.name = name;
    else if (name !== '' && name !== top.name) return `\`%pop' in wrong context: ${top.name}, expected ${name}`;
    else this.contexts.pop();
    return undefined;
  }

  /**
   * Rewrites context-local names in the code part of a line (not in strings or the comment). A name
   * with no context is left as written and reported through `onError` (callers pass none for inactive
   * %if branches).
   */
  substitute(text: string, onError?: (message: string) => void): string {
    let quote = '';
    let end = text.length;
    const outside: boolean[] = [];
    for (let k = 0; k < text.length; k++) {
      const c = text[k]!;
      outside[k] = quote === '';
      if (quote) {
        if (c === quote) quote = '';
      } else if (c === '"' || c === "'" || c === '`') quote = c;
      else if (c === ';') {
        end = k;
        break;
      }
    }
    const depthAvailable = this.contexts.length;
    return text.slice(0, end).replace(/%(\$+)([A-Za-z_.?@][\w$#@~.?]*)/g, (all, dollars: string, name: string, at: number) => {
      if (!outside[at]) return all;
      const context = this.contexts[depthAvailable - dollars.length];
      if (context) return `..@${context.number}.${name}`;
      onError?.(depthAvailable === 0 ? `\`${all}': context stack is empty` : `\`${dollars}${name}': context stack is only ${depthAvailable} level${depthAvailable === 1 ? '' : 's'} deep`);
      return all;
    }) + text.slice(end);
  }
}

/**
 * The body of the macro %strlen/%substr/%strcat defines from already-expanded arguments, or an error.
 * %substr's start is 1-based; its length defaults to 1 and a negative one counts from the end.
 */
export function stringFunction(
  directive: 'strlen' | 'substr' | 'strcat', args: readonly string[], evaluate: (text: string) => number | undefined,
): { body: string } | { error: string } | undefined {
  const strings: number[][] = [];
  const count = directive === 'substr' ? 1 : args.length;
  for (let k = 0; k < count; k++) {
    const tokens = tokenize(args[k] ?? '');
    if (tokens.length !== 2 || tokens[0]!.kind !== 'string' || tokens[0]!.error) {
      return { error: directive === 'strcat' ? `non-string passed to \`%strcat': ${args[k] ?? ''}` : `\`%${directive}' requires string as second parameter` };
    }
    strings.push(tokens[0]!.bytes!);
  }
  if (directive === 'strlen') return { body: String(strings[0]!.length) };
  if (directive === 'strcat') return { body: quoteBytes(strings.flat()) };
  const bytes = strings[0]!;
  const start = args[1] !== undefined ? evaluate(args[1]) : 1;
  const length = args[2] !== undefined ? evaluate(args[2]) : 1;
  if (start === undefined || length === undefined) return undefined;
  const from = Math.max(0, start - 1);
  const to = length < 0 ? bytes.length + length + 1 : from + length;
  return { body: quoteBytes(bytes.slice(from, Math.max(from, to))) };
}

/** A NASM string literal for `bytes`: '…', "…" or `…` with escapes. */
function quoteBytes(bytes: readonly number[]): string {
  const text = String.fromCharCode(...bytes);
  const printable = bytes.every((b) => b >= 0x20 && b < 0x7f);
  if (printable && !text.includes("'")) return `'${text}'`;
  if (printable && !text.includes('"')) return `"${text}"`;
  return `\`${bytes.map((b) => (b >= 0x20 && b < 0x7f && b !== 0x60 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')}\``;
}
