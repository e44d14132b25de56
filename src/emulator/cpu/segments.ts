// Segment descriptors: reading from the GDT/LDT, loading the hidden descriptor caches, and the protection
// checks of MOV/POP Sreg and far transfers (SDM Vol. 3A 3.4 segment selectors and descriptors, 5.5-5.8
// privilege checks; Vol. 2 MOV, POP, JMP, CALL, RET). Real mode loads base = selector * 16.

import type { Cpu } from './cpu';
import { Vector } from './faults';
import {
  CPL, CR, Cr0, GDTR_BASE, GDTR_LIMIT, LDTR_BASE, LDTR_LIMIT, LDTR_SELECTOR, SEG_ACCESS, SEG_BASE, SEG_LIMIT,
  SEG_RIGHTS, SEG_SELECTOR, SEG_VALID_HIGH, SEG_VALID_LOW, Seg, SegmentRight,
} from './stateLayout';

/** High-dword descriptor bits (SDM Vol. 3A Figure 3-8). */
export const enum Desc {
  Accessed = 0x100, ReadWrite = 0x200, ConformingOrExpandDown = 0x400, Code = 0x800, System = 0x1000,
  Present = 0x8000, Big = 0x400000, Granularity = 0x800000,
}

export function descriptorDpl(high: number): number {
  return (high >>> 13) & 3;
}

export function descriptorBase(low: number, high: number): number {
  return ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) | 0;
}

export function descriptorLimit(low: number, high: number): number {
  const raw = (high & 0xf0000) | (low & 0xffff);
  return (high & Desc.Granularity) !== 0 ? ((raw << 12) | 0xfff) | 0 : raw;
}

export function isProtectedMode(cpu: Cpu): boolean {
  return (cpu.s[CR]! & Cr0.PE) !== 0;
}

/**
 * Read the 8-byte descriptor for `selector` into cpu.descLow/descHigh. Returns false when the selector
 * is beyond its table's limit (the caller raises the fault its instruction specifies).
 */
export function fetchDescriptor(cpu: Cpu, selector: number): boolean {
  const s = cpu.s;
  const local = (selector & 4) !== 0;
  if (local && (s[LDTR_SELECTOR]! & 0xfffc) === 0) return false;
  const base = local ? s[LDTR_BASE]! : s[GDTR_BASE]!;
  const limit = local ? s[LDTR_LIMIT]! : s[GDTR_LIMIT]!;
  const offset = selector & 0xfff8;
  if (offset + 7 > limit >>> 0) return false;
  cpu.descLow = cpu.readLinear((base + offset) | 0, 4, true);
  cpu.descHigh = cpu.readLinear((base + offset + 4) | 0, 4, true);
  return true;
}

/** Like fetchDescriptor but raises #GP(selector) when out of the table. */
export function readDescriptor(cpu: Cpu, selector: number, vector: number = Vector.GP): void {
  if (!fetchDescriptor(cpu, selector)) cpu.raise(vector, selector & 0xfffc);
}

/** Set the accessed bit in memory (SDM Vol. 3A 3.4.5.1: set by the processor on a segment load). */
export function markAccessed(cpu: Cpu, selector: number): void {
  if ((cpu.descHigh & Desc.Accessed) !== 0) return;
  const s = cpu.s;
  const base = (selector & 4) !== 0 ? s[LDTR_BASE]! : s[GDTR_BASE]!;
  cpu.descHigh |= Desc.Accessed;
  cpu.writeLinear((base + (selector & 0xfff8) + 4) | 0, 4, cpu.descHigh, true);
}

/** Fill segment register `seg`'s visible selector and hidden cache from a descriptor. */
export function loadSegmentCache(cpu: Cpu, seg: number, selector: number, low: number, high: number): void {
  const s = cpu.s;
  if (seg === Seg.CS) cpu.codeGeneration++;
  const limit = descriptorLimit(low, high);
  s[SEG_SELECTOR + seg] = selector & 0xffff;
  s[SEG_BASE + seg] = descriptorBase(low, high);
  s[SEG_LIMIT + seg] = limit;
  s[SEG_ACCESS + seg] = (high >>> 8) & 0xf0ff;
  const code = (high & Desc.Code) !== 0;
  let rights: number = SegmentRight.Usable;
  if (!code || (high & Desc.ReadWrite) !== 0) rights |= SegmentRight.Readable;
  if (!code && (high & Desc.ReadWrite) !== 0) rights |= SegmentRight.Writable;
  if ((high & Desc.Big) !== 0) rights |= SegmentRight.Big;
  s[SEG_RIGHTS + seg] = rights;
  if (!code && (high & Desc.ConformingOrExpandDown) !== 0) {
    // Expand-down: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF (SDM Vol. 3A 3.4.5.1).
    s[SEG_VALID_LOW + seg] = (limit + 1) | 0;
    s[SEG_VALID_HIGH + seg] = (high & Desc.Big) !== 0 ? -1 : 0xffff;
  } else {
    s[SEG_VALID_LOW + seg] = 0;
    s[SEG_VALID_HIGH + seg] = limit;
  }
}

