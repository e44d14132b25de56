// The built-in hardware-assisted VMM with EPT (issue 6 "Memory virtualization"): paging guests run in VMX
// non-root operation with the same guest-visible results as native — the fork-like page-table-heavy sample
// (CR3 switches, PTE writes) and the CPU issue's paging kernel (#PF handled by the guest) — with no exits for
// CR3 loads or guest page faults, one EPT violation per first touch of a guest page (the lazily built EPT),
// and 14 memory references per TLB miss (2-level guest paging over 4-level EPT). The CR3 controls and EPT
// switch change the exits; without EPT a paging guest stops with a clear message. vmcsInfo() groups the VMCS
// as SDM 25.4-25.9 do, and an engine + machine snapshot replays identically.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CR } from '../../../src/emulator/cpu/stateLayout';
import { Ia32CpuAdapter } from '../../../src/emulator/machine/cpuAdapter';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import type { EngineStop, ExecutionEngine } from '../../../src/emulator/vmm/engine';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls, type HardwareAssistControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { buildKernel as buildTestKernel } from '../../differential/tools';
import { SAMPLES_VMM, buildKernel, scratchDir } from '../vmm/tools';

const dir = scratchDir('hardware-assist-ept');
const FORKBENCH = path.join(SAMPLES_VMM, 'forkbench.asm');
const images = new Map<string, Uint8Array>();

function image(which: 'forkbench' | 'paging' | 'userpf'): Uint8Array {
  let bytes = images.get(which);
  if (bytes === undefined) {
    bytes = new Uint8Array(readFileSync(which === 'forkbench' ? buildKernel(FORKBENCH, dir) : buildTestKernel(which)));
    images.set(which, bytes);
  }
  return bytes;
}

const cost = new CostModel('p4-2006');

function run(which: 'forkbench' | 'paging' | 'userpf', make: (machine: ReturnType<typeof createPcMachine>) => ExecutionEngine) {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image(which), { kernelName: which });
  if ('error' in loaded) throw new Error(loaded.error);
  const engine = make(machine);
  let stop: EngineStop = engine.run(20_000_000);
  for (let i = 0; i < 200 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
  const counts = new Map(engine.exitCounts().map((c) => [c.reason, c.count]));
  return { stop, serial, engine, counts, machine };
}

const native = (which: 'forkbench' | 'paging' | 'userpf') => run(which, (m) => new NativeEngine(m, cost));
function vtx(which: 'forkbench' | 'paging' | 'userpf', controls: Partial<HardwareAssistControls> = {}) {
  const parsed = parseControls(controls);
  assert.ok(parsed.ok);
  const result = run(which, (m) => new HardwareAssistEngine(m, { architecture: 'monolithic', costModel: cost, controls: parsed.controls }));
  return { ...result, hw: result.engine as HardwareAssistEngine };
}

