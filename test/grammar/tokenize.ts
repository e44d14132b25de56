// Test helper: loads the generated grammar with vscode-textmate + vscode-oniguruma (the engine VS Code uses)
// and tokenizes text line by line, returning each token's text and scope stack, or its theme colour.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';

export const grammarPath = join(__dirname, '..', '..', 'syntaxes', 'hyperstep-nasm.tmLanguage.json');
const scopeName = 'source.asm.nasm.hyperstep';

export interface ScopedToken {
  readonly text: string;
  readonly scopes: readonly string[];
}

export interface ColouredToken {
  readonly text: string;
  /** Foreground colour the theme gives the token, upper-case #RRGGBB. */
  readonly foreground: string;
}

let onigurumaReady: Promise<void> | undefined;

async function loadGrammarWithTheme(theme?: textmate.IRawTheme): Promise<{ grammar: textmate.IGrammar; registry: textmate.Registry }> {
  onigurumaReady ??= (async () => {
    const wasm = readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  })();
  await onigurumaReady;
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text: string) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async (name: string) =>
      name === scopeName ? textmate.parseRawGrammar(readFileSync(grammarPath, 'utf8'), grammarPath) : null,
    ...(theme ? { theme } : {}),
  });
  const grammar = await registry.loadGrammar(scopeName);
  if (!grammar) throw new Error(`could not load ${grammarPath}`);
  return { grammar, registry };
}

let plainGrammar: Promise<textmate.IGrammar> | undefined;

export function loadGrammar(): Promise<textmate.IGrammar> {
  plainGrammar ??= loadGrammarWithTheme().then((loaded) => loaded.grammar);
  return plainGrammar;
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

/** Tokens of every line with the foreground colour `theme` gives them, as VS Code computes it. */
export async function colourLines(source: string, theme: textmate.IRawTheme): Promise<ColouredToken[][]> {
  const { grammar, registry } = await loadGrammarWithTheme(theme);
  const colourMap = registry.getColorMap();
  let state = textmate.INITIAL;
  return source.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine2(line, state);
    state = result.ruleStack;
    const tokens: ColouredToken[] = [];
    // tokenizeLine2 returns pairs (start offset, metadata); the foreground colour id sits at bits 15-23.
    for (let i = 0; i < result.tokens.length; i += 2) {
      const start = result.tokens[i]!;
      const end = i + 2 < result.tokens.length ? result.tokens[i + 2]! : line.length;
      const foregroundId = (result.tokens[i + 1]! & 0xff8000) >>> 15;
      tokens.push({ text: line.slice(start, end), foreground: (colourMap[foregroundId] ?? '').toUpperCase() });
    }
    return tokens;
  });
}
