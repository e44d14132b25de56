// Live diagnostics from the real assembler, through the protocol: ranges, %include files, macro
// expansions, clearing after a fix. (Latency is measured by bench/language-server/diagnostics-latency.ts.)
import { strict as assert } from 'node:assert';
import { startTestServer, type LspTestClient, type PublishedDiagnostics } from './lspClient';

const MAIN = 'file:///course/guest.asm';
const INCLUDED = '/course/lib/console.inc';

describe('language server diagnostics', () => {
  let client: LspTestClient;
  let received: PublishedDiagnostics[] = [];
  const waitFor = async (uri: string, predicate: (p: PublishedDiagnostics) => boolean): Promise<PublishedDiagnostics> => {
    for (let i = 0; i < 200; i++) {
      const hit = [...received].reverse().find((p) => p.uri === uri);
      if (hit && predicate(hit)) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no matching diagnostics for ${uri}; got ${JSON.stringify(received.filter((p) => p.uri === uri).pop())}`);
  };
  const files: Record<string, string> = { [INCLUDED]: 'bits 32\nputc:\n  mov dx, 0x3F8\n  out dx, al\n  movx eax, 1\n  ret\n' };

  before(async () => {
    client = await startTestServer({ diagnosticsDelayMs: 5, readFile: (p) => files[p] }, (p) => received.push(p));
  });
  after(() => client.close());
  beforeEach(() => (received = []));

  it('reports an unknown mnemonic with its line and column range, then clears it when fixed', async () => {
    await client.open(MAIN, 'bits 32\nstart:\n  mov eax, 1\n  frob eax\n');
    const bad = await waitFor(MAIN, (p) => p.diagnostics.length > 0);
    assert.equal(bad.diagnostics.length, 1);
    const d = bad.diagnostics[0]!;
    assert.equal(d.severity, 1);
    assert.equal(d.range.start.line, 3);
    assert.ok(d.range.start.character >= 2 && d.range.end.character > d.range.start.character, JSON.stringify(d.range));
    await client.change(MAIN, 2, 'bits 32\nstart:\n  mov eax, 1\n  inc eax\n');
    await waitFor(MAIN, (p) => p.diagnostics.length === 0);
  });

  it('publishes an error inside an %include to the included file, and macro errors with the macro body line', async () => {
    await client.change(MAIN, 3, [
      'bits 32',
      '%include "lib/console.inc"',
      '%macro twice 1',
      '  add %1, %1',
      '%endmacro',
      'start:',
      '  twice 5',
    ].join('\n'));
    const inc = await waitFor('file:///course/lib/console.inc', (p) => p.diagnostics.length > 0);
    assert.equal(inc.diagnostics[0]!.range.start.line, 4);
    const main = await waitFor(MAIN, (p) => p.diagnostics.length > 0);
    const macroError = main.diagnostics.find((d) => d.range.start.line === 6);
    assert.ok(macroError, JSON.stringify(main.diagnostics));
    assert.equal(macroError.relatedInformation?.[0]?.location.range.start.line, 3);
    assert.match(macroError.relatedInformation![0]!.message, /macro `twice'/);
  });

  it('searches the include paths the client sends (hyperstep.includePaths), and re-checks open documents', async () => {
    files['/course/shared/pc.inc'] = 'COM1 equ 0x3F8\n';
    await client.change(MAIN, 4, 'bits 32\n%include "pc.inc"\n  mov dx, COM1\n');
    const missing = await waitFor(MAIN, (p) => p.diagnostics.length > 0);
    assert.match(missing.diagnostics[0]!.message, /unable to open include file `pc.inc'/);
    await client.rpc.sendNotification('hyperstep/includePaths', { includePaths: ['/course/shared'] });
    await waitFor(MAIN, (p) => p.diagnostics.length === 0);
  });
});