describe('hardware-assisted engine with EPT (nested paging)', function () {
  this.timeout(180000);

  it('forkbench (256 CR3 switches, 2048 PTE writes): native output, no CR3 or #PF exits, lazy EPT fills, 14 references per miss', () => {
    const bare = native('forkbench');
    const { serial, stop, counts, hw } = vtx('forkbench');
    assert.match(bare.serial, /checksum 0x[0-9a-f]{8}/);
    assert.equal(serial, bare.serial);
    assert.deepEqual(stop, bare.stop);
    assert.equal(counts.get(28), undefined, 'CR3 loads do not exit');
    assert.equal(counts.get(0), undefined, 'no exception exits');
    const stats = hw.memoryStats();
    assert.equal(stats.scheme, 'nested-paging');
    assert.ok((counts.get(48) ?? 0) > 0);
    assert.equal(stats.counters['eptFills'], counts.get(48), 'every EPT violation filled one mapping');
    assert.equal(stats.counters['mappedGuestPages'], counts.get(48), 'one violation per guest page touched');
    assert.equal(stats.counters['maxMissReferences'], 14, '2-level guest paging over 4-level EPT');
    assert.ok(stats.counters['tlbMisses']! > 256, 'every CR3 switch costs TLB misses');
  });

  it('CR3-load/store exiting is a switch: exits 28 appear with the same output', () => {
    const bare = native('forkbench');
    const exiting = vtx('forkbench', { cr3LoadExiting: true, cr3StoreExiting: true });
    assert.equal(exiting.serial, bare.serial);
    assert.ok((exiting.counts.get(28) ?? 0) >= 256, `CR3 loads exit (${exiting.counts.get(28)})`);
  });

  it("the CPU issue's paging kernels (#PF to the guest's handler, WP, INVLPG, user-mode faults) match native", () => {
    for (const kernel of ['paging', 'userpf'] as const) {
      const bare = native(kernel);
      assert.match(bare.serial, /PF/, `${kernel} reports its page faults`);
      const { serial, stop, counts } = vtx(kernel);
      assert.equal(serial, bare.serial, kernel);
      assert.deepEqual(stop, bare.stop, kernel);
      assert.equal(counts.get(0), undefined, `${kernel}: guest #PFs went straight to the guest`);
    }
  });

  it('vmcsInfo() groups the VMCS as SDM 25.4-25.9 and decodes controls, EPTP and the last exit', () => {
    const { hw } = vtx('paging');
    const info = hw.vmcsInfo()!;
    assert.deepEqual(info.groups.map((g) => g.name), [
      'Guest-state area', 'Host-state area', 'VM-execution control fields', 'VM-exit control fields', 'VM-entry control fields', 'VM-exit information fields',
    ]);
    const field = (name: string) => info.groups.flatMap((g) => g.fields).find((f) => f.name === name);
    const groupOf = (name: string) => info.groups.find((g) => g.fields.some((f) => f.name === name))?.name;
    assert.equal(groupOf('GUEST_CR3'), 'Guest-state area');
    assert.equal(groupOf('EPT_POINTER'), 'VM-execution control fields');
    assert.equal(groupOf('VM_EXIT_CONTROLS'), 'VM-exit control fields');
    assert.equal(groupOf('VM_ENTRY_CONTROLS'), 'VM-entry control fields');
    assert.equal(groupOf('VM_EXIT_REASON'), 'VM-exit information fields');
    assert.match(field('SECONDARY_VM_EXEC_CONTROL')!.decoded!, /enable EPT.*unrestricted guest/);
    assert.doesNotMatch(field('CPU_BASED_VM_EXEC_CONTROL')!.decoded!, /CR3-load exiting/);
    assert.match(field('EPT_POINTER')!.decoded!, /memory type WB, 4-level walk/);
    assert.match(field('EPT_POINTER')!.value, /^0x[0-9a-f]{16}$/);
    assert.match(field('VM_EXIT_REASON')!.decoded!, /^\d+ /);
    assert.equal(info.launchState, 'launched');
  });

  it('a guest access above guest RAM (the VMM-owned top of memory) is a clear stop, not a mapping', () => {
    const source = path.join(dir, 'outside.asm');
    writeFileSync(source, [
      'bits 32', '%include "multiboot.inc"', '%include "com1.inc"', '%include "pc.inc"', 'MULTIBOOT_HEADER', '_start:',
      '    STANDARD_BOOT fault', '    mov eax, [0x1fff000]', '    EXIT_QEMU EXIT_SUCCESS', 'fault:', '    EXIT_QEMU EXIT_FAILURE',
      'COM1_ROUTINES', 'PC_ROUTINES', 'STANDARD_TABLES', 'MULTIBOOT_END', '',
    ].join('\n'));
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(new Uint8Array(readFileSync(buildKernel(source, dir))), { kernelName: 'outside' });
    if ('error' in loaded) throw new Error(loaded.error);
    const parsed = parseControls({});
    assert.ok(parsed.ok);
    const engine = new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: cost, controls: parsed.controls });
    const stop = engine.run(1_000_000);
    assert.equal(stop.kind, 'stop');
    assert.match((stop as { message: string }).message, /guest-physical 0x1fff000, outside its RAM \(0-0x[0-9a-f]+; the VMM owns the pages above\)/);
    assert.equal(engine.unit.lastExit!.reason, 48);
    assert.equal(engine.unit.lastExit!.qualification & 7, 1, 'a data read');
  });

  it('the debugger reads guest memory the guest has not touched yet (the VMM maps guest RAM identically)', () => {
    const parsed = parseControls({});
    assert.ok(parsed.ok);
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(image('forkbench'), { kernelName: 'forkbench' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: cost, controls: parsed.controls });
    engine.run(200_000);
    const core = (machine.cpu as Ia32CpuAdapter).core;
    assert.ok(engine.unit.nonRoot && core.mmu.ept !== null && (core.s[CR]! & 0x80000000) !== 0, 'guest paging on, under EPT');
    const linear = 0x3ff000; // identity-mapped by the guest's kernel page table, never touched
    machine.memory.ram[linear] = 0x5a;
    assert.equal(core.peekLinear(linear), 0x5a);
    const fallback = engine.unit.ept.peekFallback;
    engine.unit.ept.peekFallback = null;
    assert.equal(core.peekLinear(linear), undefined, 'the EPT itself does not map it yet');
    engine.unit.ept.peekFallback = fallback;
  });

  it('a machine + engine snapshot taken under EPT replays to identical output and counters', () => {
    const parsed = parseControls({});
    assert.ok(parsed.ok);
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    let serial = '';
    machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
    const loaded = machine.boot(image('forkbench'), { kernelName: 'forkbench' });
    if ('error' in loaded) throw new Error(loaded.error);
    const engine = new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: cost, controls: parsed.controls });
    engine.run(200_000);
    const machineState = machine.saveState();
    const engineState = engine.saveState();
    const serialBefore = serial;
    const finish = () => {
      let stop: EngineStop = engine.run(20_000_000);
      for (let i = 0; i < 200 && stop.kind === 'halt'; i++) stop = engine.run(20_000_000);
      return { stop, serial, stats: engine.memoryStats(), exits: engine.unit.exitCounts.get(48) };
    };
    const first = finish();
    machine.loadState(machineState);
    engine.loadState(engineState);
    serial = serialBefore;
    const second = finish();
    assert.deepEqual(second, first);
    assert.match(first.serial, /checksum/);
  });
});
