// VM-entry checks (SDM Vol. 3C chapter 26): VM-execution, VM-exit and VM-entry control fields against the
// capability MSRs (26.2.1), host-state fields (26.2.2-26.2.3), then guest-state fields (26.3.1). A failed
// control or host check makes VMLAUNCH/VMRESUME fail with VMfailValid(7 or 8); a failed guest check is a
// "VM-entry failure due to invalid guest state" VM exit (reason 33 with bit 31 set, 26.8). Checks cover
// the common mistakes of a hand-written VMM, not every rule of the chapter (see README.md).

import type { Cpu } from '../cpu/cpu';
import { MSR, MSR_SLOTS } from '../cpu/stateLayout';
import { TRUE_PROCBASED_ALLOWED0 } from '../cpu/identity';
import { EntryControl, ExitControl, F, Proc2Control, ProcControl, VmInstructionError } from './controls';
import { AR_UNUSABLE } from './guestState';
import type { Vmcs } from './vmcs';

export type EntryCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: number; readonly detail: string } // VMfailValid(error)
  | { readonly ok: false; readonly error: 0; readonly guestState: true; readonly qualification: number; readonly detail: string };

const OK: EntryCheck = { ok: true };

/** Low (allowed-0) and high (allowed-1) halves of a capability MSR as the CPU holds them. */
export function capability(cpu: Cpu, msr: number): [number, number] {
  const slot = MSR_SLOTS.get(msr);
  if (slot === undefined) return [0, 0];
  return [cpu.s[MSR + 2 * slot]! >>> 0, cpu.s[MSR + 2 * slot + 1]! >>> 0];
}

/** A control value obeys its capability MSR: every allowed-0 bit set, nothing outside allowed-1 (SDM A.3-A.5). */
function obeys(value: number, [allowed0, allowed1]: [number, number]): boolean {
  return (value & allowed0) >>> 0 === allowed0 && (value & ~allowed1) === 0;
}

function fail(error: number, detail: string): EntryCheck {
  return { ok: false, error, detail };
}

function guestFail(detail: string, qualification = 0): EntryCheck {
  return { ok: false, error: 0, guestState: true, qualification, detail };
}

/** 26.2.1: VM-execution, VM-exit and VM-entry control fields. */
export function checkControls(cpu: Cpu, vmcs: Vmcs): EntryCheck {
  const proc = vmcs.read(F.PROC_CONTROLS);
  if (!obeys(vmcs.read(F.PIN_CONTROLS), capability(cpu, 0x481))) return fail(VmInstructionError.EntryInvalidControlFields, 'pin-based controls violate IA32_VMX_PINBASED_CTLS');
  // IA32_VMX_BASIC[55] = 1: VM entry checks against IA32_VMX_TRUE_PROCBASED_CTLS (SDM A.3.2).
  if (!obeys(proc, [TRUE_PROCBASED_ALLOWED0, capability(cpu, 0x482)[1]])) return fail(VmInstructionError.EntryInvalidControlFields, 'primary processor-based controls violate IA32_VMX_TRUE_PROCBASED_CTLS');
  const proc2 = (proc & ProcControl.ActivateSecondaryControls) !== 0 ? vmcs.read(F.PROC2_CONTROLS) : 0;
  if (!obeys(proc2, [0, capability(cpu, 0x48b)[1]])) return fail(VmInstructionError.EntryInvalidControlFields, 'secondary controls violate IA32_VMX_PROCBASED_CTLS2');
  if (!obeys(vmcs.read(F.EXIT_CONTROLS), capability(cpu, 0x483))) return fail(VmInstructionError.EntryInvalidControlFields, 'VM-exit controls violate IA32_VMX_EXIT_CTLS');
  if (!obeys(vmcs.read(F.ENTRY_CONTROLS), capability(cpu, 0x484))) return fail(VmInstructionError.EntryInvalidControlFields, 'VM-entry controls violate IA32_VMX_ENTRY_CTLS');
  if (vmcs.read(F.CR3_TARGET_COUNT) > 4) return fail(VmInstructionError.EntryInvalidControlFields, 'CR3-target count above 4');
  if ((proc & ProcControl.UseIoBitmaps) !== 0 && ((vmcs.read(F.IO_BITMAP_A) | vmcs.read(F.IO_BITMAP_B)) & 0xfff) !== 0) {
    return fail(VmInstructionError.EntryInvalidControlFields, 'I/O bitmap address not 4-KiB aligned');
  }
  if ((proc & ProcControl.UseMsrBitmaps) !== 0 && (vmcs.read(F.MSR_BITMAP) & 0xfff) !== 0) return fail(VmInstructionError.EntryInvalidControlFields, 'MSR bitmap address not 4-KiB aligned');
  if ((proc2 & Proc2Control.UnrestrictedGuest) !== 0 && (proc2 & Proc2Control.EnableEpt) === 0) {
    return fail(VmInstructionError.EntryInvalidControlFields, 'unrestricted guest requires enable EPT');
  }
  if ((proc2 & Proc2Control.EnableEpt) !== 0) {
    const eptp = vmcs.read(F.EPT_POINTER);
    // EPTP: memory type 6 (WB) or 0 (UC), page-walk length 3 (a 4-level walk), reserved bits 11:7 zero (SDM 25.6.11).
    if (((eptp & 7) !== 6 && (eptp & 7) !== 0) || ((eptp >>> 3) & 7) !== 3 || (eptp & 0xf80) !== 0) {
      return fail(VmInstructionError.EntryInvalidControlFields, 'invalid EPT pointer');
    }
  }
  const apic = checkApicControls(cpu, vmcs, proc, proc2);
  if (apic !== undefined) return fail(VmInstructionError.EntryInvalidControlFields, apic);
  const injection = vmcs.read(F.ENTRY_INTR_INFO);
  if ((injection & 0x80000000) !== 0) {
    const type = (injection >>> 8) & 7;
    const vector = injection & 0xff;
    if (type === 1 || type === 7 || (type === 2 && vector !== 2) || (type === 3 && vector > 31) || (injection & 0x7ffff000) !== 0) {
      return fail(VmInstructionError.EntryInvalidControlFields, 'invalid VM-entry interruption information');
    }
  }
  if ((vmcs.read(F.ENTRY_CONTROLS) & EntryControl.Ia32eModeGuest) !== 0) return fail(VmInstructionError.EntryInvalidControlFields, 'IA-32e mode guest on an IA-32 processor');
  return OK;
}

