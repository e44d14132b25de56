// The VMM-owned descriptor tables of the trap-and-emulate engine, in a VMM region at the top of guest RAM that
// the guest cannot address: every guest code/data descriptor is copied into a shadow GDT with DPL 0 raised to
// DPL 1 (ring compression) and its limit truncated below the VMM region (segment truncation, as Xen and
// VMware did on x86-32: virtualization.md §4, §5). The real GDTR/IDTR/TR point at these tables, which is what
// SGDT/SIDT/STR reveal to the guest. Descriptor layout: SDM Vol. 3A 3.4.5; gates 6.11; TSS 7.2.1.

/** Size of the VMM region at the top of RAM. */
export const VMM_REGION_SIZE = 0x10000;
export const GDT_OFFSET = 0x0000; // 259 entries (guest 0..255, VMM 256..258)
export const IDT_OFFSET = 0x1000;
export const TSS_OFFSET = 0x1800;
export const VMM_CODE_OFFSET = 0x2000; // gate target (never executed: the VMM intercepts every event)
export const VMM_STACK_TOP_OFFSET = 0x4000;
/** The shadow LDT (up to 512 descriptors) built from the guest's LDT at LLDT. */
export const LDT_OFFSET = 0x4000;
export const SHADOW_LDT_MAX_LIMIT = 0xfff;
export const GUEST_GDT_ENTRIES = 256;
export const VMM_CS = 256 * 8;
export const VMM_DS = 257 * 8;
export const VMM_TSS = 258 * 8;
export const SHADOW_GDT_LIMIT = 259 * 8 - 1;

export interface MemoryWriter {
  read32(address: number): number | undefined;
  write32(address: number, value: number): void;
}

function encodeDescriptor(base: number, limit: number, access: number, flags: number): [number, number] {
  const low = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const high = (((base >>> 16) & 0xff) | ((access & 0xff) << 8) | (((limit >>> 16) & 0xf) << 16) | ((flags & 0xf) << 20) | (base & 0xff000000)) >>> 0;
  return [low, high];
}

/** Shadow of one guest descriptor: DPL 0 → 1 for code/data, limit truncated to end below `vmmBase`. */
export function shadowDescriptor(low: number, high: number, vmmBase: number): [number, number] {
  const isCodeOrData = (high & 0x1000) !== 0;
  const present = (high & 0x8000) !== 0;
  if (!isCodeOrData || !present) return [low >>> 0, high >>> 0];
  let newHigh = high;
  if (((high >>> 13) & 3) === 0) newHigh = (newHigh & ~0x6000) | 0x2000; // DPL 1
  const base = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
  const granular = (high & 0x800000) !== 0;
  const rawLimit = (low & 0xffff) | (high & 0xf0000);
  const limitBytes = granular ? rawLimit * 4096 + 4095 : rawLimit;
  const expandDown = (high & 0x1c00) === 0x0400; // data, expand-down
  if (!expandDown && base + limitBytes >= vmmBase) {
    const allowed = Math.max(0, vmmBase - base) - 1;
    let field: number;
    if (allowed < 0) {
      field = 0;
      newHigh &= ~0x800000;
    } else if (granular) {
      field = Math.max(0, Math.floor((allowed + 1) / 4096) - 1);
    } else {
      field = Math.min(allowed, 0xfffff);
    }
    return [((low & 0xffff0000) | (field & 0xffff)) >>> 0, ((newHigh & ~0xf0000) | (field & 0xf0000)) >>> 0];
  }
  return [low >>> 0, newHigh >>> 0];
}

/**
 * Writes the shadow GDT for the guest GDT at `guestGdtBase`/`guestGdtLimit` (entries beyond the guest limit
 * become null) plus the VMM's own code, data and TSS descriptors. `vmmBase` is where the region is in physical
 * memory; `vmmLinear` where the CPU sees it (the same while the guest does not page; the top of the linear
 * space under shadow paging): guest segments are truncated below it and the VMM TSS descriptor points into it.
 */
export function buildShadowGdt(memory: MemoryWriter, vmmBase: number, guestGdtBase: number, guestGdtLimit: number, vmmLinear = vmmBase): void {
  const gdt = vmmBase + GDT_OFFSET;
  for (let index = 0; index < GUEST_GDT_ENTRIES; index++) {
    let low = 0;
    let high = 0;
    if (index > 0 && index * 8 + 7 <= guestGdtLimit) {
      low = memory.read32(guestGdtBase + index * 8) ?? 0;
      high = memory.read32(guestGdtBase + index * 8 + 4) ?? 0;
      [low, high] = shadowDescriptor(low, high, vmmLinear);
    }
    memory.write32(gdt + index * 8, low);
    memory.write32(gdt + index * 8 + 4, high);
  }
  const vmmEntries: [number, [number, number]][] = [
    [VMM_CS, encodeDescriptor(0, 0xfffff, 0x9a, 0xc)],
    [VMM_DS, encodeDescriptor(0, 0xfffff, 0x92, 0xc)],
    [VMM_TSS, encodeDescriptor(vmmLinear + TSS_OFFSET, 103, 0x8b, 0)],
  ];
  for (const [selector, [low, high]] of vmmEntries) {
    memory.write32(gdt + selector, low);
    memory.write32(gdt + selector + 4, high);
  }
}

