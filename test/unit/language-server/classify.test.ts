// The virtualization class an editor shows follows the form the operands select, from the instruction table.
import { strict as assert } from 'node:assert';
import { tokenize } from '../../../src/emulator/asm/lexer';
import { classifyStatement } from '../../../src/language-server/analysis/documentIndex';

const classOf = (line: string) => {
  const [mnemonic, ...operands] = tokenize(line);
  return classifyStatement(mnemonic!.text, operands);
};

describe('classifyStatement', () => {
  it('separates the forms of one mnemonic by operands', () => {
    assert.equal(classOf('mov eax, ebx'), 'innocuous');
    assert.equal(classOf('mov cr3, eax'), 'privileged');
    assert.equal(classOf('mov eax, dr7'), 'privileged');
    assert.equal(classOf('mov ax, cs'), 'sensitive-unprivileged');
    assert.equal(classOf('mov eax, [cs:ebx]'), 'innocuous');
    assert.equal(classOf('push cs'), 'sensitive-unprivileged');
    assert.equal(classOf('push 5'), 'innocuous');
    assert.equal(classOf('jmp 0x08:start'), 'sensitive-unprivileged');
    assert.equal(classOf('jmp far [ebx]'), 'sensitive-unprivileged');
    assert.equal(classOf('jmp start'), 'innocuous');
  });
  it('uses the table class for single-form mnemonics and rejects non-instructions', () => {
    assert.equal(classOf('sidt [idtr]'), 'sensitive-unprivileged');
    assert.equal(classOf('out dx, al'), 'io-sensitive');
    assert.equal(classOf('vmlaunch'), 'vmx-exits');
    assert.equal(classOf('lidt [idtr]'), 'privileged');
    assert.equal(classOf('section .text'), undefined);
  });
});
