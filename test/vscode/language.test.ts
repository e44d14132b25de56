// Guest sources get HyperStep's language (and so its grammar, snippets, breakpoints and debugger).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fixtureUri } from './helpers';
// The language-server suite lives in its own file; this import registers it with the extension-host run.
import './languageServer.test';

suite('language', () => {
  test('.asm files get the hyperstep-nasm language', async () => {
    const document = await vscode.workspace.openTextDocument(fixtureUri('hello.asm'));
    assert.equal(document.languageId, 'hyperstep-nasm');
  });

  test('.inc files get the hyperstep-nasm language', async () => {
    const document = await vscode.workspace.openTextDocument(fixtureUri('macros.inc'));
    assert.equal(document.languageId, 'hyperstep-nasm');
  });

  test('the language is registered under its id', async () => {
    const languages = await vscode.languages.getLanguages();
    assert.ok(languages.includes('hyperstep-nasm'), `registered languages: ${languages.join(', ')}`);
  });

  test('the language configuration makes ; a line comment', async () => {
    const document = await vscode.workspace.openTextDocument(fixtureUri('macros.inc'));
    const editor = await vscode.window.showTextDocument(document);
    const line = document.lineAt(1);
    editor.selection = new vscode.Selection(line.range.start, line.range.start);
    await vscode.commands.executeCommand('editor.action.addCommentLine');
    try {
      assert.match(document.lineAt(1).text, /^;\s*%define COM1/);
    } finally {
      await vscode.commands.executeCommand('undo');
    }
  });
});
