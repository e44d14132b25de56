// Test kit for EPT (issue 6): builds 4-level EPT tables in a test machine's RAM (SDM Vol. 3C 29.3.2 entry
// formats: bits 2:0 R/W/X, 5:3 memory type in leaves, 7 large page, 31:12 address) and 32-bit guest page
// tables (Vol. 3A 4.3), so tests can point the CPU's MMU at them directly or hand the EPTP to a VMM.

import { write32 } from '../cpu/harness';

/** EPT entry bits. */
export const EPT = { R: 1, W: 2, X: 4, RWX: 7, WB: 6 << 3, Large: 0x80 } as const;

/** EPTP for a PML4 table at `pml4`: write-back, 4-level walk (SDM 25.6.11). */
export function eptPointer(pml4: number): number {
  return (pml4 | 6 | (3 << 3)) >>> 0;
}

/**
 * EPT at `base` (four consecutive pages: PML4, PDPT, PD, PT) mapping guest-physical [0, `bytes`) to the same
 * host-physical addresses with 4-KiB pages in the first 2 MiB (the PT) and 2-MiB pages above; `permissions`
 * chooses the leaf R/W/X bits per 4-KiB guest page (default RWX). Returns the EPTP.
 */
export function identityEpt(ram: Uint8Array, base: number, bytes: number, permissions: (gpa: number) => number = () => EPT.RWX): number {
  const pml4 = base;
  const pdpt = base + 0x1000;
  const pd = base + 0x2000;
  const pt = base + 0x3000;
  ram.fill(0, base, base + 0x4000);
  write32(ram, pml4, pdpt | EPT.RWX);
  write32(ram, pdpt, pd | EPT.RWX);
  write32(ram, pd, pt | EPT.RWX);
  for (let i = 0; i < 512 && i * 0x1000 < bytes; i++) {
    const rights = permissions(i * 0x1000);
    write32(ram, pt + 8 * i, rights === 0 ? 0 : (i * 0x1000) | EPT.WB | rights);
  }
  for (let i = 1; i < 512 && i * 0x200000 < bytes; i++) write32(ram, pd + 8 * i, (i * 0x200000) | EPT.WB | EPT.Large | EPT.RWX);
  return eptPointer(pml4);
}

/** Address of the EPT PTE of guest-physical `gpa` (< 2 MiB) in tables built by identityEpt at `base`. */
export function eptPteAddress(base: number, gpa: number): number {
  return base + 0x3000 + 8 * (gpa >>> 12);
}

/**
 * A 32-bit guest page directory at `pd` with one page table at `pt` mapping linear [0, 4 MiB) identically
 * with 4-KiB pages; accessed and dirty bits preset so no A/D update happens (P, R/W, U/S, A, D = 0x67).
 */
export function identityGuestPaging(ram: Uint8Array, pd: number, pt: number): void {
  ram.fill(0, pd, pd + 0x1000);
  write32(ram, pd, pt | 0x67);
  for (let i = 0; i < 1024; i++) write32(ram, pt + 4 * i, (i << 12) | 0x67);
}
