// Test helper: expands a VS Code snippet body the way accepting every default would (snippet syntax:
// https://code.visualstudio.com/docs/editing/userdefinedsnippets#_snippet-syntax). Tabstops `$n` / `${n}`
// take the default of their placeholder, `${n:default}` its (recursively expanded) default, `${n|a,b|}` the
// first choice, variables their default or ''. `\$`, `\}` and `\\` are escapes. Throws on malformed bodies
// and on a tabstop given two different defaults, which VS Code would show inconsistently. `typed` gives the
// text a user would type into a tabstop instead of its default.

export function expandSnippet(body: string | readonly string[], typed: Readonly<Record<string, string>> = {}): string {
  const text = typeof body === 'string' ? body : body.join('\n');
  const defaults = new Map<string, string>();
  let i = 0;

  function parse(stopAtBrace: boolean): string {
    let result = '';
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\' && i + 1 < text.length && '$}\\'.includes(text[i + 1]!)) {
        result += text[i + 1];
        i += 2;
      } else if (c === '}' && stopAtBrace) {
        return result;
      } else if (c === '$') {
        result += parseDollar();
      } else {
        result += c;
        i++;
      }
    }
    if (stopAtBrace) throw new Error(`unterminated \${ in snippet at offset ${i}`);
    return result;
  }

  function parseDollar(): string {
    const simple = /^\$(\d+|[A-Za-z_]\w*)/.exec(text.slice(i));
    if (simple) {
      i += simple[0].length;
      return reference(simple[1]!);
    }
    const open = /^\$\{(\d+|[A-Za-z_]\w*)/.exec(text.slice(i));
    if (!open) throw new Error(`bare $ at offset ${i}: escape NASM's $ as \\$ in snippets`);
    const id = open[1]!;
    i += open[0].length;
    const next = text[i];
    if (next === '}') {
      i++;
      return reference(id);
    }
    if (next === '|') {
      const end = text.indexOf('|}', i + 1);
      if (end < 0) throw new Error(`unterminated choice for ${id}`);
      const first = text.slice(i + 1, end).split(',')[0]!;
      i = end + 2;
      return define(id, first);
    }
    if (next === ':') {
      i++;
      const value = parse(true);
      i++; // the closing brace
      return define(id, value);
    }
    throw new Error(`unsupported snippet syntax after \${${id} at offset ${i}`);
  }

  function define(id: string, value: string): string {
    const previous = defaults.get(id);
    if (previous !== undefined && previous !== value) {
      throw new Error(`tabstop ${id} has two defaults: '${previous}' and '${value}'`);
    }
    defaults.set(id, value);
    return typed[id] ?? value;
  }

  function reference(id: string): string {
    // A bare tabstop mirrors its placeholder, which may come later in the body: resolve after parsing.
    return `\u0000${id}\u0000`;
  }

  return parse(false).replace(/\u0000(\w+)\u0000/g, (_, id: string) => typed[id] ?? defaults.get(id) ?? '');
}
