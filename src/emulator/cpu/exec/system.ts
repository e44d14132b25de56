// System instructions: MOV to/from CR0-4 and DR0-7, CLTS, LMSW/SMSW, LGDT/LIDT/SGDT/SIDT, LLDT/SLDT,
// LTR/STR, INVLPG, INVD/WBINVD, HLT, CLI/STI, CLC/STC/CMC, CPUID, RDTSC, RDMSR/WRMSR, IN/OUT, SYSENTER/
// SYSEXIT, UD2, and the VMX hook (SDM Vol. 2 per instruction; privilege per Vol. 3A 2.8 and 5.9).
// LAR/LSL/VERR/VERW/ARPL are in descriptorQueries.ts.

import type { Cpu } from '../cpu';
import { Vector } from '../faults';
import { cpuid, readMsr, readTimeStampCounter, writeMsr } from '../identity';
import type { Insn } from '../insn';
import { readEflags, writeEflags } from '../lazyFlags';
import { checkIoPermission, checkIoplForInterruptFlag } from '../privilege';
import { Desc, isProtectedMode, loadCodeSegment, loadSegmentCache, readDescriptor } from '../segments';
import {
  CPL, CR, Cr0, Cr4, CpuMode, DR, EFLAGS, EIP, Flag, GDTR_BASE, IDTR_BASE, LDTR_ACCESS,
  LDTR_BASE, LDTR_LIMIT, LDTR_SELECTOR, MODE, MSR, Seg, TR_SELECTOR,
} from '../stateLayout';
import { registerDescriptorQueries } from './descriptorQueries';
import { ea, readE, writeE } from './operands';
import type { Define } from './registry';

/** #GP(0) unless CPL = 0 (or real mode); the VMM hook sees privileged instructions first. */
export function requireCpl0(cpu: Cpu, insn: Insn): void {
  if (isProtectedMode(cpu) && cpu.s[CPL] !== 0) cpu.raise(Vector.GP, 0);
  if (cpu.eventHook !== null && cpu.eventHook('privileged', insn.formIndex, -1)) {
    cpu.s[EIP] = cpu.insnStart;
    cpu.stopRequest = 'exit';
    cpu.blockBreak = true;
    throw cpu.hookStop;
  }
}

function movFromControl(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  if (insn.reg === 1 || insn.reg > 4) cpu.raise(Vector.UD);
  cpu.s[insn.rm] = cpu.s[CR + insn.reg]!;
}

function movToControl(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  const s = cpu.s;
  const value = s[insn.rm]!;
  switch (insn.reg) {
    case 0: {
      if ((value & Cr0.PG) !== 0 && (value & Cr0.PE) === 0) cpu.raise(Vector.GP, 0); // SDM Vol. 2 MOV CR
      const old = s[CR]!;
      s[CR] = value | Cr0.ET;
      if (((old ^ value) & (Cr0.PG | Cr0.WP | Cr0.PE)) !== 0) cpu.mmu.flush(true);
      break;
    }
    case 2: s[CR + 2] = value; break;
    case 3: s[CR + 3] = value; cpu.mmu.flush(false); break;
    case 4: {
      if ((value & Cr4.PAE) !== 0) cpu.raise(Vector.GP, 0, 'PAE paging is not supported');
      if ((value & Cr4.VMXE) !== 0 && !cpu.features.vmx) cpu.raise(Vector.GP, 0);
      if ((value & ~(Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PGE | Cr4.VMXE | 0x600)) !== 0) cpu.raise(Vector.GP, 0);
      const old = s[CR + 4]!;
      s[CR + 4] = value;
      if (((old ^ value) & (Cr4.PGE | Cr4.PSE)) !== 0) cpu.mmu.flush(true);
      break;
    }
    default: cpu.raise(Vector.UD);
  }
}

