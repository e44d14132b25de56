// The language server inside real VS Code (Node extension host): what a student sees in the editor —
// hover with the virtualization class, completion, live diagnostics after an edit with the range of the bad
// token, go to definition, document and workspace symbols, signature help and semantic tokens — asked through
// VS Code's own provider commands, so the client, the server process and VS Code's merging are all involved.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { fixtureUri, hyperStep, waitFor } from './helpers';

const GUEST = [
  '; language-server test guest (written by the test into the scratch workspace)',
  'COM1 equ 0x3F8',
  '%macro outb 2',
  '  mov dx, %1',
  '  mov al, %2',
  '  out dx, al',
  '%endmacro',
  'bits 32',
  'start:',
  '  cli',
  '  lgdt [gdtr]',
  '  mov eax, COM1',
  '  outb COM1, 65',
  '.spin:',
  '  jmp .spin',
  'gdtr: dw 0',
  '  dd 0',
  '',
].join('\n');

const hoverText = (hovers: vscode.Hover[]): string =>
  hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
const labelOf = (item: vscode.CompletionItem): string => (typeof item.label === 'string' ? item.label : item.label.label);

suite('language server (Node host)', () => {
  let uri: vscode.Uri;
  let document: vscode.TextDocument;

  suiteSetup(async function () {
    this.timeout(60_000);
    uri = fixtureUri('ls-guest.asm');
    await vscode.workspace.fs.writeFile(uri, new TextEncoder().encode(GUEST));
    // A library on disk that is never opened: workspace symbols must find it by walking the folder.
    await vscode.workspace.fs.writeFile(fixtureUri('lib/ls-serial.inc'), new TextEncoder().encode('%macro serial_write 2\n%endmacro\nSERIAL_LSR equ 5\n'));
    document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const api = (await hyperStep().activate()) as unknown as { languageServerReady: Promise<void> };
    await api.languageServerReady;
  });

  suiteTeardown(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('hover on an instruction shows its virtualization class and what the techniques do', async () => {
    const cli = await waitFor('hover on cli', async () => {
      const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(9, 3)));
      return text.includes('**cli**') ? text : undefined;
    }, 20_000);
    assert.match(cli, /I\/O-sensitive/);
    assert.match(cli, /#GP into the VMM/);
    const lgdt = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(10, 3)));
    assert.match(lgdt, /\*\*lgdt\*\* — privileged/);
    assert.match(lgdt, /\*trap-and-emulate\*: \S/);
    const constant = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(11, 12)));
    assert.match(constant, /COM1 equ 0x3F8/);
  });

  test('completion offers mnemonics with their class, registers and the document labels', async () => {
    const atMnemonic = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, new vscode.Position(9, 2));
    const lgdt = atMnemonic.items.find((i) => labelOf(i) === 'lgdt');
    assert.ok(lgdt, 'lgdt is offered at the mnemonic position');
    assert.equal(lgdt.detail, 'privileged');
    assert.ok(atMnemonic.items.some((i) => labelOf(i) === 'outb'), 'the document macro is offered as an instruction');
    const atOperand = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', uri, new vscode.Position(11, 11));
    const labels = new Set(atOperand.items.map(labelOf));
    for (const expected of ['eax', 'cr3', 'COM1', 'start', 'gdtr']) assert.ok(labels.has(expected), `operand completion lacks ${expected}`);
  });

  test('a malformed line gets a diagnostic with the range of the bad token, and loses it when fixed', async () => {
    const editor = await vscode.window.showTextDocument(document);
    const line = 12;
    const original = document.lineAt(line).text;
    await editor.edit((b) => b.replace(document.lineAt(line).range, '  frobnicate eax, 3'));
    try {
      const diagnostic = await waitFor('a diagnostic on the edited line', () => vscode.languages.getDiagnostics(uri).find((d) => d.range.start.line === line), 20_000);
      assert.equal(diagnostic.severity, vscode.DiagnosticSeverity.Error);
      assert.equal(diagnostic.source, 'hyperstep-asm');
      assert.deepEqual([diagnostic.range.start.character, diagnostic.range.end.line, diagnostic.range.end.character], [2, line, 12]); // `frobnicate`
    } finally {
      await editor.edit((b) => b.replace(document.lineAt(line).range, original));
    }
    await waitFor('the diagnostics to clear', () => (vscode.languages.getDiagnostics(uri).length === 0 ? true : undefined), 20_000);
  });

  test('go to definition jumps from a use to the label, the local label and the constant', async () => {
    const target = async (line: number, character: number): Promise<number> => {
      const result = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', uri, new vscode.Position(line, character));
      assert.equal(result.length, 1, `definitions at ${line}:${character}`);
      const first = result[0]!;
      return 'targetRange' in first ? first.targetRange.start.line : first.range.start.line;
    };
    assert.equal(await target(10, 9), 15); // gdtr
    assert.equal(await target(14, 8), 13); // .spin
    assert.equal(await target(11, 12), 1); // COM1
  });

  test('document symbols nest local labels; workspace symbols include unopened files on disk', async () => {
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri);
    assert.deepEqual(symbols.map((s) => s.name), ['COM1', 'outb', 'start', 'gdtr']);
    assert.deepEqual(symbols[2]!.children.map((c) => c.name), ['.spin']);
    const found = await vscode.commands.executeCommand<vscode.SymbolInformation[]>('vscode.executeWorkspaceSymbolProvider', 'serial_write');
    const macro = found.find((s) => s.name === 'serial_write');
    assert.ok(macro, `workspace symbols: ${found.map((s) => s.name).join(', ')}`);
    assert.match(macro.location.uri.path, /lib\/ls-serial\.inc$/);
  });

  test('signature help shows the macro parameter being typed', async () => {
    const help = await vscode.commands.executeCommand<vscode.SignatureHelp>('vscode.executeSignatureHelpProvider', uri, new vscode.Position(12, 13), ',');
    assert.ok(help, 'no signature help');
    assert.equal(help.signatures[help.activeSignature]!.label, 'outb %1, %2');
    assert.equal(help.activeParameter, 1);
  });

  test('semantic tokens set privileged and I/O-sensitive instructions apart from innocuous ones', async () => {
    const legend = await vscode.commands.executeCommand<vscode.SemanticTokensLegend>('vscode.provideDocumentSemanticTokensLegend', uri);
    const tokens = await vscode.commands.executeCommand<vscode.SemanticTokens>('vscode.provideDocumentSemanticTokens', uri);
    assert.ok(legend && tokens, 'no semantic tokens');
    const modifiersAt = new Map<string, string[]>();
    let line = 0;
    let start = 0;
    for (let i = 0; i < tokens.data.length; i += 5) {
      line += tokens.data[i]!;
      start = tokens.data[i]! === 0 ? start + tokens.data[i + 1]! : tokens.data[i + 1]!;
      modifiersAt.set(`${line}:${start}`, legend.tokenModifiers.filter((_, bit) => (tokens.data[i + 4]! >> bit) & 1));
    }
    assert.deepEqual(modifiersAt.get('9:2'), ['ioSensitive']); // cli
    assert.deepEqual(modifiersAt.get('10:2'), ['privileged']); // lgdt
    assert.deepEqual(modifiersAt.get('11:2'), []); // mov
  });
});
