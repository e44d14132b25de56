// Adams & Agesen's seven nanobenchmarks (ASPLOS 2006, Fig. 4; virtualization.md §4) across native, binary
// translation and hardware assist with the p4-2006 preset (issue 6 "Tests and figures"), measured on
// samples/vmm/nanobench-aa.asm by bench/techniques/harness.ts. The tests are generated for the techniques
// createVmmEngine implements when the suite loads: an ordering that involves a technique without an engine is
// not asserted (and not faked). VT-x with EPT switched off (A&A's first-generation VT) runs the paging benchmarks
// on shadow page tables: ptemod then costs more than under BT, as in the paper; pgfault is stated, not asserted —
// the model charges one exit/entry round trip and the shadow walk (≈ 2,540 cycles against BT's ≈ 2,920), where
// A&A measured 11,242 against 3,927.
// Orderings the cost model cannot reproduce are stated, not asserted: A&A's BT cr8wr (35) beats native (≈ 140)
// because a real TPR write costs more than one instruction, while the p4-2006 preset prices every directly
// executed native instruction at 1 cycle; so here the stand-in (`mov cr0` with an unchanged value) is only
// checked to cost hardware assist no exit (≈ native) and binary translation less than a trap.
import assert from 'node:assert/strict';
import { NANOBENCHMARKS, NANOBENCH_SOURCE, buildGuest, implementedTechniques, measureNanobench, runGuest, type NanobenchFigure } from '../../../bench/techniques/harness';
import { IMPLEMENTED_TECHNIQUES } from '../../../src/emulator/vmm/index';
import type { Technique } from '../../../src/emulator/vmm/layers';
import { runInQemu, scratchDir } from './tools';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const implemented = new Set<Technique>([...implementedTechniques(), ...IMPLEMENTED_TECHNIQUES.filter((t) => t === 'paravirtual')]);
const figures = new Map<string, NanobenchFigure>();

function figure(name: string, technique: Technique, vmxControls?: unknown): NanobenchFigure {
  const key = `${name}/${technique}/${JSON.stringify(vmxControls ?? null)}`;
  let result = figures.get(key);
  if (result === undefined) {
    const bench = NANOBENCHMARKS.find((b) => b.name === name);
    if (bench === undefined) throw new Error(`no nanobenchmark ${name}`);
    result = measureNanobench(bench, technique, 'p4-2006', vmxControls);
    figures.set(key, result);
  }
  return result;
}

/** The figure. Every engine virtualizes memory now (VT-x without EPT on shadow page tables), so every technique must run every benchmark. */
function cycles(name: string, technique: Technique, vmxControls?: unknown): number | undefined {
  const f = figure(name, technique, vmxControls);
  assert.ok(f.cycles !== undefined, `${technique} must run ${name}: ${f.problem}`);
  return f.cycles;
}

const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 0.1 * Math.max(a, b) + 2, `${what}: ${a} vs ${b}`);

interface Ordering {
  readonly bench: string;
  readonly techniques: readonly Technique[];
  readonly claim: string;
  readonly check: (c: (t: Technique) => number | undefined) => void;
}

const ORDERINGS: readonly Ordering[] = [
  { bench: 'syscall', techniques: ['native', 'binary-translation'], claim: 'BT adds a VMM transition to every system call (native < BT)', check: (c) => assert.ok(c('native')! < c('binary-translation')!) },
  { bench: 'syscall', techniques: ['native', 'hardware-assisted'], claim: 'VT-x needs no VMM for a system call (hardware ≈ native)', check: (c) => near(c('hardware-assisted')!, c('native')!, 'syscall') },
  { bench: 'in', techniques: ['native', 'binary-translation'], claim: 'BT emulates `in` in the VMM faster than the off-chip native access (BT < native)', check: (c) => assert.ok(c('binary-translation')! < c('native')!) },
  { bench: 'in', techniques: ['native', 'hardware-assisted'], claim: 'VT-x pays an exit for `in` on top of the emulation (native < hardware)', check: (c) => assert.ok(c('native')! < c('hardware-assisted')!) },
  { bench: 'cr8wr', techniques: ['native', 'hardware-assisted'], claim: 'an unchanged control-register write needs no exit (hardware ≈ native)', check: (c) => near(c('hardware-assisted')!, c('native')!, 'cr8wr') },
  { bench: 'cr8wr', techniques: ['binary-translation', 'trap-and-emulate'], claim: 'BT rewrites it inline instead of trapping (BT < trap-and-emulate)', check: (c) => assert.ok(c('binary-translation')! < c('trap-and-emulate')!) },
  { bench: 'call/ret', techniques: ['native', 'hardware-assisted'], claim: 'VT-x runs call/ret natively (hardware = native)', check: (c) => assert.equal(c('hardware-assisted'), c('native')) },
  { bench: 'call/ret', techniques: ['native', 'binary-translation'], claim: 'BT pays the indirect-branch lookup of ret (native < BT)', check: (c) => assert.ok(c('native')! < c('binary-translation')!) },
  { bench: 'pgfault', techniques: ['native', 'binary-translation'], claim: 'a true page fault goes through the VMM\'s shadow MMU under BT (native < BT)', check: (c) => assert.ok(c('native')! < c('binary-translation')!) },
  { bench: 'pgfault', techniques: ['native', 'hardware-assisted'], claim: 'with EPT the guest takes its own page faults (hardware ≈ native: nested paging, A&A\'s conclusion)', check: (c) => near(c('hardware-assisted')!, c('native')!, 'pgfault') },
  { bench: 'divzero', techniques: ['native', 'hardware-assisted', 'binary-translation'], claim: 'no MMU involved: VT-x near native, BT pays the VMM (native ≤ hardware < BT)', check: (c) => { assert.ok(c('native')! <= c('hardware-assisted')!); assert.ok(c('hardware-assisted')! < c('binary-translation')!); } },
  { bench: 'ptemod', techniques: ['native', 'binary-translation'], claim: 'a PTE write is traced by the shadow MMU under BT (native < BT)', check: (c) => assert.ok(c('native')! < c('binary-translation')!) },
  { bench: 'ptemod', techniques: ['native', 'hardware-assisted'], claim: 'with EPT a PTE write is a plain store (hardware ≈ native)', check: (c) => near(c('hardware-assisted')!, c('native')!, 'ptemod') },
];

