// Test helper: loads the generated grammar with vscode-textmate + vscode-oniguruma (the engine VS Code uses)
// and tokenizes text line by line, returning each token's text and scope stack.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

export const grammarPath = join(__dirname, '..', '..', 'syntaxes', 'hyperstep-nasm.tmLanguage.json');

export interface ScopedToken {
  readonly text: string;
  readonly scopes: readonly string[];
}

let grammarPromise: Promise<textmate.IGrammar> | undefined;

export function loadGrammar(): Promise<textmate.IGrammar> {
  grammarPromise ??= (async () => {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (text: string) => new oniguruma.OnigString(text),
      }),
      loadGrammar: async (scopeName: string) =>
        scopeName === 'source.asm.nasm.hyperstep'
          ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath)
          : null,
    });
    const grammar = await registry.loadGrammar('source.asm.nasm.hyperstep');
    if (!grammar) throw new Error(`could not load ${grammarPath}`);
    return grammar;
  })();
  return grammarPromise;
}

/** Tokens of every line of `source`, one array per line. */
export async function tokenizeLines(source: string): Promise<ScopedToken[][]> {
  const grammar = await loadGrammar();
  let state = textmate.INITIAL;
  return source.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    return result.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}
