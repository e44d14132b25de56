// Hover on an instruction shows the bytes its line assembles to (issue 8: "its encoding at that line"),
// through the protocol, including a value from an %include; a file with errors says why there are none.
import { strict as assert } from 'node:assert';
import { startTestServer, type LspTestClient } from './lspClient';

const MAIN = 'file:///guest/enc.asm';
const INCLUDE = 'file:///guest/ports.inc';
const SOURCE = ['bits 32', 'org 0x100000', "%include 'ports.inc'", 'start:', '  mov eax, COM1', '  out dx, al', '  jmp start', '  cli'].join('\n');

describe('language server: hover shows the encoding at the line', () => {
  let client: LspTestClient;
  before(async () => {
    client = await startTestServer();
    await client.open(INCLUDE, 'COM1 equ 0x3F8\n');
    await client.open(MAIN, SOURCE);
  });
  after(() => client.close());

  const hover = async (uri: string, line: number, character: number): Promise<string> =>
    ((await client.rpc.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } })) as { contents: { value: string } }).contents.value;

  it('mov with an included constant, out, a backward short jmp', async () => {
    assert.match(await hover(MAIN, 4, 3), /Encoding at this line:\* `B8 F8 03 00 00` at 0x00100000 \(5 bytes\)/);
    assert.match(await hover(MAIN, 5, 3), /`EE` at 0x00100005 \(1 byte\)/);
    assert.match(await hover(MAIN, 6, 3), /`EB F8` at 0x00100006/);
    // The instruction documentation is still there below the encoding.
    assert.match(await hover(MAIN, 7, 3), /`FA` at 0x00100008[\s\S]*\*\*cli\*\*/);
  });

  it('a document with errors explains that there is no encoding', async () => {
    const bad = 'file:///guest/bad.asm';
    await client.open(bad, 'bits 32\n  mov eax, undefined_label\n  nop\n');
    assert.match(await hover(bad, 2, 3), /Encoding:\* the file has assembly errors/);
  });
});
