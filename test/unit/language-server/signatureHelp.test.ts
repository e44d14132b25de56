// In-process LSP tests of signature help: multi-line macros (counts, ranges, greedy, from another open
// document), single-line %define macros with parameters, and instruction operand forms from the table.
import { strict as assert } from 'node:assert';
import { startTestServer, type LspTestClient } from './lspClient';
import { operandFits } from '../../../src/language-server/features/signatureHelp';

const URI = 'file:///guest/sig.asm';
const LIB = 'file:///guest/lib.inc';
const SOURCE = [
  '; write AL to a port',
  '%macro outb 2',
  '  mov dx, %1',
  '  mov al, %2',
  '  out dx, al',
  '%endmacro',
  '%macro log 1-3',
  '%endmacro',
  '%macro print 1+',
  '%endmacro',
  '%define SQUARE(x) ((x)*(x))',
  '%define ADD3(a, b, c) (a+b+c)',
  'start:',
  '  outb 0x3F8, ',
  '  log 1, 2, 3, 4',
  '  print "a, b", 3',
  '  mov eax, ADD3(1, SQUARE(2), ',
  'here: mov cr3, ',
  '  lock add dword [ebx], ',
  '  serial_out ',
  '  mov eax, 1 ; comment, with a comma',
  '  outb',
].join('\n');

interface Help {
  signatures: { label: string; documentation?: { value: string }; parameters: { label: [number, number] }[] }[];
  activeSignature: number;
  activeParameter: number;
}
const paramText = (help: Help, n = help.activeParameter): string => {
  const sig = help.signatures[help.activeSignature]!;
  const [a, b] = sig.parameters[n]!.label;
  return sig.label.slice(a, b);
};

describe('language server: signature help', () => {
  let client: LspTestClient;
  before(async () => {
    client = await startTestServer();
    await client.open(LIB, '; send a byte over COM1\n%macro serial_out 1\n  outb 0x3F8, %1\n%endmacro\n');
    await client.open(URI, SOURCE);
  });
  after(() => client.close());
  const help = (line: number, character?: number) =>
    client.rpc.sendRequest('textDocument/signatureHelp', { textDocument: { uri: URI }, position: { line, character: character ?? SOURCE.split('\n')[line]!.length } }) as Promise<Help | null>;

  it('shows a two-parameter macro with the parameter being typed', async () => {
    const h = (await help(13))!;
    assert.equal(h.signatures.length, 1);
    assert.equal(h.signatures[0]!.label, 'outb %1, %2');
    assert.equal(h.activeParameter, 1);
    assert.equal(paramText(h), '%2');
    assert.match(h.signatures[0]!.documentation!.value, /2 parameters/);
    assert.match(h.signatures[0]!.documentation!.value, /write AL to a port/);
    const first = (await help(13, 7))!;
    assert.equal(first.activeParameter, 0);
  });

  it('marks the optional parameters of a 1-3 macro and stays on the last one past its range', async () => {
    const h = (await help(14))!;
    assert.equal(h.signatures[0]!.label, 'log %1, [%2], [%3]');
    assert.equal(h.activeParameter, 2);
    assert.match(h.signatures[0]!.documentation!.value, /1–3 parameters/);
  });

  it('marks a greedy parameter and does not count commas inside strings', async () => {
    const h = (await help(15))!;
    assert.equal(h.signatures[0]!.label, 'print %1+');
    assert.equal(h.activeParameter, 0);
  });

  it('shows the innermost single-line macro with its named parameters', async () => {
    const outer = (await help(16))!;
    assert.equal(outer.signatures[0]!.label, 'ADD3(a, b, c)');
    assert.equal(paramText(outer), 'c');
    const inner = (await help(16, 27))!; // inside SQUARE(2 before its )
    assert.equal(inner.signatures[0]!.label, 'SQUARE(x)');
    assert.equal(paramText(inner), 'x');
  });

  it('shows instruction operand forms from the instruction table, after a label and a prefix', async () => {
    const mov = (await help(17))!;
    assert.ok(mov.signatures.length > 3, JSON.stringify(mov.signatures.map((s) => s.label)));
    assert.ok(mov.signatures.some((s) => s.label === 'mov CR0–CR4, r32'), JSON.stringify(mov.signatures.map((s) => s.label)));
    assert.equal(mov.activeParameter, 1);
    assert.equal(mov.signatures[mov.activeSignature]!.label, 'mov CR0–CR4, r32', 'the form chosen by the written cr3');
    assert.equal(paramText(mov), 'r32');
    assert.ok(mov.signatures.some((s) => /privileged/.test(s.documentation!.value)));
    const add = (await help(18))!;
    assert.ok(add.signatures.some((s) => s.label === 'add r/m32, imm8' || s.label === 'add r/m16/32, imm8'), JSON.stringify(add.signatures.map((s) => s.label)));
    assert.equal(add.activeParameter, 1);
    assert.equal(add.signatures[add.activeSignature]!.label, 'add r/m16/32, r16/32', 'a dword memory operand selects the 16/32-bit r/m form');
  });

  it('finds a macro defined in another open document', async () => {
    const h = (await help(19))!;
    assert.equal(h.signatures[0]!.label, 'serial_out %1');
    assert.match(h.signatures[0]!.documentation!.value, /send a byte over COM1/);
  });

  it('shows nothing in a comment or while the name is still being typed', async () => {
    assert.equal(await help(20), null);
    assert.equal(await help(21), null);
  });

  it('matches written operands to SDM operand notation (registers by size, memory by size keyword, immediates)', () => {
    const cases: [string, string, boolean][] = [
      ['eax', 'r/m16/32', true], ['eax', 'r8', false], ['ax', 'r16/32', true], ['al', 'r/m8', true], ['cs', 'Sreg', true],
      ['cr3', 'CR0–CR4', true], ['cr3', 'r32', false], ['[ebx+4]', 'r/m8', true], ['[ebx]', 'imm8', false],
      ['byte [x]', 'r/m16/32', false], ['word [x]', 'r/m16/32', true], ['dword [x]', 'm32', true], ['0x10', 'imm8', true],
      ['label', 'rel16/32', true], ['dx', 'dx', true], ['1', '1', true],
    ];
    for (const [written, parameter, expected] of cases) assert.equal(operandFits(written, parameter), expected, `${written} vs ${parameter}`);
  });
});
