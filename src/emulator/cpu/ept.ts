// Extended page tables (Intel SDM Vol. 3C chapter 29 "VMX support for address translation", 29.3 EPT): in VMX
// non-root operation with "enable EPT", every guest-physical address — the final address of an access and
// each guest paging-structure entry the guest walk reads — goes through a 4-level EPT walk (PML4E, PDPTE,
// PDE, PTE; 2-MiB pages through PDE bit 7). An entry with bits 2:0 clear is not present and an access its
// R/W/X bits (ANDed over the walk) do not allow is an EPT violation (exit 48, qualification Table 28-7,
// 29.3.3.2); a malformed entry is an EPT misconfiguration (exit 49, 29.3.3.1). Both are thrown as the CPU's
// GuestFault with the pseudo-vector VMX_MEMORY_EXIT; the VMX unit turns it into the VM exit (vmx/vmxUnit.ts).
// The 2-D walk counts memory references per TLB miss: (n+1)(m+1)-1 for n guest and m EPT levels without
// paging-structure caches (Bhargava et al., ASPLOS 2008): 14 for 32-bit 2-level guest paging, 9 for a 4-MiB
// guest page, 4 with guest paging off. A/D updates of guest entries are writes but not counted as references.
//
// Capabilities modelled (IA32_VMX_EPT_VPID_CAP is not implemented as an MSR): 4-level walks, WB/UC EPTP,
// 2-MiB pages, no 1-GiB pages, no execute-only translations, no EPT accessed/dirty flags, INVEPT single- and
// all-context. Physical addresses are 32 bits wide, so bits 51:32 of an entry are reserved.

import type { GuestFault } from './faults';

/** Pseudo-vector of a GuestFault that is an EPT violation or misconfiguration (never delivered through the IDT). */
export const VMX_MEMORY_EXIT = 0x100;

/** Access kinds; equal to the qualification bits 2:0 and to the EPT permission bits R/W/X they need. */
export const EptAccess = { Read: 1, Write: 2, Fetch: 4 } as const;

/** Exit reasons (SDM Appendix C). */
export const EPT_VIOLATION = 48;
export const EPT_MISCONFIGURATION = 49;

/** Counters of the nested walk (names as virtualization.md section 7 uses them). */
export interface EptCounters {
  /** TLB misses served by a 2-D walk. */
  tlbMisses: number;
  /** All memory references of 2-D walks (guest paging-structure reads + EPT entry reads). */
  walkReferences: number;
  /** EPT paging-structure entry reads. */
  eptReferences: number;
  /** Guest paging-structure entry reads. */
  guestReferences: number;
  /** References of the last completed TLB miss, and the largest seen. */
  lastMissReferences: number;
  maxMissReferences: number;
  eptViolations: number;
  eptMisconfigurations: number;
}

/** What the VM exit needs (SDM 28.2.1 and the guest-physical / guest-linear address fields). */
export interface EptExitInfo {
  reason: number;
  qualification: number;
  guestPhysical: number;
  guestLinear: number;
}

export class EptWalker {
  /** The EPT pointer (SDM 25.6.11) and the PML4 table it names. */
  private pml4 = 0;
  eptp = 0;
  /** R/W/X (bits 2:0) allowed by the last successful translate: the AND over the walk's entries. */
  permissions = 0;
  /** References of the walk in progress (reset by the MMU at each TLB miss). */
  references = 0;
  readonly counters: EptCounters = {
    tlbMisses: 0, walkReferences: 0, eptReferences: 0, guestReferences: 0, lastMissReferences: 0, maxMissReferences: 0,
    eptViolations: 0, eptMisconfigurations: 0,
  };
  /**
   * For debuggers only: where a guest-physical address the EPT does not map yet would land once the VMM maps
   * it (the built-in VMM maps guest RAM identically on first touch), or -1. Never used by guest accesses.
   */
  peekFallback: ((gpa: number) => number) | null = null;
  /** The exit the last thrown VMX_MEMORY_EXIT stands for. */
  readonly pending: EptExitInfo = { reason: 0, qualification: 0, guestPhysical: 0, guestLinear: 0 };

  constructor(private readonly ram: Uint8Array, private readonly fault: GuestFault) {}

  setPointer(eptp: number): void {
    this.eptp = eptp >>> 0;
    this.pml4 = (eptp & ~0xfff) >>> 0;
  }

  /** A dword of host-physical memory; outside RAM reads all ones (reserved bits set: a misconfiguration). */
  private read32(address: number): number {
    const r = this.ram;
    if (address + 4 > r.length) return -1;
    return r[address]! | (r[address + 1]! << 8) | (r[address + 2]! << 16) | (r[address + 3]! << 24);
  }

