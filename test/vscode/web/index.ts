// Entry point of the extension-host test run in the web-worker extension host (extensionDevelopmentKind
// = web): the browser bundle dist/web/extension.js must activate there with no Node API. Mocha is a Node
// test runner, so this bundle carries a minimal sequential runner; any failed check rejects `run()`,
// which VS Code reports as exit code 1.
import * as vscode from 'vscode';

const EXTENSION_ID = 'hyperstep-edu.hyperstep';

interface HyperStepApi { readonly host: string; readonly debugType: string; readonly languageId: string; readonly activatedInMs: number }

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

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
];

export async function run(): Promise<void> {
  let failed = 0;
  for (const [name, body] of checks) {
    try {
      await body();
      console.log(`  ✔ ${name}`);
    } catch (error) {
      failed++;
      console.log(`  ✗ ${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  console.log(`web extension host: ${checks.length - failed} passing, ${failed} failing`);
  if (failed > 0) throw new Error(`${failed} web extension-host check(s) failed`);
}
