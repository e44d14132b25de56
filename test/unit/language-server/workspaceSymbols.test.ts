// In-process LSP tests of workspace symbols: open documents plus the .asm/.inc files the Node host finds
// on disk under the workspace folders (a real temporary folder, read through the Node server's own file
// functions), with the editor's copy of an open file winning over the disk.
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type LspTestClient } from './lspClient';
import { listWorkspaceFiles, readFile } from '../../../src/language-server/nodeFiles';
import { pathToUri } from '../../../src/language-server/features/diagnostics';
import { WorkspaceIndex } from '../../../src/language-server/analysis/workspaceIndex';

interface SymbolInfo { name: string; kind: number; containerName?: string; location: { uri: string; range: { start: { line: number } } } }

describe('language server: workspace symbols', () => {
  let client: LspTestClient;
  let root: string;
  let walks = 0;
  const symbols = (query: string) => client.rpc.sendRequest('workspace/symbol', { query }) as Promise<SymbolInfo[]>;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'hs-ls-ws-'));
    mkdirSync(join(root, 'lib'));
    mkdirSync(join(root, 'node_modules', 'junk'), { recursive: true });
    mkdirSync(join(root, '.git'));
    writeFileSync(join(root, 'lib', 'console.inc'), '%macro serial_out 1\n%endmacro\nCOM1_PORT equ 0x3F8\nputs:\n.next:\n  ret\n');
    writeFileSync(join(root, 'kernel.asm'), 'kernel_main:\n  jmp kernel_main\n');
    writeFileSync(join(root, 'notes.txt'), 'not_a_symbol:\n');
    writeFileSync(join(root, 'node_modules', 'junk', 'x.asm'), 'vendored_label:\n');
    writeFileSync(join(root, '.git', 'y.asm'), 'hidden_label:\n');
    // The folder walk is reused for LISTING_TTL_MS in use; 0 here so a change on disk shows at once.
    const countingList: typeof listWorkspaceFiles = (folders) => (walks++, listWorkspaceFiles(folders));
    client = await startTestServer({ readFile, listWorkspaceFiles: countingList, listingTtlMs: 0 }, undefined, [{ uri: pathToUri(root), name: 'ws' }]);
    await client.open('file:///elsewhere/open.asm', 'open_label:\n%define TICKS 100\n');
  });
  after(async () => {
    await client.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('lists labels, macros and constants of open documents and of guest sources on disk', async () => {
    const all = await symbols('');
    const names = all.map((s) => s.name).sort();
    assert.deepEqual(names, ['COM1_PORT', 'TICKS', 'kernel_main', 'open_label', 'puts', 'serial_out']);
    const macro = all.find((s) => s.name === 'serial_out')!;
    assert.equal(macro.kind, 6); // SymbolKind.Method
    assert.equal(macro.location.uri, pathToUri(join(root, 'lib', 'console.inc')));
    assert.equal(macro.containerName, 'macro 1');
    const constant = all.find((s) => s.name === 'COM1_PORT')!;
    assert.equal(constant.kind, 14); // SymbolKind.Constant
    assert.equal(constant.location.range.start.line, 2);
    assert.equal(constant.containerName, '= 0x3F8');
  });

  it('filters by the query the way the editor matches (in order, any case)', async () => {
    assert.deepEqual((await symbols('kmain')).map((s) => s.name), ['kernel_main']);
    assert.deepEqual((await symbols('COM')).map((s) => s.name), ['COM1_PORT']);
    assert.deepEqual(await symbols('zzz'), []);
  });

  it('sees a file change on disk, and prefers the open editor copy of a workspace file', async () => {
    const kernel = join(root, 'kernel.asm');
    writeFileSync(kernel, 'kernel_entry:\n');
    utimesSync(kernel, new Date(), new Date(Date.now() + 5000)); // a later mtime even on coarse clocks
    assert.deepEqual((await symbols('kernel')).map((s) => s.name), ['kernel_entry']);
    await client.open(pathToUri(kernel), 'kernel_edited:\n');
    assert.deepEqual((await symbols('kernel')).map((s) => s.name), ['kernel_edited']);
  });

  it('uses workspace macros for signature help in a document that does not define them', async () => {
    await client.open('file:///elsewhere/user.asm', 'start:\n  serial_out ');
    const help = (await client.rpc.sendRequest('textDocument/signatureHelp', { textDocument: { uri: 'file:///elsewhere/user.asm' }, position: { line: 1, character: 13 } })) as { signatures: { label: string }[] } | null;
    assert.equal(help?.signatures[0]?.label, 'serial_out %1');
  });

  it('does not walk the disk for signature help on an instruction, and reuses one walk within its lifetime', async () => {
    await client.open('file:///elsewhere/insn.asm', 'start:\n  mov eax, ');
    const before = walks;
    const help = (await client.rpc.sendRequest('textDocument/signatureHelp', { textDocument: { uri: 'file:///elsewhere/insn.asm' }, position: { line: 1, character: 11 } })) as { signatures: unknown[] } | null;
    assert.ok(help && help.signatures.length > 0);
    assert.equal(walks, before, 'mov is an instruction: no workspace walk');
    const index = new WorkspaceIndex({ readFile, listWorkspaceFiles: (folders) => (walks++, listWorkspaceFiles(folders)) });
    index.setFolders([root]);
    const start = walks;
    for (let i = 0; i < 5; i++) index.files(() => false);
    assert.equal(walks - start, 1, 'five requests in a burst walk the folders once');
  });
});
