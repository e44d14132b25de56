// APIC virtualization of first-generation VT-x with "FlexPriority" (Intel SDM Vol. 3C chapter 29 "APIC
// Virtualization and Virtual Interrupts" — chapter numbers vary by edition): the primary control "use TPR
// shadow" (bit 21) with the virtual-APIC page (VMCS 0x2012) and TPR threshold (0x401C), and the secondary
// control "virtualize APIC accesses" (bit 0) with the APIC-access page (0x2014). In non-root operation:
//  - a read entirely within bytes 80H-83H of the APIC-access page reads the virtual TPR (VTPR) from the
//    virtual-APIC page instead of the APIC (29.4.2);
//  - a write there writes the virtual-APIC page, clears bytes 81H-83H (APIC-write emulation for offset 80H,
//    29.4.3.3) and performs TPR virtualization (29.1.2): if VTPR[7:4] < TPR threshold[3:0] a trap-like VM exit
//    "TPR below threshold" (reason 43) follows, with RIP at the next instruction;
//  - any other access to the page is a fault-like "APIC access" VM exit (reason 44) before the access happens,
//    exit qualification (SDM Table 28-6, "Exit Qualification for APIC-Access VM Exits"): bits 11:0 the page
//    offset, bits 15:12 the access type (0 linear read, 1 linear write, 2 linear instruction fetch).
// The CPU's MMU hands this unit every physical access outside RAM to the armed page (cpu/vmxHooks.ts
// PhysicalInterposer); the unit is armed on VM entry and disarmed on VM exit. Departures: the APIC-access page
// must lie outside RAM (VM entry refuses others: RAM accesses take the MMU's fast paths and never reach the
// hook); accesses during event delivery and guest-physical (paging-structure) accesses are reported as linear
// data accesses; no APIC-register virtualization, virtual-interrupt delivery or x2APIC virtualization.

import type { Cpu } from '../cpu/cpu';
import { VMX_MEMORY_EXIT, type EptExitInfo } from '../cpu/ept';
import type { PhysicalInterposer } from '../cpu/vmxHooks';
import { EIP } from '../cpu/stateLayout';
import { ExitReason } from '../vmm/exitReasons';
import { encodeApicAccess } from '../vmm/exitQualification';
import { F, Proc2Control, ProcControl } from './controls';
import type { Vmcs } from './vmcs';

/** Offset of the task-priority register in the APIC page (SDM Vol. 3A Table 11-1, "Local APIC Register Address Map"). */
export const TPR_OFFSET = 0x80;

/** Access types of the APIC-access exit qualification, bits 15:12 (SDM Table 28-6). */
export const ApicAccessType = { LinearRead: 0, LinearWrite: 1, LinearFetch: 2 } as const;

/** Counters shown by the engine and asserted by tests. */
export interface ApicVirtualizationCounters {
  /** TPR reads served from the virtual-APIC page. */
  tprReadsVirtualized: number;
  /** TPR writes that went to the virtual-APIC page without a VM exit. */
  tprWritesVirtualized: number;
}

/** What the unit needs from the VMX unit: the exit entry point and the shared pending-exit record. */
export interface ApicExitSink {
  readonly cpu: Cpu;
  /** The record memoryExit reads for a thrown VMX_MEMORY_EXIT (shared with EPT violations). */
  readonly pending: EptExitInfo;
  /** Performs a VM exit now (trap-like exits). */
  exit(fields: { reason: number; rip: number; qualification?: number }): void;
}

export class ApicVirtualization implements PhysicalInterposer {
  /** The armed APIC-access page number (physical address >>> 12), -1 when "virtualize APIC accesses" is off. */
  page = -1;
  private virtualApicPage = 0;
  private tprShadow = false;
  private vmcs: Vmcs | null = null;
  readonly counters: ApicVirtualizationCounters = { tprReadsVirtualized: 0, tprWritesVirtualized: 0 };

  constructor(private readonly sink: ApicExitSink) {}

  /** VM entry: arm from the current controls (nothing to do when "virtualize APIC accesses" is off). */
  arm(vmcs: Vmcs): void {
    const proc = vmcs.read(F.PROC_CONTROLS);
    const proc2 = (proc & ProcControl.ActivateSecondaryControls) !== 0 ? vmcs.read(F.PROC2_CONTROLS) : 0;
    if ((proc2 & Proc2Control.VirtualizeApicAccesses) === 0) {
      this.disarm();
      return;
    }
    this.vmcs = vmcs;
    this.page = vmcs.read(F.APIC_ACCESS_ADDRESS) >>> 12;
    this.tprShadow = (proc & ProcControl.UseTprShadow) !== 0;
    this.virtualApicPage = vmcs.read(F.VIRTUAL_APIC_ADDRESS) & ~0xfff;
    this.sink.cpu.mmu.apicAccess = this;
  }

  /** VM exit (and reset): accesses reach the bus again. */
  disarm(): void {
    this.page = -1;
    this.vmcs = null;
    if (this.sink.cpu.mmu.apicAccess === this) this.sink.cpu.mmu.apicAccess = null;
  }

  /** Whether [offset, offset+size) lies entirely within the TPR dword 80H-83H and the TPR is shadowed. */
  private virtualizes(offset: number, size: number): boolean {
    return this.tprShadow && offset >= TPR_OFFSET && offset + size <= TPR_OFFSET + 4;
  }

  read(address: number, size: 1 | 2 | 4): number {
    const offset = address & 0xfff;
    if (!this.virtualizes(offset, size)) return this.accessExit(offset, ApicAccessType.LinearRead);
    this.counters.tprReadsVirtualized++;
    return this.sink.cpu.mmu.readPhysical(this.virtualApicPage + offset, size);
  }

  write(address: number, size: 1 | 2 | 4, value: number): void {
    const offset = address & 0xfff;
    if (!this.virtualizes(offset, size)) {
      this.accessExit(offset, ApicAccessType.LinearWrite);
      return;
    }
    const mmu = this.sink.cpu.mmu;
    mmu.writePhysical(this.virtualApicPage + offset, size, value);
    // APIC-write emulation for offset 80H: bytes 81H-83H of VTPR are cleared (SDM 29.4.3.3).
    const vtpr = mmu.readPhysical(this.virtualApicPage + TPR_OFFSET, 1);
    mmu.writePhysical(this.virtualApicPage + TPR_OFFSET, 4, vtpr);
    this.counters.tprWritesVirtualized++;
    // TPR virtualization (SDM 29.1.2): a trap-like exit when VTPR[7:4] drops below the threshold. EIP already
    // points past the writing instruction, so RIP is the next one; the write is the instruction's last effect.
    const threshold = this.vmcs!.read(F.TPR_THRESHOLD) & 0xf;
    if (vtpr >>> 4 < threshold) this.sink.exit({ reason: ExitReason.TprBelowThreshold, rip: this.sink.cpu.s[EIP]! });
  }

  /** A fault-like APIC-access VM exit (reason 44): thrown before the access, at the instruction's start. */
  private accessExit(offset: number, type: number): never {
    const pending = this.sink.pending;
    pending.reason = ExitReason.ApicAccess;
    pending.qualification = encodeApicAccess({ offset, accessType: type });
    pending.guestPhysical = 0;
    pending.guestLinear = 0;
    const fault = this.sink.cpu.fault;
    fault.vector = VMX_MEMORY_EXIT;
    fault.errorCode = 0;
    fault.hasErrorCode = false;
    fault.reason = 'APIC access';
    throw fault;
  }
}
