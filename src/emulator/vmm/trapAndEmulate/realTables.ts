// The REAL descriptor-table state of a deprivileged guest: what the trap-and-emulate engine loads into the
// CPU's GDTR, IDTR, TR and LDTR (VMM-owned tables built by shadowTables.ts) and how segment registers are
// reloaded when those tables move (the hidden descriptor caches change only on a load, SDM Vol. 3A 3.4.3).
// The VMM region sits at `vmmBase` in physical memory and is seen by the CPU at `vmmLinear`: the same address
// while the guest does not page, the top of the linear space while it does (memory/shadowPaging.ts).

import { GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, LDTR_ACCESS, LDTR_BASE, LDTR_LIMIT, LDTR_SELECTOR, SEG_SELECTOR, TR_ACCESS, TR_BASE, TR_LIMIT, TR_SELECTOR } from '../../cpu/stateLayout';
import type { TableRegister } from '../engine';
import { SegmentRegister, type GuestCpuAccess } from './guestAccess';
import { buildShadowGdt, buildShadowLdt, buildVmmIdtAndTss, GDT_OFFSET, IDT_OFFSET, SHADOW_GDT_LIMIT, TSS_OFFSET, VMM_TSS, type MemoryWriter } from './shadowTables';

/** Where the VMM region is: physical base and the linear address the CPU sees it at. */
export interface VmmPlacement {
  readonly vmmBase: number;
  readonly vmmLinear: number;
}

/** The six segment registers in the order the engine (re)loads them. */
export const SEGMENT_REGISTERS = [SegmentRegister.CS, SegmentRegister.SS, SegmentRegister.DS, SegmentRegister.ES, SegmentRegister.FS, SegmentRegister.GS] as const;

/**
 * Builds the shadow GDT (from the guest GDT read through `guestTables`), the VMM IDT and TSS, and points the
 * real GDTR, IDTR and TR at them.
 */
export function installVmmTables(s: Int32Array, memory: MemoryWriter, guestTables: MemoryWriter, placement: VmmPlacement, guestGdt: TableRegister): void {
  const { vmmBase, vmmLinear } = placement;
  buildShadowGdt(guestTables, vmmBase, guestGdt.base, guestGdt.limit, vmmLinear);
  buildVmmIdtAndTss(memory, vmmBase, vmmLinear);
  s[GDTR_BASE] = (vmmLinear + GDT_OFFSET) | 0;
  s[GDTR_LIMIT] = SHADOW_GDT_LIMIT;
  s[IDTR_BASE] = (vmmLinear + IDT_OFFSET) | 0;
  s[IDTR_LIMIT] = 0x7ff;
  s[TR_SELECTOR] = VMM_TSS;
  s[TR_BASE] = (vmmLinear + TSS_OFFSET) | 0;
  s[TR_LIMIT] = 103;
  s[TR_ACCESS] = 0x8b;
}

/**
 * The virtual LDTR → the real one: a null selector clears it; otherwise the guest LDT is shadowed into the
 * VMM region (shadowTables.ts buildShadowLdt). A bad selector leaves the real LDTR null (a TI=1 load then
 * faults, and the guest gets the #GP it would have got from its own LLDT).
 */
export function loadRealLdt(s: Int32Array, memory: MemoryWriter, guest: GuestCpuAccess, placement: VmmPlacement, guestGdt: TableRegister, ldtSelector: number): void {
  const selector = ldtSelector & 0xffff;
  const shadow = (selector & 0xfffc) === 0
    ? undefined
    : buildShadowLdt(memory, (linear) => guest.readLinear(linear >>> 0, 4), placement.vmmBase, guestGdt.base, guestGdt.limit, selector, placement.vmmLinear);
  if (shadow === undefined || typeof shadow === 'string') {
    s[LDTR_SELECTOR] = 0;
    s[LDTR_BASE] = 0;
    s[LDTR_LIMIT] = 0;
    s[LDTR_ACCESS] = 0;
    return;
  }
  s[LDTR_SELECTOR] = selector;
  s[LDTR_BASE] = shadow.base | 0;
  s[LDTR_LIMIT] = shadow.limit;
  s[LDTR_ACCESS] = 0x82;
}

/**
 * Reloads every non-null segment register from the real tables, each selector passed through `map` (ring
 * compression at attach, identity after a move). Returns the first selector that cannot be loaded.
 */
export function reloadSegments(s: Int32Array, guest: GuestCpuAccess, map: (selector: number) => number = (selector) => selector): number | undefined {
  for (const segment of SEGMENT_REGISTERS) {
    const selector = s[SEG_SELECTOR + segment]! & 0xffff;
    if ((selector & 0xfffc) === 0) continue;
    if (!guest.loadSegment(segment, map(selector))) return selector;
  }
  return undefined;
}
