// Entry point of the extension-host test run in the web-worker extension host (extensionDevelopmentKind
// = web): the browser bundle dist/web/extension.js must activate there with no Node API. Mocha is a Node
// test runner, so this bundle carries a minimal sequential runner; any failed check rejects `run()`,
// which VS Code reports as exit code 1. The debug checks (debug.ts) stop on a breakpoint with the .asm opened;
// the views checks (views.ts) debug a guest on the inline adapter and open the webviews.
import * as vscode from 'vscode';
import { debugChecks } from './debug';
import { viewChecks } from './views';

const EXTENSION_ID = 'hyperstep-edu.hyperstep';
/** Longest a single check may take (the compare check runs two techniques headless). */
const CHECK_TIMEOUT_MS = 90_000;

interface HyperStepApi { readonly host: string; readonly debugType: string; readonly languageId: string; readonly activatedInMs: number; readonly languageServerReady: Promise<void> }

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hoverText = (hovers: vscode.Hover[]): string =>
  hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');

const checks: [string, () => Promise<void>][] = [
  ['the extension runs in the web-worker host and activates on an .asm file', async () => {
    const extension = vscode.extensions.getExtension<HyperStepApi>(EXTENSION_ID);
    check(extension, `${EXTENSION_ID} is not loaded in the web extension host`);
    check(extension.extensionKind === vscode.ExtensionKind.UI || extension.extensionKind === vscode.ExtensionKind.Workspace, 'unknown extension kind');
    const folder = vscode.workspace.workspaceFolders?.[0];
    check(folder, 'no workspace folder');
    const started = Date.now();
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder.uri, 'hello.asm'));
    await vscode.window.showTextDocument(document);
    const api = await extension.activate();
    const wallMs = Date.now() - started;
    check(api.host === 'web', `activated the ${api.host} entry, expected the web (browser) entry`);
    check(api.debugType === 'hyperstep' && api.languageId === 'hyperstep-nasm', 'unexpected API identifiers');
    check(document.languageId === 'hyperstep-nasm', `hello.asm has language ${document.languageId}`);
    console.log(`HYPERSTEP_ACTIVATION host=web activateMs=${api.activatedInMs} openToActiveMs=${wallMs}`);
  }],
  ['the web host has no Node process object (so the bundle is really the browser one)', async () => {
    check(typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node !== 'string', 'running in Node, not in a web worker');
  }],
  ['the language server starts in a worker of the web host and answers hover, completion, diagnostics and workspace symbols', async () => {
    const extension = vscode.extensions.getExtension<HyperStepApi>(EXTENSION_ID);
    check(extension, `${EXTENSION_ID} is not loaded`);
    const api = await extension.activate();
    const started = Date.now();
    await api.languageServerReady;
    const folder = vscode.workspace.workspaceFolders![0]!;
    const uri = vscode.Uri.joinPath(folder.uri, 'hello.asm');
    // hello.asm line 6 is `    cli`: hover comes from the server in the worker (no other provider knows the class).
    const hover = await waitFor('a hover on cli', async () => {
      const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(5, 5)));
      return /I\/O-sensitive/.test(text) ? text : undefined;
    });
    check(/\*\*cli\*\*/.test(hover), `hover text: ${hover}`);
    const completion = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, new vscode.Position(6, 4));
    const labels = new Set(completion.items.map((i) => (typeof i.label === 'string' ? i.label : i.label.label)));
    check(labels.has('lgdt') && labels.has('vmcall'), `completion lacks mnemonics: ${[...labels].slice(0, 20).join(' ')}`);
    // The web worker has no disk: an untitled guest is assembled from the editor's text alone.
    const scratch = await vscode.workspace.openTextDocument({ language: 'hyperstep-nasm', content: 'bits 32\nstart:\n  frobnicate eax\n' });
    const diagnostics = await waitFor('diagnostics on the untitled guest', async () => {
      const list = vscode.languages.getDiagnostics(scratch.uri);
      return list.length > 0 ? list : undefined;
    });
    check(diagnostics[0]!.range.start.line === 2, `diagnostic range: ${JSON.stringify(diagnostics[0]!.range)}`);
    // Workspace symbols in the worker come from the open documents (no disk to walk): hello.asm is open.
    const symbols = await vscode.commands.executeCommand<vscode.SymbolInformation[]>('vscode.executeWorkspaceSymbolProvider', '_start');
    check(symbols.some((s) => s.name === '_start' && s.location.uri.path.endsWith('/hello.asm')), `workspace symbols: ${symbols.map((s) => s.name).join(', ')}`);
    console.log(`HYPERSTEP_LANGUAGE_SERVER host=web readyAfterMs=${Date.now() - started}`);
  }],
  ...debugChecks(check, waitFor),
  ...viewChecks(EXTENSION_ID, check, waitFor),
];

export async function run(): Promise<void> {
  let failed = 0;
  for (const [name, body] of checks) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // A hung workbench call fails its check (and the run goes on) instead of timing out the whole run.
      await Promise.race([body(), new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no result after ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS); })]);
      console.log(`  ✔ ${name}`);
    } catch (error) {
      failed++;
      console.log(`  ✗ ${name}: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  console.log(`web extension host: ${checks.length - failed} passing, ${failed} failing`);
  if (failed > 0) throw new Error(`${failed} web extension-host check(s) failed`);
}
