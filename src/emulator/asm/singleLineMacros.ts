// Single-line macro expansion (NASM manual 4.1): `%define name body` and `%define name(a,b) body`,
// rescanned after substitution but never re-expanding a macro inside its own expansion, plus the
// built-ins __?FILE?__ / __FILE__ and __?LINE?__ / __LINE__. Strings and comments are left alone.
import { LineOrigin } from './diagnostics';
import { isQuote, stringEnd } from './macroText';

export interface SingleLineMacro {
  readonly name: string;
  /** Parameter names for `%define f(x,y)`; undefined for a parameterless macro. */
  readonly params: readonly string[] | undefined;
  readonly body: string;
  readonly caseInsensitive: boolean;
}

const MAX_EXPANSION_DEPTH = 64;
const MAX_EXPANDED_LENGTH = 1 << 20;
const IDENT = /[A-Za-z_.?@$][\w$#@~.?]*/y;

export function expandSingleLineMacros(
  text: string,
  singles: ReadonlyMap<string, SingleLineMacro>,
  insensitive: ReadonlyMap<string, SingleLineMacro>,
  origin: LineOrigin,
  onError: (message: string) => void,
): string {
  // Fast path: most lines mention no macro at all (case-insensitive macros always take the slow path).
  if (insensitive.size === 0 && !text.includes('__')) {
    let mentioned = false;
    for (const name of singles.keys()) {
      if (text.includes(name)) {
        mentioned = true;
        break;
      }
    }
    if (!mentioned) return text;
  }
  const state = { reported: false };
  const report = (message: string): void => {
    if (!state.reported) onError(message);
    state.reported = true;
  };
  return expandText(text, singles, insensitive, origin, new Set(), 0, report);
}

function lookup(name: string, singles: ReadonlyMap<string, SingleLineMacro>, insensitive: ReadonlyMap<string, SingleLineMacro>): SingleLineMacro | undefined {
  return singles.get(name) ?? (insensitive.size > 0 ? insensitive.get(name.toLowerCase()) : undefined);
}

function expandText(
  text: string,
  singles: ReadonlyMap<string, SingleLineMacro>,
  insensitive: ReadonlyMap<string, SingleLineMacro>,
  origin: LineOrigin,
  active: Set<string>,
  depth: number,
  report: (message: string) => void,
): string {
  if (depth > MAX_EXPANSION_DEPTH) {
    report('single-line macro expansion nested too deeply (recursive %define?)');
    return text;
  }
  let out = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === ';') {
      out += text.slice(i);
      break;
    }
    if (isQuote(c)) {
      const end = stringEnd(text, i);
      out += text.slice(i, end + 1);
      i = end + 1;
      continue;
    }
    // A `%`-prefixed word (%1, %%x, %define) is not a single-line macro use.
    const prev = i > 0 ? text[i - 1]! : '';
    IDENT.lastIndex = i;
    const m = /[A-Za-z_.?@$]/.test(c) && prev !== '%' && !/[\w$#@~.?]/.test(prev) ? IDENT.exec(text) : null;
    if (!m) {
      out += c;
      i++;
      continue;
    }
    const name = m[0];
    let end = i + name.length;
    const builtin = builtinValue(name, origin);
    if (builtin !== undefined) {
      out += builtin;
      i = end;
      continue;
    }
    const macro = lookup(name, singles, insensitive);
    if (!macro || active.has(macro.name)) {
      out += name;
      i = end;
      continue;
    }
    let body = macro.body;
    if (macro.params !== undefined) {
      let k = end;
      while (k < n && (text[k] === ' ' || text[k] === '\t')) k++;
      if (text[k] !== '(') {
        out += name;
        i = end;
        continue;
      }
      const args = readArguments(text, k);
      if (!args) {
        report(`macro call \`${name}' is missing its closing parenthesis`);
        out += text.slice(i);
        break;
      }
      if (args.values.length !== macro.params.length && !(macro.params.length === 0 && args.values.length === 1 && args.values[0] === '')) {
        out += name;
        i = end;
        continue;
      }
      end = args.end;
      body = substituteArguments(body, macro.params, args.values);
    }
    active.add(macro.name);
    const expanded = expandText(body, singles, insensitive, origin, active, depth + 1, report);
    active.delete(macro.name);
    out += expanded;
    if (out.length > MAX_EXPANDED_LENGTH) {
      report('single-line macro expansion too long');
      return out.slice(0, MAX_EXPANDED_LENGTH);
    }
    i = end;
  }
  return out;
}

function builtinValue(name: string, origin: LineOrigin): string | undefined {
  if (!name.startsWith('__')) return undefined;
  switch (name) {
    case '__FILE__':
    case '__?FILE?__':
      return `'${origin.file}'`;
    case '__LINE__':
    case '__?LINE?__':
      return String(origin.line);
    case '__BITS__':
    case '__?BITS?__':
      return undefined;
    default:
      return undefined;
  }
}

/** Reads `( a, b(c), "d,e" )` from `open`; returns the argument texts and the index after `)`. */
function readArguments(text: string, open: number): { values: string[]; end: number } | undefined {
  const values: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j++;
      current += text.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '(') {
      if (depth++ > 0) current += c;
    } else if (c === ')') {
      if (--depth === 0) {
        values.push(current.trim());
        return { values, end: i + 1 };
      }
      current += c;
    } else if (c === ',' && depth === 1) {
      values.push(current.trim());
      current = '';
    } else current += c;
  }
  return undefined;
}

function substituteArguments(body: string, params: readonly string[], values: readonly string[]): string {
  return body.replace(/[A-Za-z_.?@$][\w$#@~.?]*/g, (word) => {
    const k = params.indexOf(word);
    return k >= 0 ? values[k]! : word;
  });
}
