// Exception and interrupt delivery (SDM Vol. 3A chapter 6): the IDT with 32-bit interrupt and trap gates,
// error codes with the EXT bit, the privilege-changing stack switch through the TSS (ring 0/1/2 SS:ESP),
// the double-fault rules (Table 6-5) and shutdown on a fault while delivering #DF (6.15, interrupt 8).
// Real mode uses the interrupt vector table. Task gates and 16-bit gates are reported as #GP with a reason.

import type { Cpu } from './cpu';
import { VMX_MEMORY_EXIT } from './ept';
import { makesDoubleFault, pushesErrorCode, Vector } from './faults';
import { readEflags, writeEflags } from './lazyFlags';
import { Desc, descriptorDpl, descriptorLimit, fetchDescriptor, loadCodeSegment, loadRealModeSegment, loadSegmentCache } from './segments';
import {
  CPL, CR, Cr0, CpuMode, EIP, Flag, IDTR_BASE, IDTR_LIMIT, MODE, SEG_ACCESS, SEG_BASE, SEG_LIMIT, SEG_RIGHTS,
  SEG_SELECTOR, SEG_VALID_HIGH, SEG_VALID_LOW, Seg, TR_ACCESS, TR_BASE, TR_LIMIT, TR_SELECTOR,
} from './stateLayout';

const enum Source { Exception, Software, External }

/** Saved SS cache + ESP + CPL so a fault while pushing leaves the interrupted state intact. */
const saved = new Int32Array(10);

function saveStack(cpu: Cpu): void {
  const s = cpu.s;
  saved[0] = s[SEG_SELECTOR + Seg.SS]!; saved[1] = s[SEG_BASE + Seg.SS]!; saved[2] = s[SEG_LIMIT + Seg.SS]!;
  saved[3] = s[SEG_ACCESS + Seg.SS]!; saved[4] = s[SEG_VALID_LOW + Seg.SS]!; saved[5] = s[SEG_VALID_HIGH + Seg.SS]!;
  saved[6] = s[SEG_RIGHTS + Seg.SS]!; saved[7] = s[4]!; saved[8] = s[CPL]!;
}

function restoreStack(cpu: Cpu): void {
  const s = cpu.s;
  s[SEG_SELECTOR + Seg.SS] = saved[0]!; s[SEG_BASE + Seg.SS] = saved[1]!; s[SEG_LIMIT + Seg.SS] = saved[2]!;
  s[SEG_ACCESS + Seg.SS] = saved[3]!; s[SEG_VALID_LOW + Seg.SS] = saved[4]!; s[SEG_VALID_HIGH + Seg.SS] = saved[5]!;
  s[SEG_RIGHTS + Seg.SS] = saved[6]!; s[4] = saved[7]!; s[CPL] = saved[8]!;
}

/** Deliver a fault/trap raised by an instruction; handles #DF and triple fault. errorCode < 0: none. */
export function deliverException(cpu: Cpu, vector: number, errorCode: number): void {
  if (vector === VMX_MEMORY_EXIT) { // an EPT violation/misconfiguration: a VM exit, never an IDT delivery
    cpu.vmx?.memoryExit(0, 0);
    return;
  }
  if (cpu.eventHook !== null && cpu.eventHook('exception', vector, errorCode)) {
    cpu.stopRequest = 'exit';
    return;
  }
  if (cpu.vmx !== null && cpu.vmx.nonRoot && cpu.vmx.eventExits('exception', vector, pushesErrorCode(vector) ? Math.max(errorCode, 0) : -1)) return; // VMX exception bitmap
  deliverWithDoubleFault(cpu, vector, pushesErrorCode(vector) ? Math.max(errorCode, 0) : -1, Source.Exception);
}