function debugRegisterIndex(cpu: Cpu, n: number): number {
  if (n === 4 || n === 5) {
    if ((cpu.s[CR + 4]! & Cr4.DE) !== 0) cpu.raise(Vector.UD);
    return n + 2;
  }
  return n;
}

function movFromDebug(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  cpu.s[insn.rm] = cpu.s[DR + debugRegisterIndex(cpu, insn.reg)]!;
}

function movToDebug(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  cpu.s[DR + debugRegisterIndex(cpu, insn.reg)] = cpu.s[insn.rm]!;
}

function clts(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  cpu.s[CR] &= ~Cr0.TS;
}

/** 0F 01 group: SGDT SIDT LGDT LIDT SMSW LMSW INVLPG. */
function group7(cpu: Cpu, insn: Insn): void {
  const s = cpu.s;
  switch (insn.reg) {
    case 0: case 1: { // SGDT/SIDT: limit then 32-bit base (SDM Vol. 2 SGDT)
      const at = ea(cpu, insn);
      const baseSlot = insn.reg === 0 ? GDTR_BASE : IDTR_BASE;
      cpu.probeWrite(insn.seg, at, 6);
      cpu.write16(insn.seg, at, s[baseSlot + 1]!);
      cpu.write32(insn.seg, (at + 2) | 0, s[baseSlot]!);
      return;
    }
    case 2: case 3: { // LGDT/LIDT
      requireCpl0(cpu, insn);
      const at = ea(cpu, insn);
      const limit = cpu.read16(insn.seg, at);
      let base = cpu.read32(insn.seg, (at + 2) | 0);
      if (insn.osize === 2) base &= 0xffffff;
      const baseSlot = insn.reg === 2 ? GDTR_BASE : IDTR_BASE;
      s[baseSlot] = base;
      s[baseSlot + 1] = limit;
      return;
    }
    case 4: // SMSW: whole CR0 into a 32-bit register, low 16 bits otherwise
      writeE(cpu, insn, insn.mod === 3 ? insn.osize : 2, s[CR]!);
      return;
    case 6: { // LMSW: PE MP EM TS; cannot clear PE
      requireCpl0(cpu, insn);
      const value = readE(cpu, insn, 2);
      s[CR] = (s[CR]! & ~0xe) | (value & 0xf) | (s[CR]! & Cr0.PE);
      return;
    }
    case 7: // INVLPG
      requireCpl0(cpu, insn);
      cpu.mmu.invalidatePage(cpu.linear(insn.seg, ea(cpu, insn), 1, false));
      return;
    default:
      cpu.raise(Vector.UD);
  }
}

