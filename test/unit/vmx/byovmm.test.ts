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

const images = new Map<string, Uint8Array>();
function image(defines: readonly string[] = []): Uint8Array {
  const key = defines.join(',');
  let bytes = images.get(key);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(buildKernel(path.join(REPO_ROOT, 'samples/vmx/byovmm.asm'), scratchDir(`byovmm${key}`), defines)));
    images.set(key, bytes);
  }
  return bytes;
}

function boot(vmx: boolean, defines: readonly string[] = []) {
  const recipe = defaultRecipe({ memoryMiB: 32 });
  const machine = createPcMachine({ ...recipe, cpu: { ...recipe.cpu, vmx } });
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(defines), { kernelName: 'byovmm' });
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

  it('-DEPT: the VMM gives its guest EPT, maps pages on EPT violations (exit 48) with INVEPT, same guest output', () => {
    const r = boot(true, ['EPT']);
    const message = 'guest: hello from VMX non-root operation\n';
    const ioExits = message.length * 2;
    // Two violations: the guest's page-directory read in its own walk (GPA of a guest paging structure), then
    // the fetch of its first instruction; its message lives in the same page as its code.
    assert.equal(r.serial, `byovmm: VMXON ok, launching the guest\n${message}byovmm: guest finished with VMCALL after ${ioExits} I/O exits and 2 EPT violations (1 on instruction fetches)\n`);
    assert.equal(r.stop.exitStatus, 0x21);
    assert.equal(r.unit!.exitCounts.get(48), 2);
    assert.equal(r.unit!.ept.counters.eptViolations, 2);
    assert.equal(r.unit!.inveptCounts.singleContext, 2);
    assert.ok(r.unit!.ept.counters.tlbMisses > 0 && r.unit!.ept.counters.maxMissReferences === 9, '4-MiB guest pages over 4-level EPT: 9 references');
  });

  it('without VMX in the recipe the CPU has no VMX unit and the sample says so', () => {
    const r = boot(false);
    assert.equal(r.unit, null);
    assert.equal(r.serial, 'byovmm: this CPU has no VMX\n');
    assert.equal(r.stop.exitStatus, 0x23);
  });
});
