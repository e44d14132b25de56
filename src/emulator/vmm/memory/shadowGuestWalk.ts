// The guest's own two-level page walk, done in software by the VMM (shadow paging reads the guest's VIRTUAL
// CR3 and page tables, which the real CPU never walks). It follows SDM Vol. 3A 4.3 (32-bit paging, 4 KiB and,
// with CR4.PSE, 4 MiB pages), 4.6 (U/S, R/W, CR0.WP for supervisor writes), 4.7 (#PF error code: P, W/R, U/S)
// and 4.8 (the accessed flag in every entry used, the dirty flag in the leaf on a write), so the guest's
// tables end up exactly as the processor would have left them. `peek` walks without setting any flag.

/** Physical memory as the VMM sees it (guest physical = machine physical below the VMM region). */
export interface ShadowPhysicalMemory {
  /** A 32-bit little-endian read; undefined outside RAM. */
  read32(address: number): number | undefined;
  write32(address: number, value: number): void;
}

/** Page-table entry bits (SDM Vol. 3A Table 4-5, 4-6). */
export const PteBit = { P: 1, RW: 2, US: 4, A: 0x20, D: 0x40, PS: 0x80, G: 0x100 } as const;

/** #PF error-code bits (SDM Vol. 3A 4.7). */
export const PfError = { P: 1, W: 2, U: 4 } as const;

/** The guest's paging controls that shape a walk. */
export interface GuestPagingControls {
  /** Guest CR3 (the page directory's physical address in bits 31:12). */
  readonly cr3: number;
  /** Guest CR4.PSE: 4 MiB pages allowed. */
  readonly pse: boolean;
  /** Guest CR0.WP: supervisor writes honour R/W. */
  readonly wp: boolean;
}

export type GuestWalk =
  | {
      readonly ok: true;
      /** Guest physical address of the access. */
      readonly physical: number;
      readonly pdeAddress: number;
      /** -1 for a 4 MiB page. */
      readonly pteAddress: number;
      /** The directory entry and the leaf entry (the PDE itself for a 4 MiB page), after A/D updates. */
      readonly pde: number;
      readonly leaf: number;
      readonly bigPage: boolean;
      /** Effective permissions: R/W and U/S of every level ANDed (SDM 4.6). */
      readonly writable: boolean;
      readonly user: boolean;
    }
  | { readonly ok: false; readonly errorCode: number; readonly why: string };

/**
 * Walks the guest tables for one access. `setFlags` applies 4.8 (accessed everywhere, dirty in the leaf on a
 * write) to guest memory, as the CPU does when it walks; false for inspection.
 */
export function walkGuestTables(
  memory: ShadowPhysicalMemory,
  controls: GuestPagingControls,
  linear: number,
  write: boolean,
  user: boolean,
  setFlags: boolean,
): GuestWalk {
  const accessBits = (write ? PfError.W : 0) | (user ? PfError.U : 0);
  const pdeAddress = ((controls.cr3 & ~0xfff) + ((linear >>> 22) << 2)) >>> 0;
  let pde = memory.read32(pdeAddress);
  if (pde === undefined) return { ok: false, errorCode: accessBits, why: `the page directory entry at 0x${hex(pdeAddress)} is outside RAM` };
  if ((pde & PteBit.P) === 0) return { ok: false, errorCode: accessBits, why: `page directory entry ${linear >>> 22} is not present` };
  const bigPage = (pde & PteBit.PS) !== 0 && controls.pse;
  let pteAddress = -1;
  let pte = 0;
  if (!bigPage) {
    pteAddress = ((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
    const value = memory.read32(pteAddress);
    if (value === undefined) return { ok: false, errorCode: accessBits, why: `the page table entry at 0x${hex(pteAddress)} is outside RAM` };
    pte = value;
    if ((pte & PteBit.P) === 0) return { ok: false, errorCode: accessBits, why: `page table entry ${(linear >>> 12) & 0x3ff} is not present` };
  }
  const leafBits = bigPage ? pde : pte;
  const userOk = (pde & leafBits & PteBit.US) !== 0;
  const writableOk = (pde & leafBits & PteBit.RW) !== 0;
  const protection = accessBits | PfError.P;
  if (user && !userOk) return { ok: false, errorCode: protection, why: 'a user access to a supervisor page' };
  if (write && !writableOk && (user || controls.wp)) return { ok: false, errorCode: protection, why: `a write to a read-only page${user ? '' : ' with CR0.WP = 1'}` };
  if (setFlags) {
    const newPde = (pde | PteBit.A | (bigPage && write ? PteBit.D : 0)) >>> 0;
    if (newPde !== pde >>> 0) {
      memory.write32(pdeAddress, newPde);
      pde = newPde;
    }
    if (!bigPage) {
      const newPte = (pte | PteBit.A | (write ? PteBit.D : 0)) >>> 0;
      if (newPte !== pte >>> 0) {
        memory.write32(pteAddress, newPte);
        pte = newPte;
      }
    }
  }
  const frame = bigPage ? (pde & 0xffc00000) | (linear & 0x3ff000) : pte & ~0xfff;
  return {
    ok: true,
    physical: ((frame & ~0xfff) | (linear & 0xfff)) >>> 0,
    pdeAddress,
    pteAddress,
    pde: pde >>> 0,
    leaf: (bigPage ? pde : pte) >>> 0,
    bigPage,
    writable: writableOk,
    user: userOk,
  };
}

function hex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, '0');
}
