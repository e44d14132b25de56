// Text transformations of the preprocessor: removing comments, splitting macro arguments on commas
// (NASM manual 4.3.3, with `{…}` grouping), substituting multi-line macro parameters (%0, %00, %N,
// %{N}, %+N/%-N, %%label; manual 4.3) and pasting tokens joined by `%+` (manual 4.1.4).

/** Removes a `;` comment (outside quotes) and trailing blanks. */
export function stripComment(text: string): string {
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = '';
      else if (quote === '`' && c === '\\') i++;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === ';') return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
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
    if (c === '"' || c === "'" || c === '`') {
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
    } else if (c === '"' || c === "'" || c === '`') {
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
