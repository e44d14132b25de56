// In-process LSP tests: every editor feature of the language server, through the protocol.
import { strict as assert } from 'node:assert';
import { startTestServer, type LspTestClient } from './lspClient';
import { SEMANTIC_LEGEND } from '../../../src/language-server/features/semanticTokens';

const URI = 'file:///guest/kernel.asm';
const SOURCE = [
  '; COM1 data port',
  'COM1 equ 0x3F8',
  '%define SHARED_INFO 0x9000',
  '%macro outb 2',
  '  mov dx, %1',
  '  mov al, %2',
  '  out dx, al',
  '%endmacro',
  'section .text',
  'bits 32',
  'start:',
  '  cli',
  '  lgdt [gdtr]',
  '  mov eax, COM1',
  '.loop:',
  '  pushf',
  '  jmp .loop',
  '  int 0x82',
  '  vmcall',
  '  outb COM1, 65',
  'other:',
  '.loop:',
  '  jmp start',
].join('\n');

const pos = (line: number, character: number) => ({ line, character });

describe('language server over LSP', () => {
  let client: LspTestClient;
  before(async () => {
    client = await startTestServer();
    await client.open(URI, SOURCE);
  });
  after(() => client.close());

  const request = <T>(method: string, params: object) => client.rpc.sendRequest(method, { textDocument: { uri: URI }, ...params }) as Promise<T>;

  it('hover on an instruction explains its class, forms and flags from the instruction table', async () => {
    const cli = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(11, 3) });
    assert.match(cli.contents.value, /\*\*cli\*\* — I\/O-sensitive/);
    assert.match(cli.contents.value, /`FA` \| IF \|/);
    assert.match(cli.contents.value, /#GP into the VMM/);
    const lgdt = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(12, 3) });
    assert.match(lgdt.contents.value, /\*\*lgdt\*\* — privileged/);
    assert.match(lgdt.contents.value, /traps into the VMM/);
    // The per-technique notes come from the instruction table's docs (src/emulator/isa/docs.ts).
    for (const technique of ['trap-and-emulate', 'binary translation', 'paravirtual', 'VT-x']) assert.match(lgdt.contents.value, new RegExp(`\\*${technique}\\*: \\S`));
  });

  it('hover on pushf names it sensitive but unprivileged (Robin & Irvine)', async () => {
    const hover = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(15, 3) });
    assert.match(hover.contents.value, /sensitive, unprivileged/);
    assert.match(hover.contents.value, /Robin & Irvine/);
  });

  it('hover on int 0x82 explains the hypercall ABI; on a constant shows its value; on a register its role', async () => {
    const hc = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(17, 3) });
    assert.match(hc.contents.value, /paravirtual hypercall gate/);
    const c = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(13, 12) });
    assert.match(c.contents.value, /COM1 equ 0x3F8/);
    assert.match(c.contents.value, /COM1 data port/);
    const r = await request<{ contents: { value: string } }>('textDocument/hover', { position: pos(13, 7) });
    assert.match(r.contents.value, /\*\*eax\*\*/);
  });

  it('goes to the definition of a local label in its own scope, and of a constant', async () => {
    const local = await request<{ range: { start: { line: number } } }>('textDocument/definition', { position: pos(16, 8) });
    assert.equal(local.range.start.line, 14);
    const constant = await request<{ range: { start: { line: number } } }>('textDocument/definition', { position: pos(19, 8) });
    assert.equal(constant.range.start.line, 1);
  });

  it('finds references and renames a label everywhere it is used', async () => {
    const refs = await request<unknown[]>('textDocument/references', { position: pos(10, 1), context: { includeDeclaration: true } });
    assert.equal(refs.length, 2); // start: and jmp start
    const edit = await request<{ changes: Record<string, { newText: string; range: { start: { line: number } } }[]> }>('textDocument/rename', { position: pos(22, 8), newName: 'entry' });
    assert.deepEqual(edit.changes[URI]!.map((e) => [e.range.start.line, e.newText]), [[10, 'entry'], [22, 'entry']]);
    await assert.rejects(request('textDocument/rename', { position: pos(10, 1), newName: '9bad' }), /not a valid NASM identifier/);
  });

  it('lists document symbols with local labels nested under their global label', async () => {
    const symbols = await request<{ name: string; children: { name: string }[] }[]>('textDocument/documentSymbol', {});
    const names = symbols.map((s) => s.name);
    assert.deepEqual(names, ['COM1', 'SHARED_INFO', 'outb', 'start', 'other']);
    assert.deepEqual(symbols[3]!.children.map((c) => c.name), ['.loop']);
  });

  it('folds macros and sections', async () => {
    const ranges = await request<{ startLine: number; endLine: number }[]>('textDocument/foldingRange', {});
    assert.ok(ranges.some((r) => r.startLine === 3 && r.endLine === 6), JSON.stringify(ranges));
    assert.ok(ranges.some((r) => r.startLine === 8 && r.endLine === 22), JSON.stringify(ranges));
  });

  it('completes mnemonics with their class, registers after the mnemonic, and preprocessor keywords after %', async () => {
    const atStart = await request<{ label: string; detail?: string }[]>('textDocument/completion', { position: pos(11, 2) });
    assert.equal(atStart.find((i) => i.label === 'lgdt')?.detail, 'privileged');
    assert.equal(atStart.find((i) => i.label === 'sidt')?.detail, 'sensitive, unprivileged');
    assert.ok(atStart.some((i) => i.label === 'outb'), 'macros complete as instructions');
    const operands = await request<{ label: string }[]>('textDocument/completion', { position: pos(13, 10) });
    assert.ok(operands.some((i) => i.label === 'cr3') && operands.some((i) => i.label === 'COM1'));
    await client.change(URI, 2, SOURCE + '\n%');
    const pre = await request<{ label: string }[]>('textDocument/completion', { position: pos(23, 1) });
    assert.ok(pre.some((i) => i.label === '%macro'));
    await client.change(URI, 3, SOURCE);
  });

  it('semantic tokens set privileged, sensitive, hypercall and VMX instructions apart', async () => {
    const { data } = await request<{ data: number[] }>('textDocument/semanticTokens/full', {});
    const tokens: { line: number; start: number; mods: string[] }[] = [];
    let line = 0;
    let start = 0;
    for (let i = 0; i < data.length; i += 5) {
      line += data[i]!;
      start = data[i]! === 0 ? start + data[i + 1]! : data[i + 1]!;
      tokens.push({ line, start, mods: SEMANTIC_LEGEND.tokenModifiers.filter((_, b) => (data[i + 4]! >> b) & 1) });
    }
    const at = (l: number) => tokens.find((t) => t.line === l && t.start === 2)?.mods;
    assert.deepEqual(at(11), ['ioSensitive']); // cli
    assert.deepEqual(at(12), ['privileged']); // lgdt
    assert.deepEqual(at(15), ['sensitive']); // pushf
    assert.deepEqual(at(17), ['sensitive', 'hypercall']); // int 0x82: INT n is sensitive (Robin & Irvine) and the PV gate
    assert.deepEqual(at(18), ['vmx']); // vmcall
    assert.deepEqual(at(13), []); // mov
  });
});

