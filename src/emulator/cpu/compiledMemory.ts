// Inline 32-bit memory and stack accesses for the block compiler. Each access gets a generated fast path
// with the same checks as CpuCore.fastData + Mmu.fastPhysical: no watchpoints armed, the segment's type
// and limit checks pass (SDM Vol. 3A 5.3/5.4), the access stays in one page, paging is off or the TLB
// already grants the access (so no #PF and no accessed/dirty update is due, Vol. 3A 4.8), the page is
// RAM, aligned to 4, and, for a write, holds no decoded code. Then it reads or writes the RAM word
// directly; otherwise it calls the CPU's precise method, which faults, walks, reaches MMIO or invalidates
// code exactly as the interpreter does. The fast path never changes state before it is certain to succeed.

import { tlbPermissionBit } from './mmu';
import { CPL, CR, Cr0, SEG_BASE, SEG_RIGHTS, SEG_VALID_HIGH, SEG_VALID_LOW, Seg, SegmentRight } from './stateLayout';

/** Locals the generated function binds once per call: `tlb`, `pageKind`, `codePages`, `ram32` (Mmu.fast). */
export const FAST_VIEW_BINDINGS = 'const view = cpu.mmu.fast, tlb = view.tlb, pageKind = view.pageKind, codePages = view.codePages, ram32 = view.ram32;';

/** Statements setting `p` to the RAM word index for a 4-byte access at `seg`:`offset` (a local), or -1. */
function fastWordIndex(seg: number, offset: string, write: boolean): string {
  const need = write ? SegmentRight.Writable : SegmentRight.Readable;
  const stackBig = seg === Seg.SS ? ` && (s[${SEG_RIGHTS + Seg.SS}] & ${SegmentRight.Big}) !== 0` : '';
  const permission = `(s[${CPL}] === 3 ? ${tlbPermissionBit(true, write)} : ${tlbPermissionBit(false, write)})`;
  return `let p = -1;
if (!cpu.watching && (s[${SEG_RIGHTS + seg}] & ${need}) !== 0${stackBig} && (${offset} >>> 0) >= (s[${SEG_VALID_LOW + seg}] >>> 0) && ` +
    `(${offset} >>> 0) + 3 <= (s[${SEG_VALID_HIGH + seg}] >>> 0)) {
  const l = (s[${SEG_BASE + seg}] + ${offset}) | 0;
  if ((l & 3) === 0) {
    if ((s[${CR}] & ${Cr0.PG}) === 0) p = l >>> 0;
    else { const e = tlb[l >>> 12]; if ((e & ${permission}) !== 0) p = ((e & ~0xfff) | (l & 0xfff)) >>> 0; }
    if (p >= 0 && (pageKind[p >>> 12] !== 1${write ? ' || codePages[p >>> 12] !== 0' : ''})) p = -1;
  }
}`;
}

/** `target = [seg:address]` (32-bit). `address` is an expression evaluated once. */
export function emitRead32(seg: number, address: string, target: string): string {
  return `{ const o = ${address}; ${fastWordIndex(seg, 'o', false)}
${target} = p >= 0 ? ram32[p >>> 2] : cpu.read32(${seg}, o); }`;
}

/** `[seg:address] = value` (32-bit); `value` is evaluated once, before the access. */
export function emitWrite32(seg: number, address: string, value: string): string {
  return `{ const o = ${address}, v = ${value}; ${fastWordIndex(seg, 'o', true)}
if (p >= 0) ram32[p >>> 2] = v; else cpu.write32(${seg}, o, v); }`;
}

/** PUSH of a 32-bit value with a 32-bit stack pointer fast path (cpu.push otherwise). */
export function emitPush32(value: string): string {
  return `{ const v = ${value}, o = (s[4] - 4) | 0; ${fastWordIndex(Seg.SS, 'o', true)}
if (p >= 0) { ram32[p >>> 2] = v; s[4] = o; } else cpu.push(v, 4); }`;
}

/** `target = POP` (32-bit); ESP is updated before `target` is written (POP ESP keeps the popped value). */
export function emitPop32(target: string): string {
  return `{ const o = s[4]; ${fastWordIndex(Seg.SS, 'o', false)}
if (p >= 0) { const v = ram32[p >>> 2]; s[4] = (o + 4) | 0; ${target} = v; } else ${target} = cpu.pop(4); }`;
}

/** `target = [SS:ESP]` without popping (RET reads its target first, then checks the CS limit). */
export function emitPeekStack32(target: string): string {
  return `{ const o = s[4]; ${fastWordIndex(Seg.SS, 'o', false)}
${target} = p >= 0 ? ram32[p >>> 2] : cpu.peekStack(0, 4); }`;
}