function deliverWithDoubleFault(cpu: Cpu, vector: number, errorCode: number, source: Source): void {
  try {
    deliver(cpu, vector, errorCode, source);
  } catch (e) {
    if (e !== cpu.fault) throw e;
    const second = cpu.fault.vector;
    const secondCode = cpu.fault.hasErrorCode ? cpu.fault.errorCode : 0;
    // A VM exit while delivering: its IDT-vectoring information names the event (SDM Vol. 3C 28.2.4).
    const vectoring = (0x80000000 | (errorCode >= 0 ? 0x800 : 0) | ((source === Source.External ? 0 : 3) << 8) | vector) >>> 0;
    if (second === VMX_MEMORY_EXIT) {
      cpu.vmx?.memoryExit(vectoring, Math.max(errorCode, 0));
    } else if (cpu.vmx !== null && cpu.vmx.nonRoot &&
      cpu.vmx.eventExits('exception', second, pushesErrorCode(second) ? secondCode : -1, vectoring, Math.max(errorCode, 0))) {
      // the nested exception is in the exception bitmap: a VM exit instead of #DF
    } else if (vector === Vector.DF) {
      shutdown(cpu);
    } else if (makesDoubleFault(vector, second)) {
      deliverWithDoubleFault(cpu, Vector.DF, 0, Source.Exception);
    } else {
      deliverWithDoubleFault(cpu, second, pushesErrorCode(second) ? secondCode : -1, Source.Exception);
    }
  }
}

/** Triple fault: the processor enters shutdown (SDM Vol. 3A 6.15 interrupt 8, "Exception Class Abort"). */
export function shutdown(cpu: Cpu): void {
  if (cpu.vmx !== null && cpu.vmx.nonRoot && cpu.vmx.eventExits('triple-fault', 8, -1)) return; // VM exit 2 (SDM 25.2)
  cpu.s[MODE] |= CpuMode.Shutdown;
  cpu.stopRequest = 'shutdown';
  cpu.blockBreak = true;
}

/** INT n / INT3 / INTO: EIP already points after the instruction. */
export function softwareInterrupt(cpu: Cpu, vector: number): void {
  if (cpu.eventHook !== null && cpu.eventHook('software-interrupt', vector, -1)) {
    cpu.stopRequest = 'exit';
    cpu.blockBreak = true;
    return;
  }
  deliver(cpu, vector, -1, Source.Software); // faults here are the instruction's own faults
  cpu.blockBreak = true;
}

/** INTR: acknowledge the controller and deliver (between instructions). */
export function deliverExternalInterrupt(cpu: Cpu): void {
  if (cpu.vmx !== null && cpu.vmx.nonRoot && cpu.vmx.eventExits('external-interrupt', -1, -1)) return; // pin-based exiting
  const vector = cpu.interrupts.acknowledge() & 0xff;
  if (cpu.eventHook !== null && cpu.eventHook('external-interrupt', vector, -1)) {
    cpu.stopRequest = 'exit';
    return;
  }
  deliverWithDoubleFault(cpu, vector, -1, Source.External);
}

function deliver(cpu: Cpu, vector: number, errorCode: number, source: Source): void {
  const s = cpu.s;
  if ((s[CR]! & Cr0.PE) === 0) {
    deliverRealMode(cpu, vector);
    return;
  }
  const ext = source === Source.Software ? 0 : 1;
  const idtCode = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > s[IDTR_LIMIT]! >>> 0) cpu.raise(Vector.GP, idtCode);
  const gateLow = cpu.readLinear((s[IDTR_BASE]! + vector * 8) | 0, 4, true);
  const gateHigh = cpu.readLinear((s[IDTR_BASE]! + vector * 8 + 4) | 0, 4, true);
  const type = (gateHigh >>> 8) & 0x1f;
  if (type === 0x05) cpu.raise(Vector.GP, idtCode, 'task gates are not supported');
  if (type !== 0x0e && type !== 0x0f) cpu.raise(Vector.GP, idtCode, type === 0x06 || type === 0x07 ? '16-bit gates are not supported' : '');
  const cpl = s[CPL]!;
  if (source === Source.Software && descriptorDpl(gateHigh) < cpl) cpu.raise(Vector.GP, idtCode);
  if ((gateHigh & Desc.Present) === 0) cpu.raise(Vector.NP, idtCode);
  const selector = gateLow >>> 16;
  const offset = (gateHigh & 0xffff0000) | (gateLow & 0xffff);
  if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, ext);
  if (!fetchDescriptor(cpu, selector)) cpu.raise(Vector.GP, (selector & 0xfffc) + ext);
  const codeLow = cpu.descLow;
  const codeHigh = cpu.descHigh;
  const dpl = descriptorDpl(codeHigh);
  if ((codeHigh & (Desc.System | Desc.Code)) !== (Desc.System | Desc.Code) || dpl > cpl) {
    cpu.raise(Vector.GP, (selector & 0xfffc) + ext);
  }
  if ((codeHigh & Desc.Present) === 0) cpu.raise(Vector.NP, (selector & 0xfffc) + ext);
  const conforming = (codeHigh & Desc.ConformingOrExpandDown) !== 0;
  const newCpl = conforming ? cpl : dpl;
  const eflags = readEflags(s);
  const returnCs = s[SEG_SELECTOR + Seg.CS]! & 0xffff;
  const returnEip = s[EIP]!;
  saveStack(cpu);
  try {
    if (newCpl < cpl) {
      const oldSs = s[SEG_SELECTOR + Seg.SS]! & 0xffff;
      const oldEsp = s[4]!;
      switchToInnerStack(cpu, newCpl, ext);
      cpu.push32(oldSs);
      cpu.push32(oldEsp);
    }
    cpu.push32(eflags);
    cpu.push32(returnCs);
    cpu.push32(returnEip);
    if (errorCode >= 0) cpu.push32(errorCode);
    if (offset >>> 0 > descriptorLimit(codeLow, codeHigh) >>> 0) cpu.raise(Vector.GP, ext);
  } catch (e) {
    restoreStack(cpu);
    throw e;
  }
  loadCodeSegment(cpu, selector, codeLow, codeHigh, newCpl);
  s[EIP] = offset;
  let flags = eflags & ~(Flag.TF | Flag.NT | Flag.RF | Flag.VM);
  if (type === 0x0e) flags &= ~Flag.IF;
  writeEflags(s, flags);
  s[MODE] &= ~CpuMode.Halted;
  cpu.blockBreak = true;
}

