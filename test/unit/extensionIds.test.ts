// Pure helpers of the extension (src/extension/ids.ts): the program path F5 hands the debug adapter.
import { strict as assert } from 'node:assert';
import { localPathOf } from '../../src/extension/ids';

describe('localPathOf', () => {
  it('strips the remote authority code-server sometimes leaves in ${file}', () => {
    assert.equal(localPathOf('vscode-remote:/127.0.0.1:3210/work/samples/hello/hello.asm'), '/work/samples/hello/hello.asm');
    assert.equal(localPathOf('vscode-remote://127.0.0.1:3210/work/a%20b.asm'), '/work/a b.asm');
  });
  it('leaves plain paths and other strings alone', () => {
    assert.equal(localPathOf('/work/k.asm'), '/work/k.asm');
    assert.equal(localPathOf('kernel.elf'), 'kernel.elf');
    assert.equal(localPathOf('C:\\guest\\k.asm'), 'C:\\guest\\k.asm');
  });
});
