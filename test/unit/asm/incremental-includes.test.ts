// The assembler's per-document incremental session must notice include files that appear or change while
// the main file's text stays the same (the debug adapter assembles a program in rounds, supplying the
// include files the previous round asked for; the language server re-assembles when an include is edited).
import { strict as assert } from 'node:assert';
import { assemble, clearAssemblerCaches } from '../../../src/emulator/asm';

describe('assembler: incremental session and include files', () => {
  beforeEach(() => clearAssemblerCaches());

  const main = { path: '/w/main.asm', text: "bits 32\n%include 'defs.inc'\nmov eax, VALUE\n" };

  it('an include missing in the first run and present in the second is read (same main text)', () => {
    const first = assemble(main, { readFile: () => undefined });
    assert.equal(first.ok, false);
    assert.match(first.diagnostics[0]!.message, /unable to open include file/);
    const files: Record<string, string> = { '/w/defs.inc': 'VALUE equ 0x1234\n' };
    const second = assemble(main, { readFile: (p) => files[p] });
    assert.equal(second.ok, true, JSON.stringify(second.diagnostics));
    assert.deepEqual([...second.output], [0xb8, 0x34, 0x12, 0x00, 0x00]);
  });

  it('an include whose text changed is re-read although the main file did not change', () => {
    const files: Record<string, string> = { '/w/defs.inc': 'VALUE equ 1\n' };
    const readFile = (p: string): string | undefined => files[p];
    assert.deepEqual([...assemble(main, { readFile }).output], [0xb8, 1, 0, 0, 0]);
    files['/w/defs.inc'] = 'VALUE equ 2\n';
    assert.deepEqual([...assemble(main, { readFile }).output], [0xb8, 2, 0, 0, 0]);
  });
});