describe('language server: paravirtual guests', () => {
  let client: LspTestClient;
  const PV = 'file:///guest/pv.asm';
  const text = ['%include "hypercall.inc"', 'shared_info: times 4096 db 0', 'start:', '  cli', '  mov cr3, eax', '  mov eax, __HYPERVISOR_console_io', '  hlt'].join('\n');
  before(async () => {
    client = await startTestServer();
    await client.open(PV, text);
    await client.open('file:///guest/native.asm', 'start:\n  cli\n');
  });
  after(() => client.close());

  it('offers the event-mask store for cli, new_baseptr for mov cr3 and block for hlt, using the guest shared-info symbol', async () => {
    const actions = (await client.rpc.sendRequest('textDocument/codeAction', { textDocument: { uri: PV }, range: { start: pos(3, 0), end: pos(6, 5) }, context: { diagnostics: [] } })) as { title: string; edit: { changes: Record<string, { newText: string }[]> } }[];
    const byTitle = Object.fromEntries(actions.map((a) => [a.title.split(' ')[1], a.edit.changes[PV]![0]!.newText]));
    assert.equal(byTitle.cli, 'PV_CLI shared_info');
    assert.equal(byTitle.hlt, 'HYPERVISOR_block');
    assert.match(byTitle.mov!, /HYPERVISOR_new_baseptr eax/);
  });

  it('offers nothing in a guest that does not use the hypercall ABI', async () => {
    const actions = (await client.rpc.sendRequest('textDocument/codeAction', { textDocument: { uri: 'file:///guest/native.asm' }, range: { start: pos(1, 0), end: pos(1, 5) }, context: { diagnostics: [] } })) as unknown[];
    assert.deepEqual(actions, []);
  });

  it('hovers a hypercall number constant with its ABI from the VMM table', async () => {
    const hover = (await client.rpc.sendRequest('textDocument/hover', { textDocument: { uri: PV }, position: pos(5, 20) })) as { contents: { value: string } };
    assert.match(hover.contents.value, /hypercall 18 console_io/);
    assert.match(hover.contents.value, /\*\*EBX\*\*/);
  });
});