/** 0F 00 group: SLDT STR LLDT LTR (VERR/VERW in descriptorQueries.ts). */
function group6(cpu: Cpu, insn: Insn): void {
  const s = cpu.s;
  if (!isProtectedMode(cpu)) cpu.raise(Vector.UD);
  switch (insn.reg) {
    case 0: writeE(cpu, insn, insn.mod === 3 ? insn.osize : 2, s[LDTR_SELECTOR]! & 0xffff); return;
    case 1: writeE(cpu, insn, insn.mod === 3 ? insn.osize : 2, s[TR_SELECTOR]! & 0xffff); return;
    case 2: { // LLDT (SDM Vol. 2 LLDT)
      requireCpl0(cpu, insn);
      const selector = readE(cpu, insn, 2) & 0xffff;
      if ((selector & 0xfffc) === 0) {
        s[LDTR_SELECTOR] = selector; s[LDTR_BASE] = 0; s[LDTR_LIMIT] = 0; s[LDTR_ACCESS] = 0;
        return;
      }
      if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
      readDescriptor(cpu, selector);
      if (((cpu.descHigh >>> 8) & 0x1f) !== 0x02) cpu.raise(Vector.GP, selector & 0xfffc);
      if ((cpu.descHigh & Desc.Present) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
      loadSystemSegment(cpu, LDTR_SELECTOR, selector);
      return;
    }
    case 3: { // LTR (SDM Vol. 2 LTR): available 32-bit TSS, marked busy
      requireCpl0(cpu, insn);
      const selector = readE(cpu, insn, 2) & 0xffff;
      if ((selector & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
      if ((selector & 4) !== 0) cpu.raise(Vector.GP, selector & 0xfffc);
      readDescriptor(cpu, selector);
      if (((cpu.descHigh >>> 8) & 0x1f) !== 0x09) cpu.raise(Vector.GP, selector & 0xfffc, 'LTR needs an available 32-bit TSS');
      if ((cpu.descHigh & Desc.Present) === 0) cpu.raise(Vector.NP, selector & 0xfffc);
      cpu.descHigh |= 0x200; // busy
      cpu.writeLinear((s[GDTR_BASE]! + (selector & 0xfff8) + 4) | 0, 4, cpu.descHigh, true);
      loadSystemSegment(cpu, TR_SELECTOR, selector);
      return;
    }
    default:
      cpu.raise(Vector.UD);
  }
}

/** LDTR/TR cache: selector, base, limit, access (same layout as segment caches). */
function loadSystemSegment(cpu: Cpu, slot: number, selector: number): void {
  const low = cpu.descLow;
  const high = cpu.descHigh;
  const s = cpu.s;
  s[slot] = selector;
  s[slot + 1] = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) | 0;
  const raw = (high & 0xf0000) | (low & 0xffff);
  s[slot + 2] = (high & Desc.Granularity) !== 0 ? (raw << 12) | 0xfff : raw;
  s[slot + 3] = (high >>> 8) & 0xf0ff;
}

function halt(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  cpu.s[MODE] |= CpuMode.Halted;
  cpu.blockBreak = true;
}

function cli(cpu: Cpu): void {
  checkIoplForInterruptFlag(cpu);
  cpu.s[EFLAGS] &= ~Flag.IF;
}

/** STI: interrupts are recognised only after the next instruction (SDM Vol. 2 STI). */
function sti(cpu: Cpu): void {
  checkIoplForInterruptFlag(cpu);
  if ((cpu.s[EFLAGS]! & Flag.IF) === 0) cpu.s[MODE] |= CpuMode.InterruptShadow;
  cpu.s[EFLAGS] |= Flag.IF;
}

function carryFlagOp(cpu: Cpu, insn: Insn): void {
  const eflags = readEflags(cpu.s);
  const cf = insn.opcode === 0xf8 ? 0 : insn.opcode === 0xf9 ? 1 : (eflags & 1) ^ 1;
  writeEflags(cpu.s, (eflags & ~Flag.CF) | cf);
}

function rdtsc(cpu: Cpu): void {
  if ((cpu.s[CR + 4]! & Cr4.TSD) !== 0 && isProtectedMode(cpu) && cpu.s[CPL] !== 0) cpu.raise(Vector.GP, 0);
  readTimeStampCounter(cpu);
}

function rdmsr(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  readMsr(cpu);
}

function wrmsr(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn);
  writeMsr(cpu);
}

/** IN/OUT with imm8 or DX ports (SDM Vol. 2 IN, OUT; I/O permission Vol. 1 18.5). */
function portIo(cpu: Cpu, insn: Insn): void {
  const op = insn.opcode;
  const size = (op & 1) === 0 ? 1 : insn.osize;
  const port = op >= 0xec ? cpu.r16[4]! : insn.imm & 0xff;
  checkIoPermission(cpu, port, size);
  const input = (op & 2) === 0;
  if (input) {
    const value = cpu.ports.read(port, size as 1 | 2 | 4);
    if (size === 1) cpu.r8[0] = value; else if (size === 2) cpu.r16[0] = value; else cpu.s[0] = value;
  } else {
    cpu.ports.write(port, size as 1 | 2 | 4, size === 1 ? cpu.r8[0]! : size === 2 ? cpu.r16[0]! : cpu.s[0]!);
  }
}

const FLAT_CODE_LOW = 0x0000ffff;
const flatHigh = (code: boolean, dpl: number): number => (code ? 0x00cf9b00 : 0x00cf9300) | (dpl << 13);

/** SYSENTER (SDM Vol. 2 SYSENTER): flat ring-0 CS/SS from IA32_SYSENTER_CS, ESP/EIP from the MSRs. */
function sysenter(cpu: Cpu): void {
  const s = cpu.s;
  const cs = s[MSR + 4]! & 0xffff;
  if (!isProtectedMode(cpu) || (cs & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  writeEflags(s, readEflags(s) & ~(Flag.VM | Flag.IF | Flag.RF));
  loadCodeSegment(cpu, cs & 0xfffc, FLAT_CODE_LOW, flatHigh(true, 0), 0);
  loadSegmentCache(cpu, Seg.SS, (cs + 8) & 0xfffc, FLAT_CODE_LOW, flatHigh(false, 0));
  s[4] = s[MSR + 6]!;
  s[EIP] = s[MSR + 8]!;
}

/** SYSEXIT: back to flat ring 3 at EDX with ESP = ECX. */
function sysexit(cpu: Cpu, insn: Insn): void {
  const s = cpu.s;
  const cs = s[MSR + 4]! & 0xffff;
  if (!isProtectedMode(cpu) || (cs & 0xfffc) === 0) cpu.raise(Vector.GP, 0);
  requireCpl0(cpu, insn);
  loadCodeSegment(cpu, ((cs + 16) & 0xfffc) | 3, FLAT_CODE_LOW, flatHigh(true, 3), 3);
  loadSegmentCache(cpu, Seg.SS, ((cs + 24) & 0xfffc) | 3, FLAT_CODE_LOW, flatHigh(false, 3));
  s[4] = s[1]!;
  s[EIP] = s[2]!;
}

function ud2(cpu: Cpu): void {
  cpu.raise(Vector.UD);
}

function cacheControl(cpu: Cpu, insn: Insn): void {
  requireCpl0(cpu, insn); // INVD/WBINVD: no caches are modelled
}

/** VMX instructions: #UD unless CR4.VMXE; with VMXE the VMM hook (later issue) decides. */
export function vmxInstruction(cpu: Cpu, insn: Insn): void {
  if ((cpu.s[CR + 4]! & Cr4.VMXE) === 0) cpu.raise(Vector.UD);
  if (cpu.vmx !== null) return cpu.vmx.execute(cpu, insn); // VMX operation (src/emulator/vmx, issue 6)
  if (cpu.eventHook !== null && cpu.eventHook('vmx', insn.formIndex, -1)) {
    cpu.s[EIP] = cpu.insnStart;
    cpu.stopRequest = 'exit';
    cpu.blockBreak = true;
    return;
  }
  cpu.raise(Vector.UD, -1, 'VMX operation is not implemented by this CPU yet (no VMM attached)');
}

export function registerSystem(define: Define): void {
  define(0x120, -1, movFromControl);
  define(0x122, -1, movToControl);
  define(0x121, -1, movFromDebug);
  define(0x123, -1, movToDebug);
  define(0x106, -1, clts);
  define(0x101, -1, group7);
  define(0x100, -1, group6);
  define(0xf4, -1, halt);
  define(0xfa, -1, cli);
  define(0xfb, -1, sti);
  for (const opcode of [0xf5, 0xf8, 0xf9]) define(opcode, -1, carryFlagOp);
  define(0x1a2, -1, cpuid);
  define(0x131, -1, rdtsc);
  define(0x132, -1, rdmsr);
  define(0x130, -1, wrmsr);
  for (const opcode of [0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef]) define(opcode, -1, portIo);
  define(0x134, -1, sysenter);
  define(0x135, -1, sysexit);
  define(0x10b, -1, ud2);
  define(0x108, -1, cacheControl);
  define(0x109, -1, cacheControl);
  registerDescriptorQueries(define);
}
