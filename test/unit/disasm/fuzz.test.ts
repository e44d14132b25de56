// Bounded fuzz of the decoder and disassembler: random and mutated byte strings never throw, lengths stay
// within 1..15, every instruction the decoder accepts re-encodes (via its statement) to bytes that
// decode to the same instruction, and random byte streams disassemble exactly as `ndisasm -b32` does. Seeds are fixed so a failure is reproducible; `FUZZ_ITERATIONS` raises
// the count for a longer run (npm test runs the bounded default).

import { strict as assert } from 'node:assert';
import { disassembleOne } from '../../../src/emulator/disasm/disassembler';
import { statementOf } from '../../../src/emulator/disasm/to-statement';
import { DecodedInstruction, DecodeFault, decodeInstruction, MAX_INSTRUCTION_LENGTH } from '../../../src/emulator/isa/decoder';
import { encodeInstruction } from '../../../src/emulator/isa/encoder';
import { disassembleWithNdisasm } from '../isa/nasm-oracle';
import { meaningOf } from './semantics';

/** xorshift32: small deterministic generator. */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return state;
  };
}

const ITERATIONS = Number(process.env.FUZZ_ITERATIONS ?? 20000);
const INTERESTING = [0x0f, 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x64, 0x01, 0x38, 0xc7, 0x8b, 0x83, 0xff, 0x04, 0x24, 0x05, 0x44];

describe('decoder and disassembler fuzz (bounded)', function () {
  this.timeout(60000);

  it(`never throws on ${ITERATIONS} random byte strings and keeps lengths in 1..15`, () => {
    const next = generator(0x1234abcd);
    const decoded = new DecodedInstruction();
    const bytes = new Uint8Array(20);
    for (let i = 0; i < ITERATIONS; i++) {
      for (let j = 0; j < bytes.length; j++) {
        const r = next();
        bytes[j] = (r & 3) === 0 ? (INTERESTING[(r >>> 8) % INTERESTING.length] as number) : (r >>> 16) & 0xff;
      }
      const end = 1 + (next() % bytes.length);
      decodeInstruction(bytes, 0, end, 32, decoded);
      assert.ok(decoded.length >= 0 && decoded.length <= MAX_INSTRUCTION_LENGTH, `length ${decoded.length}`);
      if (decoded.fault === DecodeFault.None) assert.ok(decoded.length >= 1 && decoded.length <= end);
      const line = disassembleOne(bytes.subarray(0, end), 0, 0x1000);
      assert.ok(line.length >= 1 && typeof line.text === 'string' && line.text.length > 0);
    }
  });

  it('re-encodes every accepted random instruction to bytes with the same meaning', () => {
    const next = generator(0xfeedbeef);
    const first = new DecodedInstruction();
    const second = new DecodedInstruction();
    const bytes = new Uint8Array(16);
    const failures: string[] = [];
    let checked = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      for (let j = 0; j < bytes.length; j++) {
        const r = next();
        bytes[j] = (r & 3) === 0 ? (INTERESTING[(r >>> 8) % INTERESTING.length] as number) : (r >>> 16) & 0xff;
      }
      decodeInstruction(bytes, 0, bytes.length, 32, first);
      if (first.fault !== DecodeFault.None) continue;
      const statement = statementOf(first, 0x1000);
      if (statement === undefined) continue;
      const result = encodeInstruction(statement, { bits: 32, address: 0x1000 });
      checked++;
      if (!result.ok) { failures.push(`${Array.from(bytes.subarray(0, first.length), (b) => b.toString(16)).join(' ')}: ${result.message}`); continue; }
      decodeInstruction(result.bytes, 0, result.bytes.length, 32, second);
      if (meaningOf(first, 0x1000) !== meaningOf(second, 0x1000)) {
        failures.push(`${Array.from(bytes.subarray(0, first.length), (b) => b.toString(16)).join(' ')}: ${meaningOf(first, 0x1000)} != ${meaningOf(second, 0x1000)}`);
      }
    }
    assert.ok(checked > ITERATIONS / 10, `only ${checked} instructions decoded`);
    assert.deepEqual(failures.slice(0, 15), [], `${failures.length} of ${checked}`);
  });
});

describe('disassembler vs ndisasm on random byte streams (bounded)', function () {
  this.timeout(60000);

  it('prints what ndisasm prints wherever both decode the same instruction', () => {
    const next = generator(0x9e3779b9);
    const bytes = new Uint8Array(Math.min(ITERATIONS, 40000) * 4);
    for (let i = 0; i < bytes.length; i++) {
      const r = next();
      bytes[i] = (r & 3) === 0 ? (INTERESTING[(r >>> 8) % INTERESTING.length] as number) : (r >>> 16) & 0xff;
    }
    const failures: string[] = [];
    let compared = 0;
    for (const line of disassembleWithNdisasm(bytes)) {
      const ours = disassembleOne(bytes, line.offset, line.offset);
      if (ours.formIndex < 0 || ours.fault !== DecodeFault.None) continue; // outside the table's subset
      if (ours.length * 2 !== line.hex.length) {
        // ndisasm refuses SETcc with ModRM.reg != 0; the CPU (and we) ignore that field (SDM SETcc).
        // It then prints `db 0x0f` (or the lone prefix before it) where we see the SETcc.
        const setcc = / set[a-z]+ /.test(` ${ours.text} `) && (line.text.startsWith('db') || line.hex.length === 2);
        if (!setcc) failures.push(`${line.hex}: ndisasm '${line.text}' (length ${line.hex.length / 2}), ours '${ours.text}' (length ${ours.length})`);
        continue;
      }
      compared++;
      if (ours.text.replace(/\s+/g, ' ') !== line.text.replace(/\s+/g, ' ')) failures.push(`${line.hex}: ndisasm '${line.text}', ours '${ours.text}'`);
    }
    assert.ok(compared > bytes.length / 8, `only ${compared} lines compared`);
    assert.deepEqual(failures.slice(0, 20), [], `${failures.length} differences in ${compared} lines`);
  });
});
