// Descriptor queries that set ZF instead of faulting: LAR, LSL, VERR, VERW, and ARPL (SDM Vol. 2 per
// instruction). They are "sensitive but unprivileged" (Robin & Irvine): they reveal descriptor state at
// any CPL, which is why the VMM issue cares about them.

import type { Cpu } from '../cpu';
import { Vector } from '../faults';
import type { Insn } from '../insn';
import { readEflags, writeEflags } from '../lazyFlags';
import { Desc, descriptorDpl, descriptorLimit, fetchDescriptor, isProtectedMode } from '../segments';
import { CPL, Flag } from '../stateLayout';
import { readE, readReg, writeE, writeReg } from './operands';
import type { Define } from './registry';

function setZF(cpu: Cpu, value: boolean): void {
  const eflags = readEflags(cpu.s);
  writeEflags(cpu.s, value ? eflags | Flag.ZF : eflags & ~Flag.ZF);
}

/** System descriptor types LAR (true) / LSL (false) accept (SDM Vol. 2 LAR Table 3-52, LSL Table 3-61). */
function systemTypeValid(type: number, lar: boolean): boolean {
  if (type === 1 || type === 2 || type === 3 || type === 9 || type === 0xb) return true;
  return lar && (type === 4 || type === 5 || type === 0xc);
}

/** Descriptor visible to the query at the current CPL and the selector's RPL; leaves it in cpu.desc*. */
function visible(cpu: Cpu, selector: number, kind: 'lar' | 'lsl' | 'verr' | 'verw'): boolean {
  if ((selector & 0xfffc) === 0 || !fetchDescriptor(cpu, selector)) return false;
  const high = cpu.descHigh;
  const dpl = descriptorDpl(high);
  const cpl = cpu.s[CPL]!;
  const rpl = selector & 3;
  const isSegment = (high & Desc.System) !== 0;
  const code = isSegment && (high & Desc.Code) !== 0;
  const conformingCode = code && (high & Desc.ConformingOrExpandDown) !== 0;
  if (!isSegment) {
    if (kind === 'verr' || kind === 'verw') return false;
    if (!systemTypeValid((high >>> 8) & 0xf, kind === 'lar')) return false;
  }
  if (!conformingCode && (dpl < cpl || dpl < rpl)) return false;
  if (kind === 'verr') return !code || (high & Desc.ReadWrite) !== 0;
  if (kind === 'verw') return !code && (high & Desc.ReadWrite) !== 0;
  return true;
}

function lar(cpu: Cpu, insn: Insn): void {
  if (!isProtectedMode(cpu)) cpu.raise(Vector.UD);
  const selector = readE(cpu, insn, 2) & 0xffff;
  const ok = visible(cpu, selector, 'lar');
  if (ok) writeReg(cpu, insn.reg, insn.osize, cpu.descHigh & (insn.osize === 4 ? 0x00f0ff00 : 0xff00));
  setZF(cpu, ok);
}

function lsl(cpu: Cpu, insn: Insn): void {
  if (!isProtectedMode(cpu)) cpu.raise(Vector.UD);
  const selector = readE(cpu, insn, 2) & 0xffff;
  const ok = visible(cpu, selector, 'lsl');
  if (ok) writeReg(cpu, insn.reg, insn.osize, descriptorLimit(cpu.descLow, cpu.descHigh));
  setZF(cpu, ok);
}

function verify(cpu: Cpu, insn: Insn): void {
  if (!isProtectedMode(cpu)) cpu.raise(Vector.UD);
  const selector = readE(cpu, insn, 2) & 0xffff;
  setZF(cpu, visible(cpu, selector, insn.reg === 4 ? 'verr' : 'verw'));
}

/** ARPL: raise the destination selector's RPL to the source's (protected mode only). */
function arpl(cpu: Cpu, insn: Insn): void {
  if (!isProtectedMode(cpu)) cpu.raise(Vector.UD);
  const destination = readE(cpu, insn, 2);
  const source = readReg(cpu, insn.reg, 2);
  if ((destination & 3) < (source & 3)) {
    writeE(cpu, insn, 2, (destination & ~3) | (source & 3));
    setZF(cpu, true);
  } else {
    setZF(cpu, false);
  }
}

export function registerDescriptorQueries(define: Define): void {
  define(0x102, -1, lar);
  define(0x103, -1, lsl);
  define(0x100, 4, verify);
  define(0x100, 5, verify);
  define(0x63, -1, arpl);
}
