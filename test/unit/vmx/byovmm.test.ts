// Bring-your-own-VMM coursework: samples/vmx/byovmm.asm (an assembly hypervisor: VMXON, VMCS set-up,
// VMLAUNCH, emulated COM1 through I/O exits, VMCALL to finish) runs on HyperStep's CPU with VMX enabled by
// the machine recipe; without VMX it reports that and fails, as it does under qemu-system-i386 (TCG).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import type { VmxUnit } from '../../../src/emulator/vmx/vmxUnit';
import { Ia32CpuAdapter } from '../../../src/emulator/machine/cpuAdapter';
import { REPO_ROOT, buildKernel, scratchDir } from '../vmm/tools';

const image = (() => {
  let cached: Uint8Array | undefined;
  return () => (cached ??= new Uint8Array(readFileSync(buildKernel(path.join(REPO_ROOT, 'samples/vmx/byovmm.asm'), scratchDir('byovmm')))));
})();

function boot(vmx: boolean) {
  const recipe = defaultRecipe({ memoryMiB: 32 });
  const machine = createPcMachine({ ...recipe, cpu: { ...recipe.cpu, vmx } });
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(), { kernelName: 'byovmm' });
  if ('error' in loaded) throw new Error(loaded.error);
  const stop = machine.run(5_000_000);
  const core = (machine.cpu as Ia32CpuAdapter).core;
  return { stop, serial, unit: core.vmx as unknown as VmxUnit | null };
}

describe('bring-your-own VMM (samples/vmx/byovmm.asm) on the CPU with VMX', function () {
  this.timeout(60000);

  it('VMXON, VMLAUNCH, the guest prints through emulated I/O exits, VMCALL ends the run with status 33', () => {
    const r = boot(true);
    const message = 'guest: hello from VMX non-root operation\n';
    const ioExits = message.length * 2; // one LSR poll (IN) and one OUT per byte
    assert.equal(r.serial, `byovmm: VMXON ok, launching the guest\n${message}byovmm: guest finished with VMCALL after ${ioExits} I/O exits\n`);
    assert.equal(r.stop.reason, 'guest-exit');
    assert.equal(r.stop.exitStatus, 0x21);
    assert.equal(r.unit!.exitCounts.get(30), ioExits);
    assert.equal(r.unit!.exitCounts.get(18), 1);
    assert.equal(r.unit!.entries, ioExits + 1); // VMLAUNCH + one VMRESUME per I/O exit
  });

  it('without VMX in the recipe the CPU has no VMX unit and the sample says so', () => {
    const r = boot(false);
    assert.equal(r.unit, null);
    assert.equal(r.serial, 'byovmm: this CPU has no VMX\n');
    assert.equal(r.stop.exitStatus, 0x23);
  });
});
