// The extension activates in the real Node extension host, on its activation events, and reports how long
// activation took (wall time around `activate()` as seen from the host, and the time inside activate).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fixtureUri, hyperStep } from './helpers';

suite('activation (node extension host)', () => {
  test('is not activated by an unrelated file', async () => {
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(fixtureUri('notes.txt')));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(hyperStep().isActive, false, 'HyperStep activated without one of its activation events');
  });

  test('activates on opening an .asm file and returns its API', async () => {
    const extension = hyperStep();
    const started = Date.now();
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(fixtureUri('hello.asm')));
    const api = await extension.activate();
    const wallMs = Date.now() - started;
    assert.equal(extension.isActive, true);
    assert.equal(api.host, 'node');
    assert.equal(api.debugType, 'hyperstep');
    assert.equal(api.languageId, 'hyperstep-nasm');
    assert.ok(Number.isFinite(api.activatedInMs) && api.activatedInMs >= 0, `activatedInMs = ${api.activatedInMs}`);
    // Parsed by scripts/vscode/run-vscode-tests.mjs into its summary.
    console.log(`HYPERSTEP_ACTIVATION host=node activateMs=${api.activatedInMs} openToActiveMs=${wallMs}`);
  });
});
