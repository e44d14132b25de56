// The hardware-assisted VMM with EPT off (issue 6 "Memory virtualization": shadow page tables also for hardware
// assist with EPT off): paging guests run with the native output on shadow page tables (src/emulator/vmm/
// memory/shadow*.ts, shared with trap-and-emulate). Every #PF exits (exception bitmap bit 14) and is a hidden
// fault (shadow filled), a tracing fault (a guest page-table write, executed once unprotected) or a true fault
// (injected, with the guest's CR2, which the VMM restores after the faults it handles itself); CR3 loads exit
// and switch shadows. Next to EPT on forkbench: thousands of exits instead of a few dozen EPT violations.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { EngineStop, ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { buildKernel as buildTestKernel } from '../../differential/tools';
import { SAMPLES_VMM, buildKernel, scratchDir } from '../vmm/tools';

type Guest = 'forkbench' | 'paging' | 'userpf';
const dir = scratchDir('hardware-assist-shadow');
const images = new Map<Guest, Uint8Array>();
const image = (which: Guest): Uint8Array => {
  let bytes = images.get(which);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(which === 'forkbench' ? buildKernel(path.join(SAMPLES_VMM, 'forkbench.asm'), dir) : buildTestKernel(which)));
    images.set(which, bytes);
  }
  return bytes;
};
const cost = new CostModel('p4-2006');

function run(which: Guest, make: (machine: ReturnType<typeof createPcMachine>) => ExecutionEngine) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(which), { kernelName: which });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = make(machine);
  let stop: EngineStop = engine.run(20_000_000);
  for (let i = 0; i < 200 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
  return { stop, serial, counts: new Map(engine.exitCounts().map((c) => [c.reason, c.count])), engine };
}

function vtx(which: Guest, ept: boolean) {
  const parsed = parseControls({ ept });
  assert.ok(parsed.ok);
  const result = run(which, (m) => new HardwareAssistEngine(m, { architecture: 'monolithic', costModel: cost, controls: parsed.controls }));
  return { ...result, stats: (result.engine as HardwareAssistEngine).memoryStats() };
}

describe('hardware-assisted engine with EPT off: shadow page tables', function () {
  this.timeout(180000);

  it('forkbench: native output; every PTE write a tracing fault, every CR3 switch an exit; EPT needs far fewer exits', () => {
    const bare = run('forkbench', (m) => new NativeEngine(m, cost));
    const shadow = vtx('forkbench', false);
    assert.equal(shadow.serial, bare.serial);
    assert.deepEqual(shadow.stop, bare.stop);
    assert.equal(shadow.stats.scheme, 'shadow-paging');
    const c = shadow.stats.counters;
    assert.equal(c['hiddenFaults']! + c['tracingFaults']! + c['trueFaults']!, shadow.counts.get(0), 'each #PF exit classified once');
    assert.ok(c['tracingFaults']! >= 2000, `PTE writes trace (${c['tracingFaults']})`);
    assert.equal(c['shadowCr3Switches'], 256);
    assert.ok((shadow.counts.get(28) ?? 0) >= 256);
    const ept = vtx('forkbench', true);
    const exits = (counts: Map<number, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
    assert.ok(exits(shadow.counts) > 10 * exits(ept.counts), `shadow ${exits(shadow.counts)} exits vs EPT ${exits(ept.counts)}`);
  });

  it("the CPU issue's paging kernels: true faults reach the guest's handler with its CR2 and error code", () => {
    for (const kernel of ['paging', 'userpf'] as const) {
      const bare = run(kernel, (m) => new NativeEngine(m, cost));
      const shadow = vtx(kernel, false);
      assert.equal(shadow.serial, bare.serial, kernel);
      assert.deepEqual(shadow.stop, bare.stop, kernel);
      assert.ok(shadow.stats.counters['trueFaults']! >= 1, `${kernel}: true faults reflected`);
      assert.ok((shadow.counts.get(14) ?? 0) >= 1, `${kernel}: INVLPG exits drop shadow entries`);
    }
  });
});