/** Load SS:ESP for ring `newCpl` from the 32-bit TSS, with the #TS/#SS checks of SDM Vol. 3A 6.12.1. */
function switchToInnerStack(cpu: Cpu, newCpl: number, ext: number): void {
  const s = cpu.s;
  const trSelector = s[TR_SELECTOR]! & 0xfffc;
  const trType = s[TR_ACCESS]! & 0x0f;
  if (trType !== 0x9 && trType !== 0xb) cpu.raise(Vector.TS, trSelector + ext, 'no 32-bit TSS loaded for the stack switch');
  const slot = 4 + newCpl * 8;
  if (slot + 5 > s[TR_LIMIT]! >>> 0) cpu.raise(Vector.TS, trSelector + ext);
  const newEsp = cpu.readLinear((s[TR_BASE]! + slot) | 0, 4, true);
  const newSs = cpu.readLinear((s[TR_BASE]! + slot + 4) | 0, 2, true);
  if ((newSs & 0xfffc) === 0) cpu.raise(Vector.TS, ext);
  if ((newSs & 3) !== newCpl) cpu.raise(Vector.TS, (newSs & 0xfffc) + ext);
  if (!fetchDescriptor(cpu, newSs)) cpu.raise(Vector.TS, (newSs & 0xfffc) + ext);
  const high = cpu.descHigh;
  const writableData = (high & (Desc.System | Desc.Code | Desc.ReadWrite)) === (Desc.System | Desc.ReadWrite);
  if (!writableData || descriptorDpl(high) !== newCpl) cpu.raise(Vector.TS, (newSs & 0xfffc) + ext);
  if ((high & Desc.Present) === 0) cpu.raise(Vector.SS, (newSs & 0xfffc) + ext);
  loadSegmentCache(cpu, Seg.SS, newSs, cpu.descLow, high);
  s[CPL] = newCpl; // the pushes below are supervisor accesses to the new stack
  s[4] = newEsp;
}

/** Real-mode delivery through the interrupt vector table (SDM Vol. 3A 20.1.4). */
function deliverRealMode(cpu: Cpu, vector: number): void {
  const s = cpu.s;
  if (vector * 4 + 3 > s[IDTR_LIMIT]! >>> 0) cpu.raise(Vector.GP, 0);
  const entry = cpu.readLinear((s[IDTR_BASE]! + vector * 4) | 0, 4, true);
  const eflags = readEflags(s);
  cpu.push(eflags, 2);
  cpu.push(s[SEG_SELECTOR + Seg.CS]!, 2);
  cpu.push(s[EIP]!, 2);
  loadRealModeSegment(cpu, Seg.CS, entry >>> 16);
  s[EIP] = entry & 0xffff;
  writeEflags(s, eflags & ~(Flag.IF | Flag.TF | Flag.AC));
  s[MODE] &= ~CpuMode.Halted;
  cpu.blockBreak = true;
}
