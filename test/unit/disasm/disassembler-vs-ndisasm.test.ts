// The disassembler against the real `ndisasm -b32` on NASM-assembled bytes of every generated form (and
// the hand-written corpus in test/corpus/isa), plus round trips: decode → statement → encodeInstruction
// gives the same bytes, and our text reassembled by nasm decodes to the same instruction.

import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { disassemble, disassembleOne, type DisassembledInstruction } from '../../../src/emulator/disasm/disassembler';
import { statementOf } from '../../../src/emulator/disasm/to-statement';
import { DecodedInstruction, decodeInstruction } from '../../../src/emulator/isa/decoder';
import { encodeInstruction } from '../../../src/emulator/isa/encoder';
import { INSTRUCTION_FORMS } from '../../../src/emulator/isa/table';
import { allGeneratedCases } from '../isa/generate';
import { assembleWithNasm, disassembleWithNdisasm, type NasmRun } from '../isa/nasm-oracle';
import { meaningOf } from './semantics';

const CORPUS = join(__dirname, '../../corpus/isa');
const normalize = (text: string) => text.replace(/\s+/g, ' ').trim();
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function compareWithNdisasm(binary: Uint8Array): { compared: number; failures: string[] } {
  const theirs = disassembleWithNdisasm(binary);
  const ours = new Map(disassemble(binary, 0).map((line) => [line.address, line]));
  const failures: string[] = [];
  for (const line of theirs) {
    const mine = ours.get(line.offset);
    if (mine === undefined || normalize(mine.text) !== normalize(line.text) || mine.length * 2 !== line.hex.length) {
      failures.push(`${line.hex}: ndisasm '${line.text}', ours '${mine?.text ?? '(out of step)'}'`);
    }
  }
  return { compared: theirs.length, failures };
}

describe('disassembler vs ndisasm -b32', function () {
  this.timeout(60000);
  let run: NasmRun;

  before(() => {
    run = assembleWithNasm(`bits 32\n${allGeneratedCases().map((c) => c.text).join('\n')}\n`);
  });

  it('prints exactly what ndisasm prints for every generated instruction', () => {
    const { compared, failures } = compareWithNdisasm(run.binary);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} of ${compared} lines differ`);
    assert.ok(compared > 4000, `only ${compared} lines compared`);
  });

  it('prints exactly what ndisasm prints for the hand-written corpus', () => {
    const files = readdirSync(CORPUS).filter((f) => f.endsWith('.asm'));
    assert.ok(files.length > 0, 'no corpus files');
    for (const file of files) {
      const corpus = assembleWithNasm(readFileSync(join(CORPUS, file), 'utf8'));
      assert.equal(corpus.errors, '', `${file} does not assemble with nasm`);
      const { failures } = compareWithNdisasm(corpus.binary);
      assert.deepEqual(failures, [], file);
    }
  });

  it('round-trips decode → statement → encode to the same bytes', () => {
    const decoded = new DecodedInstruction();
    const failures: string[] = [];
    for (const line of run.lines.values()) {
      decodeInstruction(run.binary, line.offset, run.binary.length, 32, decoded);
      const statement = statementOf(decoded, line.offset);
      const result = statement && encodeInstruction(statement, { bits: 32, address: line.offset });
      if (!result?.ok || hex(result.bytes) !== hex(line.bytes)) {
        failures.push(`${hex(line.bytes)} → ${result === undefined ? 'no statement' : result.ok ? hex(result.bytes) : result.message}`);
      }
    }
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} round-trip failures`);
  });

  it('prints text that nasm reassembles into the same instruction', () => {
    const lines = disassemble(run.binary, 0);
    // Reassemble each line at its own address. ndisasm prints branch targets as plain numbers, which NASM
    // treats as absolute (not section-relative) and never shortens: make them `$$+target` again.
    const relocate = (l: DisassembledInstruction) => {
      const form = INSTRUCTION_FORMS[l.formIndex];
      const branch = form !== undefined && (form.operands[0] === 'Jb' || form.operands[0] === 'Jz');
      if (!branch) return l.text;
      // ndisasm writes `jz word X` for 66 0F 84, which NASM only accepts as `jz near word X`.
      const jcc = form.mnemonic.startsWith('j') && form.mnemonic !== 'jmp';
      const text = jcc ? l.text.replace(' word ', ' near word ') : l.text;
      return text.replace(/(0x[0-9a-f]+)$/, '$$$$+$1');
    };
    const source = ['bits 32', ...lines.map((l) => `times ${l.address} - ($ - $$) db 0\n${relocate(l)}`)].join('\n');
    const again = assembleWithNasm(`${source}\n`);
    assert.equal(again.errors, '', 'our text does not assemble');
    const first = new DecodedInstruction();
    const second = new DecodedInstruction();
    const failures: string[] = [];
    for (const line of lines) {
      decodeInstruction(run.binary, line.address, run.binary.length, 32, first);
      decodeInstruction(again.binary, line.address, again.binary.length, 32, second);
      const before = meaningOf(first, line.address);
      const after = meaningOf(second, line.address);
      if (before !== after) failures.push(`${line.text}: ${before} vs ${after}`);
    }
    assert.deepEqual(failures.slice(0, 20), []);
  });

  it('symbolizes branch targets and absolute addresses', () => {
    const bytes = Uint8Array.from([0xe8, 0xfb, 0x0e, 0x00, 0x00, 0xa1, 0x00, 0x20, 0x00, 0x00, 0x74, 0xf4]);
    const names = new Map([[0x2000, 'counter'], [0x1000, 'main']]);
    const text = disassemble(bytes, 0x100, { symbolize: (a) => names.get(a) }).map((l) => l.text);
    assert.deepEqual(text, ['call main', 'mov eax,[counter]', 'jz 0x100']);
  });

  it('shows undecodable bytes as db, like ndisasm', () => {
    const line = disassembleOne(Uint8Array.from([0x62, 0x90]), 0, 0);
    assert.equal(line.text, 'db 0x62');
    assert.equal(line.length, 1);
  });
});
