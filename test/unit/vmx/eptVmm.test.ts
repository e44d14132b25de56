// EPT through the VMX instructions (issue 6): a root-mode VMM written in NASM enables EPT for its guest
// (secondary control 1, EPTP 25.6.11), gets EPT-violation exits (48) with the qualification of SDM Vol. 3C
// Table 28-7 and the guest-physical address in VMCS field 0x2400, maps the page, runs INVEPT and resumes;
// INVEPT with an unsupported type fails with VM-instruction error 28; CR3 loads do not exit once CR3-load
// exiting is cleared (allowed by IA32_VMX_TRUE_PROCBASED_CTLS); and a CPU snapshot taken in non-root
// operation with EPT replays identically.

import { strict as assert } from 'node:assert';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { F } from '../../../src/emulator/vmx/controls';
import { read32, write32 } from '../cpu/harness';
import { EPT, identityEpt } from './eptKit';
import { flatGuestAndHost, POINTERS, PROLOGUE, vmxMachine, write } from './vmmKit';

const EPT_BASE = 0x100000;
const HOLES = [0x60000, 0x61000];
const LAST_GPA = 0x2f000; // where the VMM stores what it read from the VMCS
const TRUE_PRIMARY = 0x04006172; // IA32_VMX_TRUE_PROCBASED_CTLS allowed-0: no CR3-load/store exiting

/** VMM: EPT on; on exit 48 it maps the GPA's page RWX, INVEPTs (all-context) and resumes; other exits stop it. */
function eptVmm(guest: string, extraSetup = '', eptp = identityEptp()): string {
  return `LAST_GPA equ ${LAST_GPA}
LAST_QUALIFICATION equ ${LAST_GPA + 4}
${PROLOGUE}
${flatGuestAndHost('guest', 'host')}
${write(F.PROC_CONTROLS, (TRUE_PRIMARY | 0x80000000 | (1 << 7)) >>> 0)}
${write(F.PROC2_CONTROLS, 2)}
${write(F.EPT_POINTER, eptp)}
${write(F.EPT_POINTER + 1, 0)}
${extraSetup}
  vmlaunch
  mov esi, 0xbad
  hlt
host:
  pushad                  ; the guest's general registers (a VM exit does not save them)
  mov eax, ${F.EXIT_REASON}
  vmread ebx, eax
  cmp ebx, 48
  jne .done
  mov eax, ${F.GUEST_PHYSICAL_ADDRESS}
  vmread ecx, eax
  mov [LAST_GPA], ecx
  mov eax, ${F.EXIT_QUALIFICATION}
  vmread edx, eax
  mov [LAST_QUALIFICATION], edx
  shr ecx, 12
  lea edi, [${EPT_BASE + 0x3000} + ecx*8]
  shl ecx, 12
  or ecx, ${EPT.WB | EPT.RWX}
  mov [edi], ecx
  mov eax, 2
  invept eax, [invept_descriptor]
  popad
  vmresume
  mov esi, 0xbad2
  hlt
.done:
  mov esi, 0x600d
  hlt
guest:
${guest}
  cpuid
  hlt
align 16
invept_descriptor: dd ${EPT_BASE | 0x1e}, 0, 0, 0
${POINTERS}`;
}

let eptpForHoles = 0;
function identityEptp(): number {
  return eptpForHoles;
}

function machineWithHoles(source: () => string) {
  // The EPTP is constant; tables are written into RAM after the image is loaded (above the image, at 1 MiB).
  eptpForHoles = (EPT_BASE | 0x1e) >>> 0;
  const m = vmxMachine(source());
  identityEpt(m.ram, EPT_BASE, 8 << 20, (gpa) => (HOLES.includes(gpa) ? 0 : EPT.RWX));
  return m;
}

const GUEST = `
  mov eax, [0x60004]
  mov [0x61008], eax
  mov ebx, cr3
  mov cr3, ebx`;

