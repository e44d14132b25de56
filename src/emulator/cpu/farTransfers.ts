// Far control transfers: JMP/CALL ptr16:32 and m16:32 to code segments, RETF (same and outer privilege)
// and IRET (same and outer privilege) per SDM Vol. 2 JMP, CALL, RET, IRET "Operation" (protected mode,
// no task switches: NT = 1 on IRET and call gates are reported as #GP with a reason). Real mode is the
// simple CS = selector, base = selector * 16 form.

import type { Cpu } from './cpu';
import { Vector } from './faults';
import { writeFlagsByPrivilege } from './privilege';
import {
  checkFarTarget, Desc, descriptorDpl, descriptorLimit, invalidateOuterSegments, isProtectedMode,
  loadCodeSegment, loadRealModeSegment, loadSegmentCache, readDescriptor,
} from './segments';
import { CPL, EFLAGS, EIP, Flag, SEG_SELECTOR, Seg } from './stateLayout';

export function farJump(cpu: Cpu, selector: number, offset: number, size: number): void {
  const target = size === 4 ? offset : offset & 0xffff;
  if (!isProtectedMode(cpu)) {
    loadRealModeSegment(cpu, Seg.CS, selector);
    cpu.s[EIP] = target;
    return;
  }
  checkFarTarget(cpu, selector);
  if (target >>> 0 > descriptorLimit(cpu.descLow, cpu.descHigh) >>> 0) cpu.raise(Vector.GP, 0);
  loadCodeSegment(cpu, selector, cpu.descLow, cpu.descHigh, cpu.s[CPL]!);
  cpu.s[EIP] = target;
}

export function farCall(cpu: Cpu, selector: number, offset: number, size: number): void {
  const s = cpu.s;
  const target = size === 4 ? offset : offset & 0xffff;
  const returnCs = s[SEG_SELECTOR + Seg.CS]! & 0xffff;
  const returnEip = s[EIP]!;
  if (!isProtectedMode(cpu)) {
    cpu.probeWrite(Seg.SS, (cpu.stackPointer() - 2 * size) | 0, 2 * size);
    cpu.push(returnCs, size);
    cpu.push(returnEip, size);
    loadRealModeSegment(cpu, Seg.CS, selector);
    s[EIP] = target;
    return;
  }
  checkFarTarget(cpu, selector);
  const low = cpu.descLow;
  const high = cpu.descHigh;
  if (target >>> 0 > descriptorLimit(low, high) >>> 0) cpu.raise(Vector.GP, 0);
  const esp = s[4]!;
  try {
    cpu.push(returnCs, size);
    cpu.push(returnEip, size);
  } catch (e) {
    s[4] = esp;
    throw e;
  }
  loadCodeSegment(cpu, selector, low, high, s[CPL]!);
  s[EIP] = target;
}

