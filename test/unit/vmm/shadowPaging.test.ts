// Shadow page tables (src/emulator/vmm/memory/shadow*.ts) under trap-and-emulate. On the machine: the paging
// guest test/kernels/shadow-paging.asm (two address spaces, PTE edits, a true #PF in each, accessed/dirty bits
// printed at the end) gives the same serial output and exit in QEMU, natively and under trap-and-emulate, with
// the exact counts of true faults, tracing faults and CR3 switches it causes; the existing paging kernels
// (paging.asm, userpf.asm) and a higher-half kernel with a recursive directory slot (shadow-higherhalf.asm) run
// under the VMM as in QEMU; the debugger can step through a hidden fault's named
// steps. In isolation (fake RAM): hidden fills set A/D as SDM Vol. 3A 4.8 says and keep the shadow read-only
// until the guest entry is dirty, true faults carry the guest's error code, the CR0.WP = 0 case, tracing
// classification, the VMM region refusal, and running out of VMM pages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildKernel, readImage, runQemu } from '../../differential/tools';
import { runHyperStep } from '../../differential/hyperstep';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { ShadowPageTables, type ShadowPageAllocator } from '../../../src/emulator/vmm/memory/shadowPaging';
import { PteBit } from '../../../src/emulator/vmm/memory/shadowGuestWalk';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { VmmRegion } from '../../../src/emulator/vmm/trapAndEmulate/vmmRegion';
import { NANOBENCHMARKS, measureNanobench } from '../../../bench/techniques/harness';
import { GDT_OFFSET, IDT_OFFSET } from '../../../src/emulator/vmm/trapAndEmulate/shadowTables';
import { vmmLinearWindow } from '../../../src/emulator/vmm/memory/shadowPaging';
import type { Ia32CpuAdapter } from '../../../src/emulator/machine/cpuAdapter';
import { GDTR_BASE, IDTR_BASE } from '../../../src/emulator/cpu/stateLayout';

function runUnderTrapAndEmulate(elf: string, vmmRegionSize?: number) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(new Uint8Array(readFileSync(elf)), { kernelName: elf });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006'), ...(vmmRegionSize === undefined ? {} : { vmmRegionSize }) });
  const stop = engine.run(5_000_000);
  return { stop, serial, engine, machine };
}