/** Real-mode (and unreal-free) load: base = selector << 4, 64 KiB limit kept as loaded. */
export function loadRealModeSegment(cpu: Cpu, seg: number, selector: number): void {
  const s = cpu.s;
  if (seg === Seg.CS) cpu.codeGeneration++;
  s[SEG_SELECTOR + seg] = selector & 0xffff;
  s[SEG_BASE + seg] = (selector & 0xffff) << 4;
  s[SEG_RIGHTS + seg] = (s[SEG_RIGHTS + seg]! & SegmentRight.Big) | SegmentRight.Usable | SegmentRight.Readable | SegmentRight.Writable;
  if (s[SEG_VALID_HIGH + seg] === 0 && s[SEG_LIMIT + seg] === 0) {
    s[SEG_LIMIT + seg] = 0xffff;
    s[SEG_VALID_HIGH + seg] = 0xffff;
  }
}

/** A null selector in DS/ES/FS/GS: loads fine, faults on use (SDM Vol. 3A 3.4.2). */
export function loadNullSegment(cpu: Cpu, seg: number, selector: number): void {
  const s = cpu.s;
  s[SEG_SELECTOR + seg] = selector & 0xffff;
  s[SEG_BASE + seg] = 0;
  s[SEG_LIMIT + seg] = 0;
  s[SEG_ACCESS + seg] = 0;
  s[SEG_RIGHTS + seg] = 0;
  s[SEG_VALID_LOW + seg] = 0;
  s[SEG_VALID_HIGH + seg] = 0;
}

/** MOV Sreg / POP Sreg / LDS-style loads of SS, DS, ES, FS, GS (SDM Vol. 2 MOV "Operation"). */
export function loadDataSegment(cpu: Cpu, seg: number, selector: number): void {
  if (!isProtectedMode(cpu)) {
    loadRealModeSegment(cpu, seg, selector);
    return;
  }
  const cpl = cpu.s[CPL]!;
  const rpl = selector & 3;
  if (seg === Seg.SS) {
    if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
    readDescriptor(cpu, selector);
    const high = cpu.descHigh;
    const writableData = (high & (Desc.System | Desc.Code | Desc.ReadWrite)) === (Desc.System | Desc.ReadWrite);
    if (rpl !== cpl || !writableData || descriptorDpl(high) !== cpl) cpu.raise(Vector.GP, selector & 0xfffc);
    if ((high & Desc.Present) === 0) cpu.raise(Vector.SS, selector & 0xfffc);
  } else {
    if ((selector & 0xfffc) === 0) {
      loadNullSegment(cpu, seg, selector);
      return;
    }
    readDescriptor(cpu, selector);
    const high = cpu.descHigh;
    const code = (high & Desc.Code) !== 0;
    if ((high & Desc.System) === 0 || (code && (high & Desc.ReadWrite) === 0)) cpu.raise(Vector.GP, selector & 0xfffc);
    const conformingCode = code && (high & Desc.ConformingOrExpandDown) !== 0;
    const dpl = descriptorDpl(high);
    if (!conformingCode && (rpl > dpl || cpl > dpl)) cpu.raise(Vector.GP, selector & 0xfffc);
    if ((high & Desc.Present) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  }
  markAccessed(cpu, selector);
  loadSegmentCache(cpu, seg, selector, cpu.descLow, cpu.descHigh);
}

/** Load CS from a checked code descriptor and set CPL (the selector's RPL becomes CPL). */
export function loadCodeSegment(cpu: Cpu, selector: number, low: number, high: number, cpl: number): void {
  loadSegmentCache(cpu, Seg.CS, (selector & 0xfffc) | cpl, low, high);
  cpu.s[CPL] = cpl;
  cpu.codeGeneration++;
}

/**
 * Checks of a far JMP/CALL to `selector` (SDM Vol. 2 JMP/CALL "far" protected-mode operation) for a code
 * segment descriptor. Call gates, task gates and TSS targets are reported as #GP with a reason.
 * Leaves the descriptor in cpu.descLow/descHigh.
 */
export function checkFarTarget(cpu: Cpu, selector: number): void {
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector);
  const high = cpu.descHigh;
  if ((high & Desc.System) === 0) {
    cpu.raise(Vector.GP, selector & 0xfffc, 'far transfers through call gates, task gates or TSS descriptors are not supported');
  }
  if ((high & Desc.Code) === 0) cpu.raise(Vector.GP, selector & 0xfffc);
  const cpl = cpu.s[CPL]!;
  const dpl = descriptorDpl(high);
  if ((high & Desc.ConformingOrExpandDown) !== 0) {
    if (dpl > cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  } else if ((selector & 3) > cpl || dpl !== cpl) {
    cpu.raise(Vector.GP, selector & 0xfffc);
  }
  if ((high & Desc.Present) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
}

/**
 * After a return to an outer ring, null any of ES DS FS GS whose descriptor the new CPL may not use
 * (SDM Vol. 2 RET/IRET: data or non-conforming code segments with DPL < CPL).
 */
export function invalidateOuterSegments(cpu: Cpu): void {
  const s = cpu.s;
  const cpl = s[CPL]!;
  for (const seg of [Seg.ES, Seg.DS, Seg.FS, Seg.GS]) {
    const access = s[SEG_ACCESS + seg]!;
    if ((s[SEG_RIGHTS + seg]! & SegmentRight.Usable) === 0) continue;
    const conformingCode = (access & 0x0c) === 0x0c;
    const dpl = (access >>> 5) & 3;
    if (!conformingCode && dpl < cpl) loadNullSegment(cpu, seg, 0);
  }
}
