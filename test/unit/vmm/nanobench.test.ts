// Adams & Agesen's nanobenchmark orderings that need neither BT nor VT (issue 5): `syscall` and `in` under
// trap-and-emulate versus native, measured on samples/vmm/nanobench.asm running under the engine, with the
// per-reason cost ledger, for both presets and for each architecture. Native costs are the cost model's native
// events (exceptionDelivery for a system call, deviceAccess for an off-chip port read).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel, type CostPresetId } from '../../../src/emulator/vmm/costModel';
import type { Architecture } from '../../../src/emulator/vmm/layers';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { SAMPLES_VMM, buildKernel, runInQemu, scratchDir } from './tools';

const ROUNDS = 100;

describe('nanobenchmarks: trap-and-emulate vs native (Adams & Agesen orderings)', function () {
  this.timeout(60000);
  const elf = buildKernel(path.join(SAMPLES_VMM, 'nanobench.asm'), scratchDir('nanobench'));

  function perOperation(preset: CostPresetId, architecture: Architecture) {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
    const loaded = machine.boot(new Uint8Array(readFileSync(elf)), { kernelName: 'nanobench' });
    if ('error' in loaded) throw new Error(loaded.error);
    const model = new CostModel(preset);
    const engine = new TrapAndEmulateEngine(machine, { architecture, costModel: model });
    const stop = engine.run(5_000_000);
    assert.equal(serial, 'nanobench: 100 port reads, 100 system calls\n');
    assert.deepEqual(stop, { kind: 'guest-exit', status: 33 });
    const entries = engine.ledger.byReason();
    const sum = (match: (reason: string) => boolean) => entries.filter((e) => match(e.reason)).reduce((s, e) => s + e.cycles, 0);
    const syscallEvents = entries.find((e) => e.reason === 'int 0x80 (system call) at CPL3' && e.layer === 'vmm');
    assert.ok(syscallEvents);
    const syscall = sum((r) => r === 'int 0x80 (system call) at CPL3') / (ROUNDS + 1); // + the final "finish" call
    const inCycles = sum((r) => r.includes('in al, 0x80')) / ROUNDS;
    return { syscall, in: inCycles, model };
  }

  it('runs natively in QEMU with the same output', () => {
    const run = runInQemu(elf);
    assert.equal(run.serial, 'nanobench: 100 port reads, 100 system calls\n');
    assert.equal(run.status, 33);
  });

  for (const preset of ['p4-2006', 'modern'] as const) {
    it(`${preset}: a system call costs more under trap-and-emulate than natively (trap into the VMM + reflection)`, () => {
      const r = perOperation(preset, 'monolithic');
      assert.ok(r.syscall > r.model.cycles('exceptionDelivery'), `${r.syscall} vs native ${r.model.cycles('exceptionDelivery')}`);
      assert.equal(r.syscall, r.model.pathCycles(['exceptionDelivery', 'vmmEntry', 'interruptInjection', 'vmmExit']));
    });

    it(`${preset}: in al, 0x80 is cheaper emulated in a monolithic VMM than the off-chip native access, dearer when hosted`, () => {
      const monolithic = perOperation(preset, 'monolithic');
      const microkernel = perOperation(preset, 'microkernel');
      const hosted = perOperation(preset, 'hosted');
      const native = monolithic.model.cycles('deviceAccess');
      assert.ok(monolithic.in < native, `monolithic ${monolithic.in} vs native ${native}`);
      assert.ok(hosted.in > native, `hosted ${hosted.in} vs native ${native}`);
      assert.ok(monolithic.in < microkernel.in && microkernel.in < hosted.in);
    });
  }

  it('p4-2006 figures: syscall 2,594 vs 889 native; in 2,729 (monolithic) vs 3,209 native', () => {
    const r = perOperation('p4-2006', 'monolithic');
    assert.equal(r.syscall, 889 + 800 + 105 + 800);
    assert.equal(r.in, 889 + 800 + 4 * 35 + 800 + 100);
  });
});
