// System-level differential tests: NASM Multiboot kernels (test/kernels) built with the real nasm and ld run
// in qemu-system-i386 -kernel (the oracle) and on HyperStep; serial output, exit status and the sequence of
// delivered exceptions/interrupts (vector, error code, software or not, CPL) must match. QEMU reports a
// #DF that replaces a fault during delivery as a separate (nested) delivery; HyperStep's CPU event hook
// reports the first delivery only, so nested deliveries are compared through the kernels' serial output
// (their #DF handlers print) and, for the triple fault, through the shutdown.
import assert from 'node:assert/strict';
import { buildFlat, buildKernel, readImage, runQemu, SAMPLE_HELLO } from '../../differential/tools';
import { parseQemuInterrupts, qemuTripleFaulted, runHyperStep } from '../../differential/hyperstep';

interface Case {
  readonly kernel: string;
  readonly status: number | 'shutdown';
  readonly mustSee: RegExp;
  readonly vectors: number[];
}

const CASES: Case[] = [
  { kernel: 'serial', status: 1, mustSee: /~\r\n0000005A/, vectors: [] },
  { kernel: 'pit', status: 1, mustSee: /tick 00000003 00000001/, vectors: [0x20, 0x20, 0x20] },
  { kernel: 'rtc', status: 1, mustSee: /rtc 00000003 000000C0/, vectors: [0x28, 0x28, 0x28] },
  { kernel: 'rings', status: 129, mustSee: /cpl: 3\n.*exception 0000000D err 00000000 at 0000001B/, vectors: [3, 0x80, 0x80, 0x80, 0x0d] },
  { kernel: 'paging', status: 1, mustSee: /#PF cr2\/err: 00301000 00000003/, vectors: [0x0e, 0x0e] },
  { kernel: 'userpf', status: 1, mustSee: /00302000 00000005 0000001B \n.*00302000 00000007 0000001B \nback in ring 0/, vectors: [0x0e, 0x0e, 0x80] },
  { kernel: 'faults', status: 17, mustSee: /#DF err 00000000/, vectors: [0x0d, 6, 0, 0x0d] },
  { kernel: 'triple', status: 'shutdown', mustSee: /about to triple fault\n$/, vectors: [3, 0x0d] },
];

describe('system-level differential: QEMU -kernel vs HyperStep', function () {
  this.timeout(120000);
  for (const c of CASES) {
    it(`${c.kernel}.asm: same serial output, exit and exception sequence`, () => {
      const elf = buildKernel(c.kernel);
      const qemu = runQemu(elf);
      const ours = runHyperStep(readImage(elf), { kernelName: elf });
      // The oracle first: the kernel does what its comment says under QEMU.
      assert.match(qemu.serial, c.mustSee, `QEMU output: ${qemu.serial}`);
      if (c.status === 'shutdown') {
        assert.equal(qemuTripleFaulted(qemu.interruptLog), true);
        assert.equal(ours.stop.reason, 'shutdown', ours.stop.detail);
      } else {
        assert.equal(qemu.status, c.status);
        assert.equal(ours.stop.reason, 'guest-exit', `${ours.stop.reason}: ${ours.stop.detail}`);
        assert.equal(ours.stop.exitStatus, qemu.status);
      }
      assert.equal(ours.serial, qemu.serial);
      const qemuEvents = parseQemuInterrupts(qemu.interruptLog).filter((e) => !e.nested);
      assert.deepEqual(qemuEvents.map((e) => e.vector), c.vectors, 'the oracle delivered what the kernel intends');
      assert.deepEqual(ours.events, qemuEvents.map(({ nested: _nested, ...e }) => e));
    });
  }

  it('samples/hello/hello.asm (nasm -f bin, a.out kludge): same serial output and exit status', () => {
    const image = buildFlat(SAMPLE_HELLO);
    const qemu = runQemu(image);
    const ours = runHyperStep(readImage(image), { kernelName: image });
    assert.match(qemu.serial, /tick 5\n/);
    assert.equal(ours.serial, qemu.serial);
    assert.equal(ours.stop.exitStatus, qemu.status);
  });

  it('mbinfo.asm: the kernel sees the same entry state and Multiboot information as under QEMU', () => {
    const elf = buildKernel('mbinfo');
    const qemu = runQemu(elf);
    const ours = runHyperStep(readImage(elf), { kernelName: elf });
    // Only ECX, EDX and EDI differ: QEMU's option ROM leaves scratch values there, HyperStep zeroes them
    // (the Multiboot specification leaves them undefined).
    const withoutScratch = (s: string) => s.replace(/^ecx edx esi edi ebp: .*$/m, '');
    assert.equal(withoutScratch(ours.serial), withoutScratch(qemu.serial));
    assert.equal(ours.stop.exitStatus, qemu.status);
  });
});