/**
 * SDM 26.2.1.1, APIC-virtualization controls: with "use TPR shadow" the virtual-APIC address is 4-KiB aligned,
 * TPR threshold bits 31:4 are 0 and bits 3:0 do not exceed VTPR[7:4] (virtual-interrupt delivery is not
 * supported); with "virtualize APIC accesses" the APIC-access address is 4-KiB aligned. This model also needs
 * the APIC-access page outside RAM (apicVirtualization.ts), and the virtual-APIC page inside it.
 */
function checkApicControls(cpu: Cpu, vmcs: Vmcs, proc: number, proc2: number): string | undefined {
  const ramBytes = cpu.mmu.ram.length;
  if ((proc & ProcControl.UseTprShadow) !== 0) {
    const page = vmcs.read(F.VIRTUAL_APIC_ADDRESS);
    if ((page & 0xfff) !== 0 || vmcs.read(F.VIRTUAL_APIC_ADDRESS + 1) !== 0) return 'virtual-APIC address not 4-KiB aligned within the physical-address width';
    if (page + 0x1000 > ramBytes) return 'virtual-APIC page outside RAM (this model keeps it in RAM)';
    const threshold = vmcs.read(F.TPR_THRESHOLD);
    if ((threshold & ~0xf) !== 0) return 'TPR threshold bits 31:4 not 0';
    if (threshold > (cpu.mmu.readPhysical(page + 0x80, 1) >>> 4)) return 'TPR threshold above VTPR[7:4]';
  }
  if ((proc2 & Proc2Control.VirtualizeApicAccesses) !== 0) {
    const page = vmcs.read(F.APIC_ACCESS_ADDRESS);
    if ((page & 0xfff) !== 0 || vmcs.read(F.APIC_ACCESS_ADDRESS + 1) !== 0) return 'APIC-access address not 4-KiB aligned within the physical-address width';
    if (page < ramBytes) return 'APIC-access page inside RAM (this model virtualizes APIC accesses only for a page outside RAM, e.g. 0xFEE00000)';
  }
  return undefined;
}

function fixedOk(value: number, fixed0: number, fixed1: number): boolean {
  return (value & fixed0) >>> 0 === fixed0 >>> 0 && (value & ~fixed1) === 0;
}

/** 26.2.2-26.2.3: host control registers, selectors, address-space size. */
export function checkHostState(cpu: Cpu, vmcs: Vmcs): EntryCheck {
  const [cr0Fixed0] = capability(cpu, 0x486);
  const [cr0Fixed1] = capability(cpu, 0x487);
  const [cr4Fixed0] = capability(cpu, 0x488);
  const [cr4Fixed1] = capability(cpu, 0x489);
  const bad = (detail: string): EntryCheck => fail(VmInstructionError.EntryInvalidHostState, detail);
  if (!fixedOk(vmcs.read(F.HOST_CR0), cr0Fixed0, cr0Fixed1)) return bad('host CR0 violates IA32_VMX_CR0_FIXED0/1');
  if (!fixedOk(vmcs.read(F.HOST_CR4), cr4Fixed0, cr4Fixed1)) return bad('host CR4 violates IA32_VMX_CR4_FIXED0/1');
  if ((vmcs.read(F.EXIT_CONTROLS) & ExitControl.HostAddressSpaceSize) !== 0) return bad('host address-space size set on an IA-32 processor');
  for (let seg = 0; seg < 7; seg++) {
    if ((vmcs.read(F.HOST_ES_SELECTOR + 2 * seg) & 7) !== 0) return bad('host selector with RPL or TI set');
  }
  if (vmcs.read(F.HOST_ES_SELECTOR + 2) === 0) return bad('host CS selector is null');
  if (vmcs.read(F.HOST_TR_SELECTOR) === 0) return bad('host TR selector is null');
  return OK;
}

