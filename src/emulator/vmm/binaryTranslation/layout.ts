// Where the binary translator keeps its translation cache (TC) and how the real CPU reaches it. The BT engine
// enlarges trap-and-emulate's VMM region at the top of RAM by the TC's size and takes the TC as the first run of
// pages the region's allocator hands out: every guest code/data descriptor in the shadow GDT already ends below
// the region (segment truncation, as VMware's BT and Xen did on x86-32: virtualization.md §4/§5) and shadow
// page tables map the region supervisor-only at its own address and never for the guest, so the guest can
// neither read nor patch translated code, while the CPU (at ring 1) can fetch it with or without guest paging.
// Translated code runs at real CPL 1 through an extra shadow-GDT descriptor, the TC code segment: 4 GiB, DPL 1, execute-only — execute-only so the guest cannot load it into DS/ES/FS/GS (a data-segment load
// of a non-readable code segment is #GP, SDM Vol. 3A 5.7/Vol. 2 MOV "Operation"); far transfers to it never
// run (they are callouts the VMM checks against the guest's own GDT). Descriptor format: SDM Vol. 3A 3.4.5.

import { VMM_REGION_SIZE, type MemoryWriter } from '../trapAndEmulate/shadowTables';
import { vmmRegionSizeProblem } from '../trapAndEmulate/vmmRegion';

/** Bytes of VMM-region pages reserved for translated code (less when RAM is small). */
export const TC_SIZE = 0x40000;

/** The TC size for a machine: TC_SIZE, halved until the enlarged VMM region fits the RAM (at least 16 KiB). */
export function translationCacheSize(ramBytes: number, regionSize: number = VMM_REGION_SIZE): number {
  let size = TC_SIZE;
  while (size > 0x4000 && vmmRegionSizeProblem(regionSize + size, ramBytes) !== undefined) size /= 2;
  return size;
}
/** Shadow GDT index of the TC code segment (trap-and-emulate uses 256..258 for its own descriptors). */
export const TC_CODE_INDEX = 259;
/** The selector translated code runs with: index 259, GDT, RPL 1 (the deprivileged kernel's ring). */
export const TC_CODE_SELECTOR = (TC_CODE_INDEX << 3) | 1;
/** Shadow GDT index of the TC data segment: the virtual-APIC page inline TPR updates write (apicAccess.ts). */
export const TC_DATA_INDEX = 260;
/** Selector of the TC data segment: index 260, GDT, RPL 1. */
export const TC_DATA_SELECTOR = (TC_DATA_INDEX << 3) | 1;
/** The real GDTR limit while the BT engine runs: the trap-and-emulate entries plus the TC code and data segments. */
export const BT_GDT_LIMIT = (TC_DATA_INDEX + 1) * 8 - 1;
/** The software-interrupt vector of callouts (recognised by their TC address, never by the vector alone). */
export const CALLOUT_VECTOR = 0xbc;
/** A translation unit holds at most this many guest instructions (Adams & Agesen §3.1: "at most 12"). */
export const MAX_UNIT_INSTRUCTIONS = 12;

/**
 * The TC code segment: limit 4 GiB (G = 1, D = 1), present, DPL 1, code, execute-only, non-conforming. Its base
 * is the distance between where the CPU sees the VMM region and where it is in RAM (0 while both coincide), so
 * EIP in translated code is always the fragment's RAM address.
 */
export function tcCodeDescriptor(base: number): [number, number] {
  const access = 0x80 | (1 << 5) | 0x10 | 0x08; // P, DPL 1, S (code/data), type 8 = execute-only code
  const low = (((base & 0xffff) << 16) | 0xffff) >>> 0;
  const high = (((base >>> 16) & 0xff) | (access << 8) | 0x000f0000 | (0xc << 20) | (base & 0xff000000)) >>> 0;
  return [low, high];
}

/**
 * The TC data segment: one page (byte granular, limit 0xFFF), present, DPL 1, read/write data, based at the
 * linear address where the CPU sees the VMM's virtual-APIC page. Only inline TPR updates load it (into FS, for
 * one store); a guest that loads its selector reaches that page and nothing else of the VMM.
 */
export function tcDataDescriptor(base: number): [number, number] {
  const access = 0x80 | (1 << 5) | 0x10 | 0x02; // P, DPL 1, S, type 2 = read/write data
  const low = (((base & 0xffff) << 16) | 0x0fff) >>> 0;
  const high = (((base >>> 16) & 0xff) | (access << 8) | (0x4 << 20) | (base & 0xff000000)) >>> 0;
  return [low, high];
}

/** Writes the TC code descriptor (and, given its base, the TC data descriptor) into the shadow GDT at (physical) `gdtBase`. */
export function installTcDescriptor(memory: MemoryWriter, gdtBase: number, base: number, dataBase?: number): void {
  const [low, high] = tcCodeDescriptor(base);
  memory.write32(gdtBase + TC_CODE_INDEX * 8, low);
  memory.write32(gdtBase + TC_CODE_INDEX * 8 + 4, high);
  if (dataBase === undefined) return;
  const [dataLow, dataHigh] = tcDataDescriptor(dataBase);
  memory.write32(gdtBase + TC_DATA_INDEX * 8, dataLow);
  memory.write32(gdtBase + TC_DATA_INDEX * 8 + 4, dataHigh);
}
