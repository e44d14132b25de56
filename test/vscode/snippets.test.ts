// The snippets contributed for hyperstep-nasm reach the completion list of an .asm editor. The expected
// prefixes are read from the extension's own snippets file, so the test follows that file's content.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { hyperStep } from './helpers';

interface SnippetEntry { readonly prefix: string | readonly string[] }

async function contributedPrefixes(): Promise<string[]> {
  const extension = hyperStep();
  const contributed = (extension.packageJSON.contributes?.snippets ?? []) as { language: string; path: string }[];
  const prefixes: string[] = [];
  for (const entry of contributed.filter((s) => s.language === 'hyperstep-nasm')) {
    const bytes = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(extension.extensionUri, entry.path));
    const snippets = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, SnippetEntry>;
    for (const snippet of Object.values(snippets)) prefixes.push(...[snippet.prefix].flat());
  }
  return prefixes;
}

suite('snippets', () => {
  test('the extension contributes snippets for hyperstep-nasm', async () => {
    const prefixes = await contributedPrefixes();
    assert.ok(prefixes.length > 0, 'snippets/hyperstep-nasm.code-snippets defines no snippet');
  });

  test('an .asm editor offers the contributed snippets as completions', async () => {
    const prefixes = await contributedPrefixes();
    assert.ok(prefixes.length > 0, 'no snippet prefixes to look for');
    const document = await vscode.workspace.openTextDocument({ language: 'hyperstep-nasm', content: '\n' });
    await vscode.window.showTextDocument(document);
    const list = await vscode.commands.executeCommand<vscode.CompletionList>(
      'vscode.executeCompletionItemProvider', document.uri, new vscode.Position(0, 0),
    );
    const snippetLabels = new Set(
      list.items
        .filter((item) => item.kind === vscode.CompletionItemKind.Snippet)
        .map((item) => (typeof item.label === 'string' ? item.label : item.label.label)),
    );
    const missing = prefixes.filter((p) => !snippetLabels.has(p));
    assert.deepEqual(missing, [], `snippets not offered (offered: ${[...snippetLabels].join(', ') || 'none'})`);
  });
});
