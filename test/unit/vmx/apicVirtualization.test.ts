// APIC virtualization exit tests (issue 6, SDM Vol. 3C chapter 29): a root-mode VMM in NASM launches a flat
// ring-0 guest with "use TPR shadow" (primary bit 21), "virtualize APIC accesses" (secondary bit 0), the
// virtual-APIC page (VMCS 0x2012), the APIC-access page 0xFEE00000 (0x2014) and a TPR threshold (0x401C). A TPR
// write at offset 80H is virtualized without an exit unless VTPR[7:4] drops below the threshold (trap-like
// exit 43 after the instruction); any other access to the page is a fault-like exit 44 whose qualification
// holds the offset and the access type (Table 28-6); entry checks refuse bad addresses and thresholds.

import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { HardwareAssistEngine } from '../../../src/emulator/vmm/hardwareAssist/engine';
import { parseControls } from '../../../src/emulator/vmm/hardwareAssist/controls';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { F, VmInstructionError } from '../../../src/emulator/vmx/controls';
import { buildKernel, scratchDir } from '../vmm/tools';
import { flatGuestAndHost, POINTERS, PROLOGUE, vmxMachine, write } from './vmmKit';

const PRIMARY_DEFAULT = 0x0401e172; // IA32_VMX_PROCBASED_CTLS allowed-0 of this CPU
const USE_TPR_SHADOW = 1 << 21;
const SECONDARY = 0x80000000;
const VIRTUALIZE_APIC_ACCESSES = 1 << 0;
const VIRTUAL_APIC_PAGE = 0x26000;
const APIC_PAGE = 0xfee00000;

interface Setup {
  readonly tprShadow?: boolean;
  readonly virtualizeApic?: boolean;
  readonly threshold?: number;
  readonly apicAccessAddress?: number;
  readonly initialVtpr?: number;
}

function setup({ tprShadow = true, virtualizeApic = true, threshold = 0, apicAccessAddress = APIC_PAGE, initialVtpr = 0 }: Setup): string {
  return [
    `mov dword [${VIRTUAL_APIC_PAGE + 0x80}], ${initialVtpr}`,
    write(F.PROC_CONTROLS, (PRIMARY_DEFAULT | SECONDARY | (tprShadow ? USE_TPR_SHADOW : 0)) >>> 0),
    write(F.PROC2_CONTROLS, virtualizeApic ? VIRTUALIZE_APIC_ACCESSES : 0),
    write(F.VIRTUAL_APIC_ADDRESS, VIRTUAL_APIC_PAGE),
    write(F.APIC_ACCESS_ADDRESS, apicAccessAddress),
    write(F.TPR_THRESHOLD, threshold),
  ].join('\n');
}

/** VMM + guest; the host records the exit and halts. EDX holds a guest label so tests can check GUEST_RIP. */
function run(guest: string, options: Setup = {}) {
  const m = vmxMachine(`${PROLOGUE}\n${flatGuestAndHost('guest', 'host')}\n${setup(options)}\n vmlaunch\n mov esi, 0xbad\n hlt\n` +
    `host: mov esi, 0x600d\n hlt\nguest:\n${guest}\n hlt\n${POINTERS}`);
  const stop = m.cpu.run(20000);
  const vtpr = m.cpu.mmu.readPhysical(VIRTUAL_APIC_PAGE + 0x80, 4) >>> 0;
  return { ...m, stop, vtpr, exit: m.vmx.lastExit, guestRip: m.vmx.current?.read(F.GUEST_RIP) ?? -1 };
}