describe('Adams & Agesen nanobenchmarks across techniques (p4-2006)', function () {
  this.timeout(120000);

  it('every benchmark runs in QEMU with the output it prints under HyperStep; the PV ports print the same', () => {
    const dir = scratchDir('nanobench-aa');
    for (const bench of [{ bench: 0, name: 'baseline', paravirtualPort: true }, ...NANOBENCHMARKS]) {
      const elf = path.join(dir, `b${bench.bench}.elf`);
      writeFileSync(elf, buildGuest(NANOBENCH_SOURCE, [`BENCH=${bench.bench}`, 'ROUNDS=40']));
      const run = runInQemu(elf);
      const label = bench.name === 'cr8wr' ? 'cr8wr (mov cr0)' : bench.name;
      assert.equal(run.serial, `nanobench-aa: ${label} x 40\n`, bench.name);
      assert.equal(run.status, 33, bench.name);
      if (bench.paravirtualPort && implemented.has('paravirtual')) {
        const pv = runGuest(buildGuest(NANOBENCH_SOURCE, [`BENCH=${bench.bench}`, 'ROUNDS=40', 'PARAVIRTUAL']), 'paravirtual');
        assert.equal(pv.serial, run.serial, `${bench.name}: the paravirtual port prints what the native build prints`);
        assert.deepEqual(pv.stop, { kind: 'guest-exit', status: 33 });
      }
    }
  });

  it('native figures are the cost model\'s native events plus the instruction', () => {
    assert.equal(cycles('in', 'native'), 3209 + 1);
    assert.equal(cycles('syscall', 'native'), 889 + 5); // xor, int 0x80, test, jnz, iretd, dec, jnz vs the baseline's dec, jnz
    assert.equal(cycles('pgfault', 'native'), 1093 + 3);
    assert.equal(cycles('call/ret', 'native'), 2);
    assert.equal(cycles('ptemod', 'native'), 2);
  });

  for (const ordering of ORDERINGS) {
    if (!ordering.techniques.every((t) => implemented.has(t))) continue; // not assertable: a technique has no engine
    it(`${ordering.bench}: ${ordering.claim}`, () => ordering.check((t) => cycles(ordering.bench, t)));
  }

  if (implemented.has('paravirtual')) {
    it('paravirtual port: int 0x80 is a fast trap, so a system call costs exactly native and never enters the VMM', () => {
      const pv = figure('syscall', 'paravirtual');
      assert.equal(pv.cycles, cycles('syscall', 'native'));
      assert.equal(pv.vmmEntriesPerOp, 0);
    });

    it('paravirtual port: a PTE write is one validated mmu_update hypercall, dearer than native, cheaper than a shadow-paging tracing fault', () => {
      const pv = figure('ptemod', 'paravirtual');
      assert.equal(pv.vmmEntriesPerOp, 1);
      assert.ok(pv.cycles! > cycles('ptemod', 'native')!);
      if (implemented.has('trap-and-emulate')) {
        const shadow = cycles('ptemod', 'trap-and-emulate')!;
        assert.ok(pv.cycles! < shadow, `${pv.cycles} vs ${shadow}`);
      }
    });
  }

  if (implemented.has('hardware-assisted')) {
    it('hardware assist without EPT (A&A\'s first-generation VT, shadow paging): pgfault and ptemod cost more than natively; ptemod more than under BT', () => {
      for (const name of ['pgfault', 'ptemod']) {
        const vt = cycles(name, 'hardware-assisted', { ept: false })!;
        assert.ok(vt > cycles(name, 'native')!, `${name}: ${vt}`);
      }
      if (implemented.has('binary-translation')) {
        const vt = cycles('ptemod', 'hardware-assisted', { ept: false })!;
        const bt = cycles('ptemod', 'binary-translation')!;
        assert.ok(vt > bt, `ptemod: VT without EPT ${vt} vs BT ${bt} (A&A: 12,733 vs 391)`);
      }
    });
  }
});
