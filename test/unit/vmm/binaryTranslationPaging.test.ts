// Binary translation with guest paging: the BT engine inherits trap-and-emulate's shadow page tables, so the
// paging kernels give native's output with the same memory-virtualization events trap-and-emulate counts (true
// faults, tracing faults on guest PTE writes, CR3 switches), while translations are keyed by guest-physical
// address and the TC stays reachable only by the VMM (mapped supervisor-only in every shadow, never for the guest).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildKernel, readImage } from '../../differential/tools';
import { runHyperStep } from '../../differential/hyperstep';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { BinaryTranslationEngine } from '../../../src/emulator/vmm/binaryTranslation/engine';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { SAMPLES_VMM, buildKernel as buildSample, scratchDir } from './tools';
import { NANOBENCHMARKS, NANOBENCH_SOURCE, buildGuest, measureNanobench } from '../../../bench/techniques/harness';

function runUnderBt(image: Uint8Array, budget = 20_000_000) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = new BinaryTranslationEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
  const stop = engine.run(budget);
  return { stop, serial, engine };
}

describe('binary translation with guest paging (inherited shadow paging)', function () {
  this.timeout(120000);

  it('shadow-paging.asm: native output; the same true/tracing/CR3 counts as trap-and-emulate; kernel code ran translated', () => {
    const elf = buildKernel('shadow-paging');
    const native = runHyperStep(readImage(elf), { kernelName: elf });
    const bt = runUnderBt(new Uint8Array(readFileSync(elf)));
    assert.equal(bt.serial, native.serial);
    assert.match(bt.serial, /^paging on\n/);
    assert.deepEqual(bt.stop, { kind: 'guest-exit', status: native.stop.exitStatus });
    const stats = (bt.engine as ExecutionEngine).memoryStats!();
    assert.equal(stats.scheme, 'shadow-paging');
    assert.equal(stats.counters['trueFaults'], 2);
    assert.equal(stats.counters['tracingFaults'], 7);
    assert.equal(stats.counters['shadowCr3Switches'], 2);
    const tc = bt.engine.translationCache();
    assert.ok(tc.translations.length > 20);
    // Units fetched with paging on are keyed by guest-physical address; the CR3 switch is a privileged callout.
    assert.ok(bt.engine.log.list().some((t) => t.reason === 'BT callout: mov cr3, eax'));
    assert.ok(bt.engine.vmmRegion.contains(bt.engine.tcBase), 'the TC is VMM-region memory, never mapped for the guest');
  });

  // shadow-higherhalf: the VMM window moves to the top of the linear space while the guest pages, and the TC
  // code segment's base follows it; shadow-straddle: one store spans two guest page tables.
  for (const kernel of ['paging', 'userpf', 'shadow-higherhalf', 'shadow-straddle']) {
    it(`${kernel}.asm runs under binary translation as natively`, () => {
      const elf = buildKernel(kernel);
      const native = runHyperStep(readImage(elf), { kernelName: elf });
      const bt = runUnderBt(new Uint8Array(readFileSync(elf)));
      assert.equal(bt.serial, native.serial);
      assert.deepEqual(bt.stop, { kind: 'guest-exit', status: native.stop.exitStatus });
      assert.equal((bt.engine as ExecutionEngine).memoryStats!().scheme, 'shadow-paging');
      assert.ok(bt.engine.translationCache().translations.length > 0);
    });
  }

  it('adaptive BT: a store that keeps taking tracing faults on a guest page table becomes a pte-write callout (A&A ptemod)', () => {
    const image = buildGuest(NANOBENCH_SOURCE, ['BENCH=7', 'ROUNDS=40', 'PAGING']);
    const bt = runUnderBt(image);
    assert.deepEqual(bt.stop, { kind: 'guest-exit', status: 33 });
    const tc = bt.engine.translationCache();
    assert.ok(tc.counters['adaptiveRetranslations']! >= 1);
    const store = tc.translations.filter((t) => t.invalidated === undefined).flatMap((t) => t.instructions).find((i) => /page tables/.test(i.why));
    assert.ok(store, 'a live translation holds the page-table store as a callout');
    assert.equal(store.rewrite, 'callout');
    const withoutFault = bt.engine.log.list().filter((t) => t.kind === 'shadow-paging' && t.reason.endsWith('(page-table write without a fault)'));
    const tracing = (bt.engine as ExecutionEngine).memoryStats!().counters['tracingFaults']!;
    assert.ok(withoutFault.length >= 40 - 8 - 1, `most of the 40 writes were callouts (${withoutFault.length})`);
    assert.ok(tracing >= 40, 'every write was still traced by the shadow MMU (the callout runs its handler)');
    // Priced by the cost model: far below the trapping path, as A&A report (391 vs thousands of cycles).
    const bench = NANOBENCHMARKS.find((b) => b.name === 'ptemod')!;
    const btFigure = measureNanobench(bench, 'binary-translation');
    const teFigure = measureNanobench(bench, 'trap-and-emulate');
    assert.ok(btFigure.cycles !== undefined && teFigure.cycles !== undefined);
    assert.ok(btFigure.cycles < teFigure.cycles / 3, `BT ${btFigure.cycles} vs trap-and-emulate ${teFigure.cycles} cycles per PTE write`);
  });

  it('forkbench.asm (4 address spaces, 2,048 PTE writes, 256 CR3 switches): the checksum of native', () => {
    const image = new Uint8Array(readFileSync(buildSample(path.join(SAMPLES_VMM, 'forkbench.asm'), scratchDir('bt-forkbench'))));
    const native = runHyperStep(image, { kernelName: 'forkbench' });
    const bt = runUnderBt(image, 50_000_000);
    assert.match(native.serial, /checksum 0x[0-9a-f]{8}\n$/);
    assert.equal(bt.serial, native.serial);
    assert.deepEqual(bt.stop, { kind: 'guest-exit', status: native.stop.exitStatus });
    assert.equal((bt.engine as ExecutionEngine).memoryStats!().counters['shadowCr3Switches'], 256);
  });
});