describe('VMX APIC virtualization: TPR shadow and APIC-access page', () => {
  it('a TPR write at 0xFEE00080 is virtualized without an exit; the TPR reads back from the virtual-APIC page', () => {
    const m = run(`mov dword [${APIC_PAGE + 0x80}], 0x12345650\nmov eax, [${APIC_PAGE + 0x80}]\nvmcall`);
    assert.equal(m.vmx.lastEntryFailure, '');
    assert.equal(m.exit?.reason, 18, 'the first exit is the VMCALL');
    assert.equal(m.vtpr, 0x50, 'VTPR holds the written byte; bytes 81H-83H are cleared (APIC-write emulation)');
    assert.equal(m.cpu.s[0]! >>> 0, 0x50, 'the guest read the virtual TPR');
    assert.deepEqual(m.vmx.apic.counters, { tprReadsVirtualized: 1, tprWritesVirtualized: 1 });
  });

  it('a TPR write below the threshold is a trap-like exit 43 with RIP after the write', () => {
    const m = run(`mov edx, after\nmov dword [${APIC_PAGE + 0x80}], 0x20\nafter: vmcall`, { threshold: 3, initialVtpr: 0x40 });
    assert.equal(m.exit?.reason, 43);
    assert.equal(m.exit?.qualification, 0);
    assert.equal(m.guestRip, m.cpu.s[2]! >>> 0, 'GUEST_RIP is the next instruction');
    assert.equal(m.vtpr, 0x20, 'the write happened before the exit');
    const equal = run(`mov dword [${APIC_PAGE + 0x80}], 0x30\nvmcall`, { threshold: 3, initialVtpr: 0x40 });
    assert.equal(equal.exit?.reason, 18, 'VTPR[7:4] = threshold does not exit');
  });

  it('other APIC-page accesses are fault-like exits 44: qualification = offset | access type << 12, RIP at the access', () => {
    const read = run(`mov edx, access\naccess: mov eax, [${APIC_PAGE + 0x20}]\nvmcall`);
    assert.deepEqual([read.exit?.reason, read.exit?.qualification], [44, 0x020]);
    assert.equal(read.guestRip, read.cpu.s[2]! >>> 0, 'the read did not complete');
    const eoi = run(`mov dword [${APIC_PAGE + 0xb0}], 0\nvmcall`);
    assert.deepEqual([eoi.exit?.reason, eoi.exit?.qualification], [44, 0x10b0]);
    const straddle = run(`mov eax, [${APIC_PAGE + 0x82}]\nvmcall`);
    assert.deepEqual([straddle.exit?.reason, straddle.exit?.qualification], [44, 0x082], 'a read past 83H is not virtualized');
  });

  it('without "use TPR shadow" the TPR write itself exits 44; without "virtualize APIC accesses" nothing exits', () => {
    const noShadow = run(`mov dword [${APIC_PAGE + 0x80}], 0x50\nvmcall`, { tprShadow: false });
    assert.deepEqual([noShadow.exit?.reason, noShadow.exit?.qualification], [44, 0x1080]);
    assert.equal(noShadow.vtpr, 0);
    const plain = run(`mov dword [${APIC_PAGE + 0x80}], 0x50\nvmcall`, { virtualizeApic: false });
    assert.equal(plain.exit?.reason, 18);
    assert.equal(plain.vtpr, 0, 'the write went to the bus, not the virtual-APIC page');
  });

  it('VM entry fails (VMfailValid 7) on a misaligned or in-RAM APIC-access page and a threshold above VTPR[7:4]', () => {
    for (const [options, why] of [
      [{ apicAccessAddress: APIC_PAGE + 8 }, /APIC-access address not 4-KiB aligned/],
      [{ apicAccessAddress: 0x27000 }, /APIC-access page inside RAM/],
      [{ threshold: 5, initialVtpr: 0x40 }, /TPR threshold above VTPR/],
      [{ threshold: 0x10 }, /TPR threshold bits 31:4/],
    ] as const) {
      const m = run('vmcall', options);
      assert.equal(m.exit, null, 'no VM entry');
      assert.equal(m.cpu.s[6], 0xbad, 'VMLAUNCH fell through');
      assert.match(m.vmx.lastEntryFailure, why);
      assert.equal(m.vmx.current?.read(F.VM_INSTRUCTION_ERROR), VmInstructionError.EntryInvalidControlFields);
    }
  });
});

describe('the hardware-assisted engine with TPR shadow: guest APIC accesses as on bare metal', function () {
  this.timeout(60000);

  function run(technique: 'native' | 'hardware-assisted', ept: boolean) {
    const dir = scratchDir('apic-guest');
    const image = new Uint8Array(readFileSync(buildKernel(path.join(__dirname, 'apicGuest.asm'), dir)));
    const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
    const loaded = machine.boot(image, { kernelName: 'apicGuest' });
    if ('error' in loaded) throw new Error(loaded.error);
    const parsed = parseControls({ ept });
    assert.ok(parsed.ok);
    const cost = new CostModel('p4-2006');
    const engine = technique === 'native' ? new NativeEngine(machine, cost) : new HardwareAssistEngine(machine, { architecture: 'monolithic', costModel: cost, controls: parsed.controls });
    const stop = engine.run(1_000_000);
    const view = new DataView(machine.memory.ram.buffer, machine.memory.ram.byteOffset);
    const results = [0, 4, 8, 12].map((offset) => view.getUint32(0x500 + offset, true));
    const exits = new Map(engine.exitCounts().map((c) => [c.reason, c.count]));
    return { stop, results, exits, engine };
  }

  it('TPR write and read-back, APIC version and TPR of the real APIC: the values native gives, EPT on and off', () => {
    const native = run('native', true);
    assert.deepEqual(native.stop, { kind: 'guest-exit', status: 33 });
    assert.equal(native.results[3], 0x600d);
    assert.equal(native.results[0], 0x20, 'natively the local APIC holds the TPR');
    for (const ept of [true, false]) {
      const vt = run('hardware-assisted', ept);
      assert.deepEqual(vt.stop, { kind: 'guest-exit', status: 33 }, `ept ${ept}`);
      assert.deepEqual(vt.results, native.results, `ept ${ept}: same values as natively`);
      assert.equal(vt.exits.get(44), 1, `ept ${ept}: only the version read exits (APIC access)`);
      assert.equal(vt.exits.get(43), undefined, `ept ${ept}: TPR threshold 0, nothing below it`);
      assert.deepEqual((vt.engine as HardwareAssistEngine).unit.apic.counters, { tprReadsVirtualized: 2, tprWritesVirtualized: 2 });
    }
  });
});
