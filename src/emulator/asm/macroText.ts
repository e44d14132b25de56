// Text transformations of the preprocessor: removing comments, splitting macro arguments on commas
// (NASM manual 4.3.3, with `{…}` grouping), substituting multi-line macro parameters (%0, %00, %N,
// %{N}, %+N/%-N, %%label; manual 4.3), pasting tokens joined by `%+` (manual 4.1.4) and indirect
// macro expansion `%[...]` (manual 4.1.3).

export function isQuote(c: string): boolean {
  return c === '"' || c === "'" || c === '`';
}

/**
 * Index of the quote closing the string literal that opens at `open` (backquoted strings take `\`
 * escapes, NASM manual 3.4.2), or the last index when the string is unterminated.
 */
export function stringEnd(text: string, open: number): number {
  const quote = text[open]!;
  for (let k = open + 1; k < text.length; k++) {
    const c = text[k]!;
    if (c === quote) return k;
    if (quote === '`' && c === '\\') k++;
  }
  return text.length - 1;
}

/** Removes a `;` comment (outside quotes) and trailing blanks. */
export function stripComment(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (isQuote(c)) i = stringEnd(text, i);
    else if (c === ';') return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** The warning NASM 2.16 gives for a `%[` without its `]` (the rest of the line is taken). */
export const UNTERMINATED_INDIRECT = "unterminated %[...] construct (missing `]') [-w+pp-open-brackets]";

/**
 * Replaces each `%[...]` outside strings and the comment by the single-line macro expansion of its
 * contents, innermost first (NASM manual 4.1.3). The result joins the text around it, so `Foo%[BITS]`
 * reads as the one identifier `Foo16`; trailing blanks inside the brackets are dropped and a macro that
 * expands to nothing leaves a blank, so its neighbours stay apart (nasm -E shows both). `unterminated`
 * gets the 0-based column of a `%[` whose `]` is missing; it then takes the rest of the line.
 */
export function expandIndirect(text: string, expand: (contents: string) => string, unterminated: (column: number) => void): string {
  let out = '';
  let k = 0;
  while (k < text.length) {
    const c = text[k]!;
    if (isQuote(c)) {
      const end = stringEnd(text, k);
      out += text.slice(k, end + 1);
      k = end + 1;
    } else if (c === ';') {
      return out + text.slice(k);
    } else if (c === '%' && text[k + 1] === '[') {
      const close = closingBracket(text, k + 2);
      if (close < 0) unterminated(k);
      const contents = expandIndirect(text.slice(k + 2, close < 0 ? text.length : close), expand, unterminated).trimEnd();
      const expanded = expand(contents);
      out += expanded === '' && contents !== '' ? ' ' : expanded;
      k = close < 0 ? text.length : close + 1;
    } else {
      out += c;
      k++;
    }
  }
  return out;
}

/** Index of the `]` that closes a bracket opened just before `from` (nested brackets and strings skipped), or -1. */
function closingBracket(text: string, from: number): number {
  let depth = 1;
  for (let k = from; k < text.length; k++) {
    const c = text[k]!;
    if (isQuote(c)) k = stringEnd(text, k);
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return k;
  }
  return -1;
}

/** Splits macro call arguments on commas outside quotes and `{…}` groups (braces are removed). */
export function splitMacroArguments(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      current += c;
      if (c === quote) quote = '';
      continue;
    }
    if (isQuote(c)) {
      quote = c;
      current += c;
    } else if (c === '{') {
      if (depth++ > 0) current += c;
    } else if (c === '}') {
      if (--depth > 0) current += c;
    } else if (c === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += c;
  }
  out.push(current.trim());
  return out;
}

/** Joins the tokens on either side of each `%+` outside string literals: `exc_ %+ 3` → `exc_3`. */
export function pasteTokens(text: string): string {
  let out = '';
  let quote = '';
  for (let k = 0; k < text.length; k++) {
    const c = text[k]!;
    if (quote !== '') {
      out += c;
      if (c === quote) quote = '';
    } else if (isQuote(c)) {
      quote = c;
      out += c;
    } else if (c === ';') {
      return out + text.slice(k);
    } else if (c === '%' && text[k + 1] === '+') {
      out = out.replace(/\s+$/, '');
      k += 1;
      while (text[k + 1] === ' ' || text[k + 1] === '\t') k++;
    } else out += c;
  }
  return out;
}

/** Condition codes and their inverses, for `%-N` (NASM manual 4.3.8). */
const INVERSE_CONDITIONS: Readonly<Record<string, string>> = {
  o: 'no', no: 'o', b: 'nb', nb: 'b', c: 'nc', nc: 'c', ae: 'nae', nae: 'ae', e: 'ne', ne: 'e', z: 'nz', nz: 'z',
  be: 'nbe', nbe: 'be', a: 'na', na: 'a', s: 'ns', ns: 's', p: 'np', np: 'p', pe: 'po', po: 'pe',
  l: 'nl', nl: 'l', ge: 'nge', nge: 'ge', le: 'nle', nle: 'le', g: 'ng', ng: 'g',
};

/** Replaces %0, %00, %N, %{N}, %+N/%-N, %%label and %+ in a macro body line (NASM manual 4.3). */
export function substituteParameters(text: string, params: readonly string[], given: number, unique: number, label = ''): string {
  if (!text.includes('%')) return text;
  let out = text.replace(/%%([A-Za-z_.?@$][\w$#@~.?]*)|%\{(-?\d+)\}|%([+-])(\d+)|%(\d+)/g, (all, local: string | undefined, braced: string | undefined, sign: string | undefined, cc: string | undefined, plain: string | undefined) => {
    if (local !== undefined) return `..@${unique}.${local}`;
    if (cc !== undefined) {
      // A condition-code parameter, inverted by `%-N`.
      const code = (params[Number(cc) - 1] ?? '').trim();
      return sign === '-' ? INVERSE_CONDITIONS[code.toLowerCase()] ?? code : code;
    }
    if (plain === '00') return label;
    const n = Number(braced ?? plain);
    if (n === 0 && (braced ?? plain) === '0') return String(given);
    if (n > 0) return params[n - 1] ?? '';
    return all;
  });
  out = out.replace(/\s*%\+\s*/g, '');
  return out;
}
