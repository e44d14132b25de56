// Shared helpers for the extension-host suites: the extension under test, the fixture workspace and
// a way to wait for VS Code state that settles asynchronously.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

export const EXTENSION_ID = 'hyperstep-edu.hyperstep';

/** What src/extension's `activate` returns (kept structural so the tests do not import extension code). */
export interface HyperStepApi {
  readonly host: 'node' | 'web';
  readonly debugType: string;
  readonly languageId: string;
  readonly activatedInMs: number;
}

export function hyperStep(): vscode.Extension<HyperStepApi> {
  const extension = vscode.extensions.getExtension<HyperStepApi>(EXTENSION_ID);
  assert.ok(extension, `${EXTENSION_ID} is not loaded in this extension host`);
  return extension;
}

/** The first workspace folder: the test runner opens a scratch copy of test/vscode/fixtures/workspace. */
export function workspaceFolder(): vscode.WorkspaceFolder {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the tests need a workspace folder (the runner opens fixtures/workspace)');
  return folder;
}

export function fixtureUri(name: string): vscode.Uri {
  return vscode.Uri.joinPath(workspaceFolder().uri, name);
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