/** 26.3.1: guest control registers, RFLAGS, segment registers, activity state, VMCS link pointer. */
export function checkGuestState(cpu: Cpu, vmcs: Vmcs): EntryCheck {
  const proc = vmcs.read(F.PROC_CONTROLS);
  const proc2 = (proc & ProcControl.ActivateSecondaryControls) !== 0 ? vmcs.read(F.PROC2_CONTROLS) : 0;
  const unrestricted = (proc2 & Proc2Control.UnrestrictedGuest) !== 0;
  let [cr0Fixed0] = capability(cpu, 0x486);
  const [cr0Fixed1] = capability(cpu, 0x487);
  if (unrestricted) cr0Fixed0 &= ~0x80000001; // PE and PG are not checked (26.3.1.1)
  const cr0 = vmcs.read(F.GUEST_CR0);
  if (!fixedOk(cr0, cr0Fixed0, cr0Fixed1)) return guestFail('guest CR0 violates IA32_VMX_CR0_FIXED0/1');
  if ((cr0 & 0x80000000) !== 0 && (cr0 & 1) === 0) return guestFail('guest CR0.PG without CR0.PE');
  if (!fixedOk(vmcs.read(F.GUEST_CR4), capability(cpu, 0x488)[0], capability(cpu, 0x489)[0])) return guestFail('guest CR4 violates IA32_VMX_CR4_FIXED0/1');
  const rflags = vmcs.read(F.GUEST_RFLAGS);
  if ((rflags & 2) === 0 || (rflags & 0xffc08028) !== 0) return guestFail('guest RFLAGS reserved bits');
  if ((rflags & 0x20000) !== 0) return guestFail('guest RFLAGS.VM (virtual-8086 guests are not supported)');
  // Protected-mode segment rules (26.3.1.2): CS accessed code, SS.DPL = CPL, TR a busy TSS, LDTR an LDT.
  const csAr = vmcs.read(F.GUEST_ES_AR + 2);
  const ssAr = vmcs.read(F.GUEST_ES_AR + 4);
  if ((cr0 & 1) !== 0) {
    const csType = csAr & 0xf;
    if ((csAr & 0x90) !== 0x90 || ![9, 11, 13, 15].includes(csType)) return guestFail('guest CS access rights: not a present accessed code segment');
    if ((csType & 4) === 0 && ((csAr >>> 5) & 3) !== ((ssAr >>> 5) & 3)) return guestFail('guest CS.DPL differs from SS.DPL');
    if ((ssAr & AR_UNUSABLE) === 0 && ((ssAr & 0xf) !== 3 && (ssAr & 0xf) !== 7)) return guestFail('guest SS is not a writable data segment');
    for (let seg = 0; seg < 6; seg++) {
      const ar = vmcs.read(F.GUEST_ES_AR + 2 * seg);
      if ((ar & AR_UNUSABLE) !== 0) continue;
      const limit = vmcs.read(F.GUEST_ES_LIMIT + 2 * seg);
      if ((ar & 0x80) === 0) return guestFail(`guest segment ${seg} is usable but not present`);
      if (((limit & 0xfff) !== 0xfff && (ar & 0x8000) !== 0) || (limit > 0xfffff && (ar & 0x8000) === 0)) {
        return guestFail(`guest segment ${seg} limit and granularity disagree`);
      }
    }
  }
  const trAr = vmcs.read(F.GUEST_TR_AR);
  if ((trAr & AR_UNUSABLE) !== 0 || ((trAr & 0xf) !== 11 && (trAr & 0xf) !== 3) || (trAr & 0x90) !== 0x80) return guestFail('guest TR is not a present busy TSS');
  if ((vmcs.read(F.GUEST_TR_SELECTOR) & 4) !== 0) return guestFail('guest TR selector has TI set');
  const ldtrAr = vmcs.read(F.GUEST_LDTR_AR);
  if ((ldtrAr & AR_UNUSABLE) === 0 && ((ldtrAr & 0x9f) !== 0x82)) return guestFail('guest LDTR is usable but not a present LDT');
  if (vmcs.read(F.GUEST_ACTIVITY) > 1) return guestFail('unsupported guest activity state');
  if ((vmcs.read(F.GUEST_INTERRUPTIBILITY) & ~0xf) !== 0) return guestFail('guest interruptibility reserved bits');
  // 26.3.1.5: the VMCS link pointer must be FFFFFFFF_FFFFFFFF (no VMCS shadowing); qualification 4.
  if (vmcs.read(F.VMCS_LINK_POINTER) !== 0xffffffff || vmcs.read(F.VMCS_LINK_POINTER + 1) !== 0xffffffff) {
    return guestFail('VMCS link pointer is not FFFFFFFF_FFFFFFFF', 4);
  }
  return OK;
}