describe('shadow paging under trap-and-emulate (machine)', function () {
  this.timeout(120000);

  it('shadow-paging.asm: same output as QEMU and native; exact true/tracing/CR3 counts; shadow-paging transitions', () => {
    const elf = buildKernel('shadow-paging');
    const qemu = runQemu(elf);
    const native = runHyperStep(readImage(elf), { kernelName: elf });
    const vmm = runUnderTrapAndEmulate(elf);
    // The oracle first: the guest does what its comment says (A/D bits: 0x27 read, 0x67 written).
    assert.equal(
      qemu.serial,
      'paging on\n00000041 00C0FFEE 00000042 00106000 \nuser: 00000041 \nuser: 000013BA \n#PF cr2/err: 00401000 00000006 \nuser: 11223344 \n' +
        'cr3 -> address space B\nuser: 00000042 \n#PF cr2/err: 00401000 00000004 \nuser: 11223344 \n' +
        'entries: 00000027 00000027 00000067 00000067 00000000 00000027 00000027 00200003 \nframes: 00000055 11223344 00401000 \n',
    );
    assert.equal(native.serial, qemu.serial);
    assert.equal(vmm.serial, qemu.serial);
    assert.deepEqual(vmm.stop, { kind: 'guest-exit', status: qemu.status });
    const stats = (vmm.engine as ExecutionEngine).memoryStats!();
    assert.equal(stats.scheme, 'shadow-paging');
    const c = stats.counters;
    assert.equal(c['trueFaults'], 2, 'the user write and the user read of the unmapped page');
    assert.equal(c['tracingFaults'], 7, 'seven guest page-table writes with paging on (mov ×6, and ×1)');
    assert.equal(c['shadowCr3Switches'], 2, 'A→B in the system call, B→A at the end');
    assert.equal(c['shadowPageDirectoriesBuilt'], 2, 'one shadow per guest directory, the second switch hits the cache');
    assert.equal(c['invlpg'], 5);
    assert.ok(c['hiddenFaults']! >= 8, `hidden faults fill the shadow on demand (${c['hiddenFaults']})`);
    assert.equal(c['shadowPagesInUse'], vmm.engine.vmmRegion.pagesInUse);
    const shadowTransitions = vmm.engine.log.list().filter((t) => t.kind === 'shadow-paging');
    assert.equal(shadowTransitions.filter((t) => t.reason.startsWith('tracing fault: guest page table write')).length, 7);
    assert.equal(shadowTransitions.filter((t) => t.reason.startsWith('CR3 switch: mov cr3, eax')).length, 2);
    assert.equal(shadowTransitions.filter((t) => t.reason.startsWith('hidden page fault')).length, c['hiddenFaults']);
    const reflected = vmm.engine.log.list().filter((t) => t.kind === 'fault-reflection' && t.reason.includes('true page fault at 0x00401000'));
    assert.equal(reflected.length, 2);
    // The guest never sees the VMM: the real CR3 is a VMM page, the virtual one the guest's directory.
    const s = vmm.engine.virtualCpu();
    assert.notEqual(vmm.engine.shadowPaging.realCr3, s.cr3);
    assert.ok(vmm.engine.vmmRegion.contains(vmm.engine.shadowPaging.realCr3!));
  });

  for (const kernel of ['paging', 'userpf']) {
    it(`${kernel}.asm (system-level kernel that enables paging) runs under trap-and-emulate as natively`, () => {
      const elf = buildKernel(kernel);
      const native = runHyperStep(readImage(elf), { kernelName: elf });
      const vmm = runUnderTrapAndEmulate(elf);
      assert.equal(vmm.serial, native.serial);
      assert.deepEqual(vmm.stop, { kind: 'guest-exit', status: native.stop.exitStatus });
      const c = (vmm.engine as ExecutionEngine).memoryStats!().counters;
      assert.equal(c['trueFaults'], 2, 'both #PF the kernel expects are true faults, reflected to it');
      assert.ok(c['tracingFaults']! >= 2 && c['hiddenFaults']! > 0);
    });
  }

  it('shadow-higherhalf.asm: a kernel at 0xC0000000 with a recursive page-directory slot runs as in QEMU (the VMM window moved to the top)', () => {
    const elf = buildKernel('shadow-higherhalf');
    const qemu = runQemu(elf);
    assert.equal(qemu.serial, 'C010006F 600DF00D 00100063 \n0000BEEF 00300063 \n00000000 0000BEEF \nhigher half ok\n');
    const vmm = runUnderTrapAndEmulate(elf);
    assert.equal(vmm.serial, qemu.serial);
    assert.deepEqual(vmm.stop, { kind: 'guest-exit', status: qemu.status });
    const c = (vmm.engine as ExecutionEngine).memoryStats!().counters;
    assert.equal(c['tracingFaults'], 1, 'the PTE written through the recursive window');
    assert.equal(c['trueFaults'], 0);
    // The guest turned paging off at the end: the CPU sees the VMM's tables at their physical address again.
    const s = (vmm.machine.cpu as Ia32CpuAdapter).core.s;
    assert.equal(vmm.engine.shadowPaging.active, false);
    assert.equal(s[GDTR_BASE]! >>> 0, vmm.engine.vmmBase + GDT_OFFSET);
  });

  it('while the guest pages, the CPU sees the VMM\'s GDT/IDT in the top 64 KiB of the linear space', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(new Uint8Array(readFileSync(buildKernel('shadow-higherhalf'))), { kernelName: 'shadow-higherhalf' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    const s = (machine.cpu as Ia32CpuAdapter).core.s;
    let guard = 0;
    while (!engine.shadowPaging.active && guard++ < 100_000) engine.step();
    assert.ok(engine.shadowPaging.active);
    assert.equal(s[GDTR_BASE]! >>> 0, vmmLinearWindow(engine.vmmRegion.size) + GDT_OFFSET);
    assert.equal(s[IDTR_BASE]! >>> 0, 0xffff0000 + IDT_OFFSET);
  });

  it('Adams & Agesen pgfault and ptemod (p4-2006): shadow paging makes both dearer than native; ptemod = one tracing fault per PTE write', () => {
    const figure = (name: string, technique: 'native' | 'trap-and-emulate') => {
      const bench = NANOBENCHMARKS.find((b) => b.name === name)!;
      const f = measureNanobench(bench, technique, 'p4-2006');
      assert.ok(f.cycles !== undefined, f.problem);
      return f;
    };
    const pgfault = { native: figure('pgfault', 'native'), vmm: figure('pgfault', 'trap-and-emulate') };
    const ptemod = { native: figure('ptemod', 'native'), vmm: figure('ptemod', 'trap-and-emulate') };
    assert.ok(pgfault.native.cycles! < pgfault.vmm.cycles!, `pgfault ${pgfault.native.cycles} vs ${pgfault.vmm.cycles}`);
    assert.ok(ptemod.native.cycles! * 100 < ptemod.vmm.cycles!, `ptemod ${ptemod.native.cycles} vs ${ptemod.vmm.cycles}`);
    assert.equal(ptemod.vmm.vmmEntriesPerOp, 1, 'each PTE write is exactly one tracing fault');
  });

  it('shadow-straddle.asm: one store spanning two guest page tables opens two write windows and both remaps take effect', () => {
    const elf = buildKernel('shadow-straddle');
    const qemu = runQemu(elf);
    assert.equal(qemu.serial, '00001111 00002222 \nstraddled\n');
    const vmm = runUnderTrapAndEmulate(elf);
    assert.equal(vmm.serial, qemu.serial);
    assert.deepEqual(vmm.stop, { kind: 'guest-exit', status: qemu.status });
    const c = (vmm.engine as ExecutionEngine).memoryStats!().counters;
    assert.equal(c['tracingFaults'], 2, 'the trap on the first table and the second window inside it');
    assert.equal(vmm.engine.log.list().filter((t) => t.reason.startsWith('tracing fault')).length, 1, 'one VMM entry');
  });

  it('with only three VMM pages the shadows are dropped and rebuilt again and again, and the guest still sees the same', () => {
    const elf = buildKernel('shadow-paging');
    const roomy = runUnderTrapAndEmulate(elf);
    const tight = runUnderTrapAndEmulate(elf, 0xb000);
    assert.equal(tight.engine.vmmRegion.capacityPages, 3);
    assert.equal(tight.serial, roomy.serial);
    assert.deepEqual(tight.stop, roomy.stop);
    const c = (tight.engine as ExecutionEngine).memoryStats!().counters;
    assert.ok(c['shadowFlushes']! > 2, `flushes: ${c['shadowFlushes']}`);
    assert.ok(c['hiddenFaults']! > (roomy.engine as ExecutionEngine).memoryStats!().counters['hiddenFaults']!);
    assert.equal(c['trueFaults'], 2);
  });

  it('the debugger steps through a CR3 switch: … emulate on the virtual CPU → switch the shadow page table → …', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(new Uint8Array(readFileSync(buildKernel('shadow-paging'))), { kernelName: 'shadow-paging' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    let guard = 0;
    while (!(engine.activeHandler()?.handler.startsWith('CR3 switch') ?? false) && guard++ < 300_000) engine.step();
    const handler = engine.activeHandler();
    assert.ok(handler, 'the system call\'s mov cr3 trapped');
    assert.deepEqual(handler.stepNames, ['save guest state', 'decode faulting instruction', 'check', 'emulate on the virtual CPU', 'switch the shadow page table', 'advance guest EIP', 'resume', 'reflect #GP through the guest IDT']);
    const before = engine.shadowPaging.realCr3;
    while (engine.activeHandler()?.stepNames[engine.activeHandler()!.nextStep] !== 'switch the shadow page table') engine.step();
    assert.equal(engine.shadowPaging.realCr3, before, 'not switched before its step');
    engine.step();
    assert.notEqual(engine.shadowPaging.realCr3, before);
    assert.equal(engine.shadowPaging.counters.shadowCr3Switches, 1);
    const switches = engine.log.list().filter((t) => t.kind === 'shadow-paging' && t.reason.startsWith('CR3 switch'));
    assert.equal(switches.length, 1);
  });

  it('engine + machine state saved mid-run (shadows, VMM pages, window) restore to the same continuation', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
    const loaded = machine.boot(new Uint8Array(readFileSync(buildKernel('shadow-paging'))), { kernelName: 'shadow-paging' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    let guard = 0;
    while (!serial.includes('user: 00000041') && guard++ < 1000) assert.equal(engine.run(500).kind, 'budget');
    assert.ok(engine.shadowPaging.active);
    const savedMachine = machine.saveState();
    const savedEngine = JSON.parse(JSON.stringify(engine.saveState())) as ReturnType<typeof engine.saveState>;
    const savedStats = JSON.stringify(engine.shadowMemoryStats());
    const mark = serial.length;
    assert.equal(engine.run(5_000_000).kind, 'guest-exit');
    const first = serial.slice(mark);
    const firstStats = engine.shadowMemoryStats();
    machine.loadState(savedMachine);
    engine.loadState(savedEngine);
    assert.equal(JSON.stringify(engine.shadowMemoryStats()), savedStats);
    const again = serial.length;
    assert.equal(engine.run(5_000_000).kind, 'guest-exit');
    assert.equal(serial.slice(again), first);
    assert.deepEqual(engine.shadowMemoryStats(), firstStats);
  });

  it('the debugger steps through a hidden fault: walk the guest page tables → fill → resume', () => {
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(new Uint8Array(readFileSync(buildKernel('shadow-paging'))), { kernelName: 'shadow-paging' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    let guard = 0;
    while (!(engine.activeHandler()?.handler.includes('(shadow paging)') ?? false) && guard++ < 200_000) engine.step();
    const handler = engine.activeHandler();
    assert.ok(handler, 'a #PF handler became active');
    assert.deepEqual(handler.stepNames, [
      'save guest state', 'walk the guest page tables', 'fill the shadow page table', 'execute the guest write with the page unprotected',
      'resynchronise the shadow', 'resume', 'reflect #PF with the virtual CR2',
    ]);
    const executed: string[] = [];
    while (engine.activeHandler() !== undefined) {
      executed.push(engine.activeHandler()!.stepNames[engine.activeHandler()!.nextStep]!);
      engine.step();
    }
    assert.deepEqual(executed, ['save guest state', 'walk the guest page tables', 'fill the shadow page table', 'resume']);
    assert.equal((engine as ExecutionEngine).memoryStats!().counters['hiddenFaults'], 1);
  });
});

// ---- the shadow in isolation, on fake RAM ------------------------------------------------------------------

const RAM = 1 << 24;
const GUEST_PD = 0x10000;
const GUEST_PT = 0x11000;

function fakeShadow(regionSize = 0x20000) {
  const ram = new Uint8Array(RAM);
  const view = new DataView(ram.buffer);
  const memory = {
    read32: (a: number) => (a >= 0 && a + 4 <= RAM ? view.getUint32(a, true) : undefined),
    write32: (a: number, v: number) => view.setUint32(a, v >>> 0, true),
  };
  const region = new VmmRegion(ram, regionSize);
  const flushes = { page: 0, all: 0 };
  const shadow = new ShadowPageTables(memory, region as ShadowPageAllocator, {
    invalidatePage: () => void flushes.page++,
    flushAll: () => void flushes.all++,
  });
  memory.write32(GUEST_PD, GUEST_PT | 7);
  return { ram, memory, region, shadow, flushes };
}

/** The shadow PTE the real CPU would use for `linear`. */
function shadowEntry(f: ReturnType<typeof fakeShadow>, linear: number): number {
  const pde = f.memory.read32(f.shadow.realCr3! + (linear >>> 22) * 4)!;
  if ((pde & 1) === 0) return 0;
  return f.memory.read32((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4)!;
}

describe('shadow page tables (unit)', () => {
  const PG_WP = 0x80010001;

  it('a hidden read fill sets the guest A bit and maps read-only until the guest entry is dirty (SDM 4.8)', () => {
    const f = fakeShadow();
    f.memory.write32(GUEST_PT + 5 * 4, 0x200000 | 7);
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const read = f.shadow.classify(0x5123, 4 /* user read, not present */);
    assert.equal(read.kind, 'hidden');
    assert.ok(read.kind === 'hidden' && f.shadow.fill(0x5123, read.walk, false, true));
    assert.equal(f.memory.read32(GUEST_PT + 5 * 4), 0x200000 | 7 | PteBit.A);
    assert.equal(shadowEntry(f, 0x5000), 0x200000 | PteBit.P | PteBit.US, 'read-only: the guest D bit is still clear');
    const write = f.shadow.classify(0x5123, 7 /* user write, present */);
    assert.ok(write.kind === 'hidden' && f.shadow.fill(0x5123, write.walk, true, true));
    assert.equal(f.memory.read32(GUEST_PT + 5 * 4), 0x200000 | 7 | PteBit.A | PteBit.D);
    assert.equal(shadowEntry(f, 0x5000), 0x200000 | PteBit.P | PteBit.US | PteBit.RW);
  });

  it('a 4 MiB guest page (CR4.PSE) is shadowed with 4 KiB entries; A and D are set in the guest PDE', () => {
    const f = fakeShadow();
    f.memory.write32(GUEST_PD + 4, 0x800000 | PteBit.PS | 7); // 0x400000-0x7FFFFF -> 0x800000 (4 MiB page)
    f.shadow.setControls(PG_WP, GUEST_PD, 0x10 /* PSE */, true);
    const write = f.shadow.classify(0x456789, 6);
    assert.ok(write.kind === 'hidden' && write.walk.bigPage);
    assert.ok(write.kind === 'hidden' && f.shadow.fill(0x456789, write.walk, true, true));
    assert.equal(f.memory.read32(GUEST_PD + 4), (0x800000 | PteBit.PS | 7 | PteBit.A | PteBit.D) >>> 0);
    assert.equal(shadowEntry(f, 0x456000), (0x856000 | PteBit.P | PteBit.RW | PteBit.US) >>> 0);
    // Without PSE the same PDE names a page table at 0x800000 instead (SDM 4.3: PS is ignored).
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const noPse = f.shadow.classify(0x456789, 4);
    assert.ok(noPse.kind === 'true', 'the entry in the "page table" at 0x800000 is zero: not present');
  });

  it('a true fault carries the error code the guest tables give (not present / protection, user, write)', () => {
    const f = fakeShadow();
    f.memory.write32(GUEST_PT + 6 * 4, 0x201000 | 5); // user, read-only
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const missing = f.shadow.classify(0x7000, 4);
    assert.deepEqual(missing.kind === 'true' ? missing.errorCode : -1, 4);
    const readOnly = f.shadow.classify(0x6000, 6);
    assert.deepEqual(readOnly.kind === 'true' ? readOnly.errorCode : -1, 7);
    const kernelWriteWp = f.shadow.classify(0x6000, 2);
    assert.deepEqual(kernelWriteWp.kind === 'true' ? kernelWriteWp.errorCode : -1, 3, 'CR0.WP = 1 protects read-only pages from the kernel');
  });

  it('with CR0.WP = 0 a kernel write to a read-only page is a hidden fault mapped supervisor-only', () => {
    const f = fakeShadow();
    f.memory.write32(GUEST_PT + 6 * 4, 0x201000 | 5);
    f.shadow.setControls(0x80000001, GUEST_PD, 0, true);
    const write = f.shadow.classify(0x6000, 2);
    assert.ok(write.kind === 'hidden' && f.shadow.fill(0x6000, write.walk, true, false));
    assert.equal(shadowEntry(f, 0x6000), 0x201000 | PteBit.P | PteBit.RW);
  });

  it('guest page tables are write-protected: a write to one is a tracing fault, the resync drops changed entries', () => {
    const f = fakeShadow();
    f.memory.write32(GUEST_PT + 0x11 * 4, GUEST_PT | 3 | PteBit.D); // the PT maps itself at 0x11000
    f.memory.write32(GUEST_PT + 5 * 4, 0x200000 | 3 | PteBit.D);
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const fill = f.shadow.classify(0x5000, 0);
    assert.ok(fill.kind === 'hidden' && f.shadow.fill(0x5000, fill.walk, false, false));
    const trace = f.shadow.classify(0x11000 + 5 * 4, 3);
    assert.equal(trace.kind, 'tracing');
    assert.ok(trace.kind === 'tracing');
    assert.equal(trace.table, 'page table');
    assert.ok(f.shadow.beginTracedWrite(0x11000 + 5 * 4, trace.walk));
    assert.equal(shadowEntry(f, 0x11000) & PteBit.RW, PteBit.RW, 'writable only inside the window');
    f.memory.write32(GUEST_PT + 5 * 4, 0x300000 | 3); // what the guest instruction does
    assert.equal(f.shadow.finishTracedWrite(), 1);
    assert.equal(shadowEntry(f, 0x11000) & PteBit.RW, 0, 'write-protected again');
    assert.equal(shadowEntry(f, 0x5000), 0, 'the shadow entry of the changed PTE was invalidated');
  });

  it('the VMM region is never mapped for the guest, and is mapped supervisor-only in every shadow directory', () => {
    const f = fakeShadow();
    const vmmPage = f.region.base + 0x9000;
    f.memory.write32(GUEST_PT + 8 * 4, vmmPage | 7);
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const fault = f.shadow.classify(0x8000, 4);
    assert.deepEqual(fault, { kind: 'vmm-memory', physical: vmmPage });
    assert.equal(f.shadow.translate(0x8000, false), undefined);
    assert.equal(shadowEntry(f, f.region.base), f.region.base | PteBit.P | PteBit.RW | PteBit.A | PteBit.D);
  });

  it('CR3 switches reuse cached shadows; running out of VMM pages drops every shadow and rebuilds on demand', () => {
    const f = fakeShadow(0xb000); // three allocatable pages: two directories and the VMM region's own table
    f.memory.write32(GUEST_PT + 5 * 4, 0x200000 | 3);
    f.memory.write32(0x20000, GUEST_PT | 3); // a second guest directory sharing the table
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    const first = f.shadow.realCr3;
    f.shadow.setControls(PG_WP, 0x20000, 0, true);
    f.shadow.setControls(PG_WP, GUEST_PD, 0, true);
    assert.equal(f.shadow.realCr3, first);
    assert.equal(f.shadow.counters.shadowCr3Switches, 3);
    assert.equal(f.shadow.counters.shadowPageDirectoriesBuilt, 2);
    const fault = f.shadow.classify(0x5000, 0);
    assert.ok(fault.kind === 'hidden' && f.shadow.fill(0x5000, fault.walk, false, false), 'filled after dropping the shadows');
    assert.equal(f.shadow.counters.shadowFlushes, 1);
    assert.equal(shadowEntry(f, 0x5000), 0x200000 | PteBit.P);
  });
});