  /**
   * Guest-physical → host-physical for `access` (EptAccess bits). `linear` and the two flags feed the
   * violation qualification: bit 7 guest-linear address valid, bit 8 the access is the final translation of
   * that linear address (clear for a guest paging-structure access). Throws VMX_MEMORY_EXIT on a violation or
   * misconfiguration; on success sets `permissions` and adds the EPT references to `references`.
   */
  translate(gpa: number, access: number, linear: number, linearValid: boolean, finalAccess: boolean): number {
    const result = this.walk(gpa >>> 0, access, true);
    if (result >= 0) return result;
    if (result === -2) return this.misconfiguration(gpa);
    const qualification = access | (this.permissions << 3) | (linearValid ? 0x80 | (finalAccess ? 0x100 : 0) : 0);
    return this.violation(gpa, qualification, linearValid ? linear : 0);
  }

  /** Side-effect-free translation for debuggers: the host-physical address, or -1 (not mapped / malformed). */
  peek(gpa: number): number {
    const saved = this.permissions;
    const result = this.walk(gpa >>> 0, EptAccess.Read, false);
    this.permissions = saved;
    if (result === -1 && this.peekFallback !== null) return this.peekFallback(gpa >>> 0);
    return result >= 0 ? result : -1;
  }

  /** The 4-level walk: HPA, -1 violation (permissions = AND so far), -2 misconfiguration. */
  private walk(gpa: number, access: number, count: boolean): number {
    let table = this.pml4;
    let permissions = 7;
    for (let level = 4; level >= 1; level--) {
      // Index bits 47:39, 38:30, 29:21, 20:12 of the guest-physical address (32 bits wide here).
      const index = level === 4 ? 0 : level === 3 ? gpa >>> 30 : level === 2 ? (gpa >>> 21) & 0x1ff : (gpa >>> 12) & 0x1ff;
      const address = table + index * 8;
      if (count) {
        this.references++;
        this.counters.eptReferences++;
      }
      const low = this.read32(address);
      const high = this.read32(address + 4);
      const rwx = low & 7;
      if (rwx === 0) {
        this.permissions = 0;
        return -1; // not present (29.3.3.2)
      }
      if ((rwx & 3) === 2 || rwx === 4) return -2; // write without read; execute-only not supported (29.3.3.1)
      if ((high & 0xfffff) !== 0) return -2; // bits 51:32 beyond the 32-bit physical-address width
      const large = (low & 0x80) !== 0;
      if (level === 4 && (low & 0xf8) !== 0) return -2; // PML4E bits 7:3 reserved
      if (level === 3 && (low & 0xf8) !== 0) return -2; // 1-GiB pages not supported; bits 6:3 reserved
      if (level === 2 && !large && (low & 0x78) !== 0) return -2;
      permissions &= rwx;
      if (level === 1 || large) {
        const type = (low >>> 3) & 7;
        if (type === 2 || type === 3 || type === 7) return -2; // reserved memory types
        if (large && (low & 0x1ff000) !== 0) return -2; // 2-MiB page: bits 20:12 reserved
        this.permissions = permissions;
        if ((access & ~permissions) !== 0) return -1;
        const frame = large ? (low & 0xffe00000) | (gpa & 0x1ff000) : low & 0xfffff000;
        return ((frame | (gpa & 0xfff)) >>> 0);
      }
      table = (low & 0xfffff000) >>> 0;
    }
    return -2; // unreachable: level 1 is always a leaf
  }

  private violation(gpa: number, qualification: number, linear: number): never {
    this.counters.eptViolations++;
    return this.raise(EPT_VIOLATION, qualification, gpa, linear);
  }

  private misconfiguration(gpa: number): never {
    this.counters.eptMisconfigurations++;
    return this.raise(EPT_MISCONFIGURATION, 0, gpa, 0);
  }

  private raise(reason: number, qualification: number, gpa: number, linear: number): never {
    const p = this.pending;
    p.reason = reason;
    p.qualification = qualification >>> 0;
    p.guestPhysical = gpa >>> 0;
    p.guestLinear = linear >>> 0;
    const f = this.fault;
    f.vector = VMX_MEMORY_EXIT;
    f.errorCode = 0;
    f.hasErrorCode = false;
    f.reason = reason === EPT_VIOLATION ? 'EPT violation' : 'EPT misconfiguration';
    throw f;
  }

  /** Accounts a completed TLB miss (the MMU calls it after a successful 2-D walk). */
  missDone(): void {
    const c = this.counters;
    c.tlbMisses++;
    c.walkReferences += this.references;
    c.lastMissReferences = this.references;
    if (this.references > c.maxMissReferences) c.maxMissReferences = this.references;
  }
}
