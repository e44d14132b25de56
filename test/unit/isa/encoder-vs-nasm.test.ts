// Generated conformance test of the encoder and decoder against the real NASM 2.16: every form of the
// instruction table with representative operands (all addressing modes, edge immediates, jump distances,
// prefixes, aliases) is assembled as ONE source by nasm and by encodeInstruction; bytes must be identical,
// statements NASM rejects must be rejected, and every emitted instruction must decode back to its form.

import { strict as assert } from 'node:assert';
import { DecodedInstruction, DecodeFault, decodeInstruction } from '../../../src/emulator/isa/decoder';
import { encodeInstruction } from '../../../src/emulator/isa/encoder';
import { INSTRUCTION_FORMS } from '../../../src/emulator/isa/table';
import { allGeneratedCases, type GeneratedCase } from './generate';
import { assembleWithNasm, type NasmRun } from './nasm-oracle';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

/** Encodings that decode to a different but equivalent table form (same bytes, NASM synonyms). */
function sameInstruction(encodedMnemonic: string, decodedMnemonic: string): boolean {
  if (encodedMnemonic === decodedMnemonic) return true;
  return (encodedMnemonic === 'sal' && decodedMnemonic === 'shl') || (encodedMnemonic === 'xchg' && decodedMnemonic === 'nop');
}

describe('isa encoder vs nasm (generated from the table)', function () {
  this.timeout(60000);
  let cases: GeneratedCase[] = [];
  let run: NasmRun;

  before(() => {
    cases = allGeneratedCases();
    run = assembleWithNasm(`bits 32\n${cases.map((c) => c.text).join('\n')}\n`);
  });

  it('produces NASM\'s exact bytes, and rejects what NASM rejects', () => {
    const failures: string[] = [];
    let accepted = 0;
    cases.forEach((c, i) => {
      const line = run.lines.get(i + 2);
      const address = line?.offset ?? 0;
      const result = encodeInstruction(c.build(address), { bits: 32, address });
      if (line === undefined) {
        if (result.ok) failures.push(`${c.text}: nasm rejects it, encoder gave ${hex(result.bytes)}`);
        return;
      }
      accepted++;
      if (!result.ok) failures.push(`${c.text}: nasm ${hex(line.bytes)}, encoder error '${result.message}'`);
      else if (hex(result.bytes) !== hex(line.bytes)) failures.push(`${c.text}: nasm ${hex(line.bytes)}, encoder ${hex(result.bytes)}`);
    });
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} mismatches of ${cases.length}`);
    assert.ok(accepted > 4000, `only ${accepted} statements accepted by nasm`);
  });

  it('uses every form of the table at least once', () => {
    const used = new Set<number>();
    cases.forEach((c, i) => {
      const address = run.lines.get(i + 2)?.offset ?? 0;
      const result = encodeInstruction(c.build(address), { bits: 32, address });
      if (result.ok && result.formIndex !== undefined) used.add(result.formIndex);
    });
    const unused = INSTRUCTION_FORMS.filter((f) => !used.has(f.index)).map((f) => f.sdm);
    assert.deepEqual(unused, []);
  });

  it('decodes every NASM-assembled instruction back to the form the encoder chose, with its length', () => {
    const decoded = new DecodedInstruction();
    const failures: string[] = [];
    cases.forEach((c, i) => {
      const line = run.lines.get(i + 2);
      if (line === undefined) return;
      const result = encodeInstruction(c.build(line.offset), { bits: 32, address: line.offset });
      if (!result.ok || result.formIndex === undefined) return;
      decodeInstruction(line.bytes, 0, line.bytes.length, 32, decoded);
      const encodedForm = INSTRUCTION_FORMS[result.formIndex];
      const decodedForm = INSTRUCTION_FORMS[decoded.formIndex];
      if (decoded.fault !== DecodeFault.None || decodedForm === undefined || encodedForm === undefined) {
        failures.push(`${c.text}: fault ${decoded.fault}`);
      } else if (decoded.length !== line.bytes.length) {
        failures.push(`${c.text}: length ${decoded.length} != ${line.bytes.length}`);
      } else if (decodedForm.sdm !== encodedForm.sdm && !sameInstruction(encodedForm.mnemonic, decodedForm.mnemonic)) {
        failures.push(`${c.text}: decoded ${decodedForm.sdm}, encoded ${encodedForm.sdm}`);
      }
    });
    assert.deepEqual(failures.slice(0, 30), [], `${failures.length} decode failures`);
  });

  it('reports the byte position of every value field', () => {
    const address = 0x1000;
    const result = encodeInstruction({
      mnemonic: 'mov', prefixes: [],
      operands: [
        { kind: 'mem', base: 'ebx', scale: 1, value: 0x12345678, known: true, relocatable: true, hasDisplacement: true, bits: 32 },
        { kind: 'imm', value: 0xdeadbeef, known: true, relocatable: false },
      ],
    }, { bits: 32, address });
    assert.ok(result.ok);
    assert.equal(hex(result.bytes), 'c7 83 78 56 34 12 ef be ad de');
    assert.deepEqual(result.fields, [
      { operandIndex: 0, part: 'displacement', offset: 2, size: 4 },
      { operandIndex: 1, part: 'immediate', offset: 6, size: 4 },
    ]);
  });
});
