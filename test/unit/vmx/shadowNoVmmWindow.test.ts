// Hardware assist with EPT off maps no VMM window into the guest (issue 6): trap-and-emulate and BT need their
// VMM in every address space (behind segment truncation), but a VT-x VMM runs in root operation with its own
// CR3 (SDM Vol. 3C 27.5.1), so the shadow page tables must hold exactly the guest's own mappings — a ring-0
// non-root guest has no segment limit to keep it away from a window. Checked by walking the real (shadow)
// page directory and comparing every present entry with the guest's own translation, mid-run and at the end.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CR } from '../../../src/emulator/cpu/stateLayout';
import { Ia32CpuAdapter } from '../../../src/emulator/machine/cpuAdapter';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { SAMPLES_VMM, buildKernel, scratchDir } from '../vmm/tools';

type PcMachine = ReturnType<typeof createPcMachine>;

function word(machine: PcMachine, address: number): number {
  const ram = machine.memory.ram;
  return address + 4 > ram.length ? 0 : (ram[address]! | (ram[address + 1]! << 8) | (ram[address + 2]! << 16) | (ram[address + 3]! << 24)) >>> 0;
}

/** The guest's own translation of a linear page (2-level, 4-MiB pages with PSE), or undefined. */
function guestFrame(machine: PcMachine, guestCr3: number, pse: boolean, linear: number): number | undefined {
  const pde = word(machine, ((guestCr3 & ~0xfff) + (linear >>> 22) * 4) >>> 0);
  if ((pde & 1) === 0) return undefined;
  if (pse && (pde & 0x80) !== 0) return ((pde & 0xffc00000) | (linear & 0x3ff000)) >>> 0;
  const pte = word(machine, ((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4) >>> 0);
  return (pte & 1) === 0 ? undefined : (pte & ~0xfff) >>> 0;
}

/** Every present entry of the real (shadow) directory: linear page → machine frame. */
function shadowMappings(machine: PcMachine): Map<number, number> {
  const mappings = new Map<number, number>();
  const directory = (machine.cpu as Ia32CpuAdapter).core.s[CR + 3]! & ~0xfff;
  for (let slot = 0; slot < 1024; slot++) {
    const pde = word(machine, directory + slot * 4);
    if ((pde & 1) === 0) continue;
    if ((pde & 0x80) !== 0) {
      for (let i = 0; i < 1024; i++) mappings.set((slot << 22) + (i << 12), ((pde & 0xffc00000) + (i << 12)) >>> 0);
      continue;
    }
    for (let i = 0; i < 1024; i++) {
      const pte = word(machine, (pde & ~0xfff) + i * 4);
      if ((pte & 1) !== 0) mappings.set(((slot << 22) | (i << 12)) >>> 0, (pte & ~0xfff) >>> 0);
    }
  }
  return mappings;
}

describe('hardware assist with EPT off: no VMM window in the guest linear space', function () {
  this.timeout(120000);

  it('forkbench: every shadow mapping is one of the guest\'s own, none reaches VMM memory', () => {
    const image = new Uint8Array(readFileSync(buildKernel(path.join(SAMPLES_VMM, 'forkbench.asm'), scratchDir('shadow-no-window'))));
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(image, { kernelName: 'forkbench' });
    if ('error' in loaded) throw new Error(loaded.error);
    const parsed = parseControls({ ept: false });
    assert.ok(parsed.ok);
    const engine = new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006'), controls: parsed.controls });
    const vmmBottom = machine.memory.ram.length - 0x200000; // the VMM region lives in the top of RAM
    const check = (when: string): number => {
      const virtual = engine.virtualCpu();
      assert.ok((virtual.cr0 & 0x80000000) !== 0, `${when}: the guest pages`);
      const pse = (virtual.cr4 & 0x10) !== 0;
      const mappings = shadowMappings(machine);
      for (const [linear, frame] of mappings) {
        assert.ok(frame < vmmBottom, `${when}: linear 0x${linear.toString(16)} maps VMM frame 0x${frame.toString(16)}`);
        assert.equal(frame, guestFrame(machine, virtual.cr3, pse, linear), `${when}: linear 0x${linear.toString(16)} is not the guest's mapping`);
      }
      assert.ok(![...mappings.keys()].some((linear) => linear >= 0xffc00000), `${when}: nothing in the top 4 MiB (the old VMM window)`);
      return mappings.size;
    };
    let stop = engine.run(20_000);
    assert.equal(stop.kind, 'budget');
    assert.ok(check('mid-run') > 0, 'the shadow holds mappings mid-run');
    stop = engine.run(20_000_000);
    assert.deepEqual(stop, { kind: 'guest-exit', status: 33 });
    check('at the end');
  });
});
