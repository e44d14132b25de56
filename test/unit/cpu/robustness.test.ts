// Bad input and determinism: random bytes executed as code in rings 0, 1 and 3 (with and without paging)
// never raise a host exception and always end with a CpuStopReason; the same program gives the same state
// hash on every run; saveState/loadState round-trips.
import { strict as assert } from 'node:assert';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { CR } from '../../../src/emulator/cpu/stateLayout';
import { bootFlat, CODE_BASE, createMachine, nasm, SEL, setGate } from './harness';

/** xorshift32: deterministic seeds for reproducible fuzzing. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

function stateHash(cpu: Cpu, ram: Uint8Array): number {
  let h = 0x811c9dc5;
  for (const v of cpu.s) h = Math.imul(h ^ v, 0x01000193);
  for (let i = 0; i < ram.length; i += 4) h = Math.imul(h ^ (ram[i]! | (ram[i + 1]! << 8) | (ram[i + 2]! << 16) | (ram[i + 3]! << 24)), 0x01000193);
  return h >>> 0;
}

const VALID_REASONS = new Set(['budget', 'halt', 'shutdown', 'breakpoint', 'watchpoint', 'magic-breakpoint', 'exit']);

describe('cpu robustness', () => {
  const SEEDS = 20;
  for (const ring of [0, 1, 3] as const) {
    for (const paging of [false, true]) {
      it(`random bytes as code in ring ${ring}${paging ? ' with paging' : ''} never throw (${SEEDS} seeds × 3000 instructions)`, () => {
        const cs = ring === 3 ? SEL.code3 : SEL.code1;
        const ss = ring === 3 ? SEL.data3 : SEL.data1;
        const prelude = nasm(`push dword ${ss}\npush dword 0x9000\npush dword 0x202\npush dword ${cs}\npush dword ${CODE_BASE}\niretd`, 0x30000);
        for (let seed = 1; seed <= SEEDS; seed++) {
          const next = rng(seed * 7919 + ring * 31 + (paging ? 1 : 0));
          const m = createMachine(1 << 20);
          bootFlat(m, new Uint8Array(0));
          const random = new Uint8Array(0x4000);
          for (let i = 0; i < random.length; i++) random[i] = next() & 0xff;
          m.ram.set(random, CODE_BASE);
          // Every vector goes to random code too (a DPL-3 gate), so faults cascade through the IDT.
          for (let v = 0; v < 256; v++) setGate(m.ram, v, CODE_BASE + (next() & 0x3fff), { dpl: 3 });
          if (paging) {
            for (let page = 0; page < 256; page++) {
              const pte = (page << 12) | (next() % 8 === 0 ? 0 : 0x7);
              m.ram.set([pte & 0xff, (pte >> 8) & 0xff, (pte >> 16) & 0xff, pte >>> 24], 0x20000 + page * 4);
            }
            m.ram.set([0x07, 0x00, 0x02, 0x00], 0x21000);
            m.cpu.s[CR + 3] = 0x21000;
            m.cpu.s[CR] |= 0x80000000;
          }
          if (ring !== 0) {
            // Enter the ring through an IRET frame (the prelude runs first, in ring 0).
            m.ram.set(prelude, 0x30000);
            m.cpu.s[8] = 0x30000;
          }
          let reason = '';
          assert.doesNotThrow(() => {
            reason = m.cpu.run(1500);
            if (reason === 'halt') reason = m.cpu.run(500);
            reason = m.cpu.runDebug(1000);
          }, `seed ${seed}`);
          assert.ok(VALID_REASONS.has(reason), `seed ${seed}: ${reason}`);
        }
      });
    }
  }

  it('the same program gives the same final state hash on every run', () => {
    const program = nasm(`
      mov ecx, 5000
      mov esi, 0x40000
    l:
      imul eax, ecx, 0x9e3779b1
      rol eax, 5
      xor [esi + ecx*4], eax
      adc edx, eax
      rdtsc
      add ebx, eax
      loop l
      cli
      hlt`);
    const hashes = [0, 1, 2].map(() => {
      const m = createMachine(1 << 20);
      bootFlat(m, program);
      assert.equal(m.cpu.run(100000), 'halt');
      return stateHash(m.cpu, m.ram);
    });
    assert.equal(new Set(hashes).size, 1);
  });

  it('saveState/loadState restore the CPU exactly (continuing gives the same result)', () => {
    const program = nasm(`
      mov ecx, 300
    l:
      add eax, ecx
      shl eax, 1
      dec ecx
      jnz l
      cli
      hlt`);
    const m = createMachine(1 << 20);
    bootFlat(m, program);
    m.cpu.run(400);
    const snapshot = m.cpu.saveState();
    const ram = m.ram.slice();
    m.cpu.run(100000);
    const first = stateHash(m.cpu, m.ram);
    m.cpu.loadState(snapshot);
    m.ram.set(ram);
    m.cpu.run(100000);
    assert.equal(stateHash(m.cpu, m.ram), first);
  });
});