describe('EPT through VMX: a hypervisor in assembly', () => {
  it('EPT violations exit with reason 48, Table 28-7 qualification and the GPA; the VMM maps, INVEPTs, resumes', () => {
    const m = machineWithHoles(() => eptVmm(GUEST));
    write32(m.ram, 0x60004, 0x11223344);
    m.cpu.run(50000);
    assert.equal(m.cpu.s[6], 0x600d, `the VMM finished (esi=${m.cpu.s[6]!.toString(16)}, ${m.vmx.lastEntryFailure})`);
    assert.equal(m.vmx.lastExit!.reason, 10, 'the guest ran to CPUID');
    assert.equal(m.vmx.exitCounts.get(48), 2);
    assert.equal(m.vmx.exitCounts.get(28), undefined, 'no CR3 exits with CR3-load/store exiting clear');
    assert.equal(read32(m.ram, 0x61008), 0x11223344, 'the guest store reached the mapped page');
    assert.equal(m.vmx.inveptCounts.allContext, 2);
    // The second violation: a data write (bit 1), not present (no permissions), linear valid + final access.
    assert.equal(read32(m.ram, LAST_GPA), 0x61008, 'VMREAD of the guest-physical address');
    assert.equal(read32(m.ram, LAST_GPA + 4), 0x2 | 0x80 | 0x100, 'VMREAD of the exit qualification');
  });

  it('INVEPT: type 3 fails with VM-instruction error 28; a single-context INVEPT with a bad EPTP too', () => {
    const m = machineWithHoles(() => `${PROLOGUE}
  mov eax, 3
  invept eax, [descriptor]
  setz cl
  mov eax, ${F.VM_INSTRUCTION_ERROR}
  vmread ebx, eax
  mov eax, 1
  invept eax, [bad]
  setz ch
  mov eax, ${F.VM_INSTRUCTION_ERROR}
  vmread edx, eax
  mov eax, 1
  invept eax, [descriptor]
  setz al
  hlt
align 16
descriptor: dd ${EPT_BASE | 0x1e}, 0, 0, 0
bad: dd ${EPT_BASE | 0x26}, 0, 0, 0
${POINTERS}`);
    m.cpu.run(10000);
    const s = m.cpu.s;
    assert.deepEqual([s[1]! & 0xff, s[3], (s[1]! >>> 8) & 0xff, s[2], s[0]! & 0xff], [1, 28, 1, 28, 0]);
    assert.equal(m.vmx.inveptCounts.singleContext, 1);
  });

  it('a CPU snapshot in non-root operation with EPT replays to the identical state', () => {
    const m = machineWithHoles(() => eptVmm(GUEST));
    write32(m.ram, 0x60004, 0x55667788);
    const cpu = m.cpu as Cpu;
    for (let i = 0; i < 5000 && !m.vmx.nonRoot; i++) cpu.run(1);
    assert.ok(m.vmx.nonRoot && cpu.mmu.ept !== null, 'in non-root operation with EPT');
    const snapshot = cpu.saveState();
    const ram = m.ram.slice();
    cpu.run(50000);
    const first = { state: [...cpu.s], exits: [...m.vmx.exitCounts], ept: { ...m.vmx.ept.counters }, ram: m.ram.slice() };
    m.ram.set(ram);
    cpu.loadState(snapshot);
    assert.ok(m.vmx.nonRoot && cpu.mmu.ept !== null, 'restored into non-root operation with EPT');
    cpu.run(50000);
    assert.deepEqual([...cpu.s], first.state);
    assert.deepEqual([...m.vmx.exitCounts], first.exits);
    assert.deepEqual({ ...m.vmx.ept.counters }, first.ept);
    assert.ok(Buffer.from(m.ram).equals(Buffer.from(first.ram)));
    assert.equal(m.cpu.s[6], 0x600d);
  });

  it('EPT violations during exception delivery report IDT-vectoring information', () => {
    // The guest's IDT page (0x1000 in the harness layout) is unmapped: the guest's #UD cannot be delivered.
    const m = vmxMachine(eptVmm('ud2', '', (EPT_BASE | 0x1e) >>> 0).replace('jne .done', 'jmp .done'));
    identityEpt(m.ram, EPT_BASE, 8 << 20, (gpa) => (gpa === 0x1000 ? 0 : EPT.RWX));
    m.cpu.run(50000);
    const exit = m.vmx.lastExit!;
    assert.equal(exit.reason, 48);
    assert.equal(exit.guestPhysicalAddress, 0x1000 + 6 * 8);
    assert.equal(exit.idtVectoringInfo, (0x80000000 | (3 << 8) | 6) >>> 0, 'hardware exception #UD, valid');
    assert.equal(exit.qualification & 0x7, 1, 'a read of the IDT gate');
  });
});
