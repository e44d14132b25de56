// The local APIC against the oracle: test/kernels/lapic.asm (firmware register values, one-shot and periodic
// APIC timer, ISR/PPR in the handler, TPR holding back a self-IPI) built with nasm and ld, run in
// qemu-system-i386 -kernel and on HyperStep: same serial output, exit status and interrupt vectors.
import assert from 'node:assert/strict';
import { parseQemuInterrupts, runHyperStep } from '../../differential/hyperstep';
import { buildKernel, readImage, runQemu } from '../../differential/tools';

describe('local APIC kernel: QEMU -kernel vs HyperStep', function () {
  this.timeout(120000);
  it('lapic.asm: same serial output, exit status and delivered vectors', () => {
    const elf = buildKernel('lapic');
    const qemu = runQemu(elf);
    const ours = runHyperStep(readImage(elf), { kernelName: elf });
    assert.match(qemu.serial, /one-shot 00000001 00000001 00000040 00000000 \n/, `QEMU output: ${qemu.serial}`);
    assert.match(qemu.serial, /tpr 00000000 00000002 00000050 00000001 00000000/);
    assert.equal(qemu.status, 1);
    assert.equal(ours.stop.reason, 'guest-exit', ours.stop.detail);
    assert.equal(ours.serial, qemu.serial);
    assert.equal(ours.stop.exitStatus, qemu.status);
    const qemuVectors = parseQemuInterrupts(qemu.interruptLog).map((e) => e.vector);
    assert.deepEqual(qemuVectors, [0x40, 0x40, 0x40, 0x40, 0x41]);
    assert.deepEqual(ours.events.map((e) => e.vector), qemuVectors);
  });
});