/** Check a return code-segment selector (RET/IRET): returns its RPL; descriptor in cpu.descLow/High. */
function checkReturnCode(cpu: Cpu, selector: number): number {
  const cpl = cpu.s[CPL]!;
  const rpl = selector & 3;
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  readDescriptor(cpu, selector);
  const high = cpu.descHigh;
  if ((high & (Desc.System | Desc.Code)) !== (Desc.System | Desc.Code) || rpl < cpl) cpu.raise(Vector.GP, selector & 0xfffc);
  const dpl = descriptorDpl(high);
  if ((high & Desc.ConformingOrExpandDown) !== 0 ? dpl > rpl : dpl !== rpl) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((high & Desc.Present) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
  return rpl;
}

/** Check the outer stack selector of a return to ring `rpl`; descriptor left in cpu.descLow/High. */
function checkReturnStack(cpu: Cpu, selector: number, rpl: number): void {
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  if ((selector & 3) !== rpl) cpu.raise(Vector.GP, selector & 0xfffc);
  readDescriptor(cpu, selector);
  const high = cpu.descHigh;
  const writableData = (high & (Desc.System | Desc.Code | Desc.ReadWrite)) === (Desc.System | Desc.ReadWrite);
  if (!writableData || descriptorDpl(high) !== rpl) cpu.raise(Vector.GP, selector & 0xfffc);
  if ((high & Desc.Present) === 0) cpu.raise(Vector.SS, selector & 0xfffc);
}

/** RETF [imm16]: `release` bytes of parameters are removed from both stacks. */
export function farReturn(cpu: Cpu, size: number, release: number): void {
  const s = cpu.s;
  const eip = cpu.peekStack(0, size);
  const selector = cpu.peekStack(size, size) & 0xffff;
  if (!isProtectedMode(cpu)) {
    loadRealModeSegment(cpu, Seg.CS, selector);
    s[EIP] = eip;
    cpu.setStackPointer(cpu.stackPointer() + 2 * size + release);
    return;
  }
  const rpl = checkReturnCode(cpu, selector);
  const codeLow = cpu.descLow;
  const codeHigh = cpu.descHigh;
  if (eip >>> 0 > descriptorLimit(codeLow, codeHigh) >>> 0) cpu.raise(Vector.GP, 0);
  if (rpl === s[CPL]) {
    cpu.setStackPointer(cpu.stackPointer() + 2 * size + release);
    loadCodeSegment(cpu, selector, codeLow, codeHigh, rpl);
    s[EIP] = eip;
    return;
  }
  const newEsp = cpu.peekStack(2 * size + release, size);
  const newSs = cpu.peekStack(3 * size + release, size) & 0xffff;
  checkReturnStack(cpu, newSs, rpl);
  loadCodeSegment(cpu, selector, codeLow, codeHigh, rpl);
  loadSegmentCache(cpu, Seg.SS, newSs, cpu.descLow, cpu.descHigh);
  cpu.setStackPointer(size === 4 ? newEsp + release : (newEsp + release) & 0xffff);
  s[EIP] = eip;
  invalidateOuterSegments(cpu);
}

/** IRET/IRETD (SDM Vol. 2 IRET): same-privilege or outer-privilege return; no task return, no VM86. */
export function interruptReturn(cpu: Cpu, size: number): void {
  const s = cpu.s;
  const eip = cpu.peekStack(0, size);
  const selector = cpu.peekStack(size, size) & 0xffff;
  const flags = cpu.peekStack(2 * size, size);
  const sizeMask = size === 4 ? -1 : 0xffff;
  if (!isProtectedMode(cpu)) {
    loadRealModeSegment(cpu, Seg.CS, selector);
    s[EIP] = size === 4 ? eip : eip & 0xffff;
    cpu.setStackPointer(cpu.stackPointer() + 3 * size);
    writeFlagsByPrivilege(cpu, flags, sizeMask, true);
    return;
  }
  if ((s[EFLAGS]! & Flag.NT) !== 0) cpu.raise(Vector.GP, 0, 'IRET with NT = 1 (task return) is not supported');
  if (size === 4 && (flags & Flag.VM) !== 0 && s[CPL] === 0) {
    cpu.raise(Vector.GP, 0, 'IRET to virtual-8086 mode is not supported');
  }
  const oldCpl = s[CPL]!;
  const rpl = checkReturnCode(cpu, selector);
  const codeLow = cpu.descLow;
  const codeHigh = cpu.descHigh;
  const target = size === 4 ? eip : eip & 0xffff;
  if (target >>> 0 > descriptorLimit(codeLow, codeHigh) >>> 0) cpu.raise(Vector.GP, 0);
  if (rpl === oldCpl) {
    cpu.setStackPointer(cpu.stackPointer() + 3 * size);
    loadCodeSegment(cpu, selector, codeLow, codeHigh, rpl);
    s[EIP] = target;
    writeFlagsByPrivilege(cpu, flags, sizeMask, true, oldCpl);
    return;
  }
  const newEsp = cpu.peekStack(3 * size, size);
  const newSs = cpu.peekStack(4 * size, size) & 0xffff;
  checkReturnStack(cpu, newSs, rpl);
  writeFlagsByPrivilege(cpu, flags, sizeMask, true, oldCpl);
  loadCodeSegment(cpu, selector, codeLow, codeHigh, rpl);
  loadSegmentCache(cpu, Seg.SS, newSs, cpu.descLow, cpu.descHigh);
  cpu.setStackPointer(newEsp);
  s[EIP] = target;
  invalidateOuterSegments(cpu);
}
