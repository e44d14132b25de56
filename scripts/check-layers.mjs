// Enforces HyperStep's layering at build time (run by `npm run build`):
//   - only src/extension may import 'vscode' or the language client;
//   - src/emulator is pure TypeScript: no Node built-ins, no DAP, no LSP, no vscode, nothing outside itself;
//   - src/debug-adapter never imports vscode, the extension or the language server;
//   - src/language-server never imports vscode, DAP, the extension or the debug adapter.
// Usage: node scripts/check-layers.mjs [rootDir]   (rootDir defaults to the repository; tests pass a fixture)
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';
import { builtinModules } from 'node:module';
import ts from 'typescript';

const root = resolve(process.argv[2] ?? '.');
const srcRoot = join(root, 'src');
const nodeBuiltins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const isNode = (s) => nodeBuiltins.has(s) || s.startsWith('node:');
const isVscode = (s) => s === 'vscode';
const isLanguageClient = (s) => s.startsWith('vscode-languageclient');
const isLanguageServer = (s) => s.startsWith('vscode-languageserver');
const isDap = (s) => s.startsWith('@vscode/debugadapter') || s.startsWith('@vscode/debugprotocol');

/** Which folder of src/ a file belongs to ('extension', 'emulator', …). */
function layerOf(absPath) {
  const rel = relative(srcRoot, absPath);
  if (rel.startsWith('..')) return undefined;
  return rel.split(sep)[0];
}

/** Rules: for each layer, a list of [predicate on (specifier, targetLayer), message]. */
const rules = {
  emulator: [
    [(s) => isVscode(s), "the emulator must not import 'vscode'"],
    [(s) => isNode(s), 'the emulator must not import Node built-ins (it runs in workers and browsers)'],
    [(s) => isDap(s), 'the emulator must not import the Debug Adapter Protocol libraries'],
    [(s) => isLanguageServer(s) || isLanguageClient(s), 'the emulator must not import LSP libraries'],
    [(s, target) => target !== undefined && target !== 'emulator', 'the emulator must not import other layers of src/'],
  ],
  'debug-adapter': [
    [(s) => isVscode(s), "the debug adapter must never import 'vscode' (it also runs standalone)"],
    [(s) => isLanguageClient(s) || isLanguageServer(s), 'the debug adapter must not import LSP libraries'],
    [(s, target) => target === 'extension' || target === 'language-server', 'the debug adapter must not import the extension or the language server'],
  ],
  'language-server': [
    [(s) => isVscode(s) || isLanguageClient(s), "the language server must not import 'vscode' or the language client"],
    [(s) => isDap(s), 'the language server must not import the Debug Adapter Protocol libraries'],
    [(s, target) => target === 'extension' || target === 'debug-adapter', 'the language server must not import the extension or the debug adapter'],
  ],
  cli: [
    [(s) => isVscode(s) || isLanguageClient(s), "the CLI must not import 'vscode'"],
    [(s, target) => target === 'extension', 'the CLI must not import the extension'],
  ],
};
const anyOutsideExtension = [(s) => isVscode(s) || isLanguageClient(s), "only src/extension may import 'vscode' or the language client"];

function* tsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (/\.(ts|tsx|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) yield p;
  }
}

const violations = [];
if (existsSync(srcRoot)) {
  for (const file of tsFiles(srcRoot)) {
    const layer = layerOf(file);
    if (layer === 'extension') continue;
    if (file.endsWith('.test.ts')) continue; // colocated unit tests may use Node's test helpers
    const text = readFileSync(file, 'utf8');
    const info = ts.preProcessFile(text, true, true);
    const specs = [...info.importedFiles, ...info.referencedFiles.map((r) => ({ ...r, fileName: r.fileName }))];
    for (const imp of specs) {
      const s = imp.fileName;
      const target = s.startsWith('.') ? layerOf(resolve(dirname(file), s)) ?? 'outside-src' : undefined;
      const list = [...(rules[layer] ?? []), anyOutsideExtension];
      for (const [pred, message] of list) {
        if (pred(s, target)) {
          const { line, character } = ts.getLineAndCharacterOfPosition(ts.createSourceFile(file, text, ts.ScriptTarget.Latest), imp.pos);
          violations.push(`${relative(root, file)}:${line + 1}:${character + 1}: '${s}': ${message}`);
          break;
        }
      }
    }
  }
}
if (violations.length) {
  console.error(`layering check failed (${violations.length}):\n  ` + violations.join('\n  '));
  process.exit(1);
}
console.log('layering check: ok');