/** The real LDTR after `buildShadowLdt`: base, limit and the access byte of an LDT descriptor. */
export interface ShadowLdt {
  readonly base: number;
  readonly limit: number;
}

/**
 * Shadows the guest LDT named by `ldtSelector` in the guest GDT (SDM Vol. 3A 3.5.1: an LDT is a system
 * segment, type 2): its descriptors are copied into the VMM's shadow LDT with the same ring compression and
 * truncation as the GDT, and the LDT descriptor in the shadow GDT is pointed at the shadow, so the real LLDT
 * state and every TI=1 selector load use VMM-checked descriptors. `readGuest` reads guest-linear memory.
 * Returns the real LDTR base/limit, or a problem.
 */
export function buildShadowLdt(
  memory: MemoryWriter,
  readGuest: (linear: number) => number | undefined,
  vmmBase: number,
  guestGdtBase: number,
  guestGdtLimit: number,
  ldtSelector: number,
  vmmLinear = vmmBase,
): ShadowLdt | string {
  const index = ldtSelector & 0xfff8;
  if ((ldtSelector & 4) !== 0 || index === 0 || index + 7 > guestGdtLimit) return `LDT selector 0x${ldtSelector.toString(16)} is not in the guest GDT`;
  const low = readGuest(guestGdtBase + index);
  const high = readGuest(guestGdtBase + index + 4);
  if (low === undefined || high === undefined) return 'the guest GDT is unreadable';
  if ((high & 0x1f00) !== 0x0200 || (high & 0x8000) === 0) return `selector 0x${ldtSelector.toString(16)} does not name a present LDT descriptor`;
  const base = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
  const rawLimit = (low & 0xffff) | (high & 0xf0000);
  const guestLimit = (high & 0x800000) !== 0 ? rawLimit * 4096 + 4095 : rawLimit;
  const limit = Math.min(guestLimit, SHADOW_LDT_MAX_LIMIT);
  const shadow = vmmBase + LDT_OFFSET;
  for (let offset = 0; offset + 7 <= SHADOW_LDT_MAX_LIMIT; offset += 8) {
    let entry: [number, number] = [0, 0];
    if (offset + 7 <= limit) {
      const entryLow = readGuest(base + offset);
      const entryHigh = readGuest(base + offset + 4);
      if (entryLow !== undefined && entryHigh !== undefined) entry = shadowDescriptor(entryLow, entryHigh, vmmLinear);
    }
    memory.write32(shadow + offset, entry[0]);
    memory.write32(shadow + offset + 4, entry[1]);
  }
  const [ldtLow, ldtHigh] = encodeDescriptor(vmmLinear + LDT_OFFSET, limit, 0x82, 0);
  memory.write32(vmmBase + GDT_OFFSET + index, ldtLow);
  memory.write32(vmmBase + GDT_OFFSET + index + 4, ldtHigh);
  return { base: (vmmLinear + LDT_OFFSET) >>> 0, limit };
}

/** The VMM's IDT (every vector → a VMM entry point) and TSS (ring-0 stack, no I/O bitmap). */
export function buildVmmIdtAndTss(memory: MemoryWriter, vmmBase: number, vmmLinear = vmmBase): void {
  const target = vmmLinear + VMM_CODE_OFFSET;
  for (let vector = 0; vector < 256; vector++) {
    memory.write32(vmmBase + IDT_OFFSET + vector * 8, ((target & 0xffff) | (VMM_CS << 16)) >>> 0);
    memory.write32(vmmBase + IDT_OFFSET + vector * 8 + 4, ((target & 0xffff0000) | 0x8e00) >>> 0);
  }
  const tss = vmmBase + TSS_OFFSET;
  for (let offset = 0; offset < 104; offset += 4) memory.write32(tss + offset, 0);
  memory.write32(tss + 4, vmmLinear + VMM_STACK_TOP_OFFSET); // ESP0
  memory.write32(tss + 8, VMM_DS); // SS0
  memory.write32(tss + 100, 104 << 16); // I/O map base beyond the limit: IN/OUT at CPL > IOPL fault
}
