// Where the binary translator keeps its translation cache (TC) and how the real CPU reaches it. The TC is a
// region of VMM-owned RAM just below trap-and-emulate's 64 KiB VMM region (tables, TSS, stack): every guest
// code/data descriptor in the shadow GDT is truncated to end below the TC (segment truncation, as VMware's BT
// and Xen did on x86-32: virtualization.md §4/§5), so no guest data access can read or patch translated code.
// Translated code runs at real CPL 1 through one extra shadow-GDT descriptor, the TC code segment: base 0,
// 4 GiB, DPL 1, execute-only — execute-only so the guest cannot load it into DS/ES/FS/GS (a data-segment load
// of a non-readable code segment is #GP, SDM Vol. 3A 5.7/Vol. 2 MOV "Operation"); far transfers to it never
// run (they are callouts the VMM checks against the guest's own GDT). Descriptor format: SDM Vol. 3A 3.4.5.

import { shadowDescriptor, type MemoryWriter } from '../trapAndEmulate/shadowTables';

/** Bytes of RAM reserved for translated code, directly below the trap-and-emulate VMM region. */
export const TC_SIZE = 0x40000;
/** Shadow GDT index of the TC code segment (trap-and-emulate uses 256..258 for its own descriptors). */
export const TC_CODE_INDEX = 259;
/** The selector translated code runs with: index 259, GDT, RPL 1 (the deprivileged kernel's ring). */
export const TC_CODE_SELECTOR = (TC_CODE_INDEX << 3) | 1;
/** The real GDTR limit while the BT engine runs: the trap-and-emulate entries plus the TC code segment. */
export const BT_GDT_LIMIT = (TC_CODE_INDEX + 1) * 8 - 1;
/** The software-interrupt vector of callouts (recognised by their TC address, never by the vector alone). */
export const CALLOUT_VECTOR = 0xbc;
/** A translation unit holds at most this many guest instructions (Adams & Agesen §3.1: "at most 12"). */
export const MAX_UNIT_INSTRUCTIONS = 12;

/** The TC code segment: base 0, limit 4 GiB (G = 1, D = 1), present, DPL 1, code, execute-only, non-conforming. */
export function tcCodeDescriptor(): [number, number] {
  const access = 0x80 | (1 << 5) | 0x10 | 0x08; // P, DPL 1, S (code/data), type 8 = execute-only code
  return [0x0000ffff, ((access << 8) | 0x000f0000 | (0xc << 20)) >>> 0];
}

/** Writes the TC code descriptor into the shadow GDT at `gdtBase`. */
export function installTcDescriptor(memory: MemoryWriter, gdtBase: number): void {
  const [low, high] = tcCodeDescriptor();
  memory.write32(gdtBase + TC_CODE_INDEX * 8, low);
  memory.write32(gdtBase + TC_CODE_INDEX * 8 + 4, high);
}

/**
 * Re-truncates the shadow copies of the guest's descriptors (indices 1..255, built by trap-and-emulate with the
 * VMM region as the floor) so they end below `floor`, the start of the TC.
 */
export function truncateGuestDescriptors(memory: MemoryWriter, shadowGdtBase: number, guestGdtBase: number, guestGdtLimit: number, floor: number): void {
  for (let index = 1; index < 256 && index * 8 + 7 <= guestGdtLimit; index++) {
    const low = memory.read32(guestGdtBase + index * 8) ?? 0;
    const high = memory.read32(guestGdtBase + index * 8 + 4) ?? 0;
    const [shadowLow, shadowHigh] = shadowDescriptor(low, high, floor);
    memory.write32(shadowGdtBase + index * 8, shadowLow);
    memory.write32(shadowGdtBase + index * 8 + 4, shadowHigh);
  }
}
