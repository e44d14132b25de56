// Xen-style direct paging under the paravirtual engine (issue 6 "memory virtualization", issue 5 paging
// hypercalls): samples/vmm/forkbench.asm built natively and with -DPARAVIRTUAL prints the same checksum in
// QEMU, natively and under `paravirtual` (equivalence), through batched mmu_update and new_baseptr; and
// paravirtual-paging.guest.asm gets every refusal the validation rules promise as an errno (never a crash), a
// page fault on a direct page-table write with CR2 in the shared-info page, console_io read of serial input and
// the failsafe callback for a bad iret frame.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { ParavirtualEngine } from '../../../src/emulator/vmm/paravirtual/engine';
import { VMM_REGION_SIZE } from '../../../src/emulator/vmm/trapAndEmulate/shadowTables';
import { SAMPLES_VMM, buildKernel, runInQemu, scratchDir } from './tools';

const MEMORY_MIB = 32;
const FORKBENCH_LINE = /^forkbench: 4 address spaces, 64 rounds, 2048 PTE writes, 256 CR3 switches, checksum 0x[0-9a-f]{8}\n$/;

function boot(elf: string, input = '') {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: MEMORY_MIB }));
  let serial = '';
  machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
  const loaded = machine.boot(new Uint8Array(readFileSync(elf)), { kernelName: 'k' });
  if ('error' in loaded) throw new Error(loaded.error);
  if (input !== '') machine.serialInput([...input].map((c) => c.charCodeAt(0)));
  return { machine, serial: () => serial };
}

describe('paravirtual direct paging', function () {
  this.timeout(60000);
  const dir = scratchDir('pv-paging');
  const forkNative = buildKernel(path.join(SAMPLES_VMM, 'forkbench.asm'), dir);
  const forkPvDir = scratchDir('pv-paging-pv');
  const forkPv = buildKernel(path.join(SAMPLES_VMM, 'forkbench.asm'), forkPvDir, ['PARAVIRTUAL']);
  const vmmFrame = MEMORY_MIB * 1024 * 1024 - VMM_REGION_SIZE;
  const guest = buildKernel(path.join(__dirname, 'paravirtual-paging.guest.asm'), dir, [`VMM_FRAME=0x${vmmFrame.toString(16)}`]);

  let pvRun: { serial: string; engine: ParavirtualEngine; stop: unknown } | undefined;
  function forkbenchPv() {
    if (pvRun !== undefined) return pvRun;
    const { machine, serial } = boot(forkPv);
    const engine = new ParavirtualEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    const stop = engine.run(50_000_000);
    pvRun = { serial: serial(), engine, stop };
    return pvRun;
  }

  it('forkbench: the PV port prints the checksum of the native build, natively and in QEMU (equivalence)', () => {
    const qemu = runInQemu(forkNative);
    assert.match(qemu.serial, FORKBENCH_LINE);
    assert.equal(qemu.status, 33);
    const native = boot(forkNative);
    const stop = new NativeEngine(native.machine, new CostModel('p4-2006')).run(50_000_000);
    assert.deepEqual(stop, { kind: 'guest-exit', status: 33 });
    assert.equal(native.serial(), qemu.serial);
    const pv = forkbenchPv();
    assert.deepEqual(pv.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(pv.serial, qemu.serial);
  });

  it('forkbench: 2,048 PTE writes in 256 batched mmu_update hypercalls, 257 new_baseptr, no page faults', () => {
    const { engine } = forkbenchPv();
    const stats = engine.memoryStats();
    assert.equal(stats.scheme, 'direct-paging');
    assert.equal(stats.counters.mmuUpdates, 256);
    assert.equal(stats.counters.mmuUpdateRequests, 2048);
    assert.equal(stats.counters.baseptrSwitches, 257);
    assert.equal(stats.counters.rejectedUpdates, 0);
    assert.equal(stats.counters.tablesValidated, 9, '4 directories + 4 window tables + the shared kernel table');
    const transitions = engine.log.list();
    assert.equal(transitions.filter((t) => t.reason === 'hypercall 1 mmu_update').length, 256);
    assert.equal(transitions.filter((t) => t.reason === 'hypercall 26 mmuext_op').length, 4 + 257, 'pins + new_baseptr');
    assert.ok(!transitions.some((t) => t.reason.startsWith('#PF')), 'no page fault ever reaches the VMM');
  });

  it('refuses unsafe page-table updates with an errno and a reason, applies safe ones, reflects #PF with CR2', () => {
    const { machine, serial } = boot(guest, 'hi');
    const engine = new ParavirtualEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    const stop = engine.run(5_000_000);
    assert.deepEqual(stop, { kind: 'guest-exit', status: 33 });
    const EPERM = '0xffffffff';
    const EINVAL = '0xffffffea';
    assert.equal(
      serial(),
      [
        'base=0x00000000', `vmm=${EPERM}`, `ptw=${EPERM}`, `slot=${EPERM}`, `pse=${EINVAL}`, `notpt=${EINVAL}`, 'map=0x00000000',
        'alias=0x00c0ffee', 'pf.cr2-table=0x00000008', 'pf.entry=0x00002003', 'pf.code=0x00000003', 'read=0x00000002', 'hifailsafe', '',
      ].join('\n'),
    );
    const reasons = engine.log.list().map((t) => t.reason);
    for (const why of ['maps VMM memory', 'writable', 'is reserved for the VMM', '4 MiB pages (PS) are not supported', 'is not in a validated page table']) {
      assert.ok(reasons.some((r) => r.startsWith('return from hypercall') && r.includes(why)), why);
    }
    assert.ok(reasons.some((r) => r.startsWith('#PF')), 'the page-table write trapped into the VMM and was reflected');
    assert.ok(reasons.some((r) => r.includes('failsafe callback')));
    const stats = engine.memoryStats();
    assert.equal(stats.counters.rejectedUpdates, 5);
    assert.equal(stats.counters.invlpgs, 1);
  });

  it('saves and restores the validation state with the engine', () => {
    const { engine } = forkbenchPv();
    const state = engine.saveState();
    const { machine } = boot(forkPv);
    const copy = new ParavirtualEngine(machine, { architecture: 'monolithic', costModel: new CostModel('p4-2006') });
    copy.loadState(state);
    assert.deepEqual(copy.memoryStats().counters, engine.memoryStats().counters);
  });
});
