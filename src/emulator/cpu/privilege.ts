// Privilege rules that are not descriptor checks: which EFLAGS bits POPF/IRET may change at a given CPL
// and IOPL (SDM Vol. 2 POPF, IRET "Operation"; Vol. 1 3.4.3), IOPL-sensitive instructions (CLI/STI/IN/OUT,
// SDM Vol. 1 18.2), and the TSS I/O permission bitmap (SDM Vol. 1 18.5.2).

import type { Cpu } from './cpu';
import { Vector } from './faults';
import { readEflags, writeEflags } from './lazyFlags';
import { CPL, CR, Cr0, EFLAGS, Flag, TR_ACCESS, TR_BASE, TR_LIMIT } from './stateLayout';

/** Flags any POPF/IRET may change. */
const ORDINARY = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.TF | Flag.DF | Flag.OF | Flag.NT | Flag.AC | Flag.ID;

export function iopl(cpu: Cpu): number {
  return (cpu.s[EFLAGS]! >>> 12) & 3;
}

/**
 * Write `value` into EFLAGS honouring the privilege rules, at privilege `cpl` (the CPL before an IRET).
 * `sizeMask` is -1 for 32-bit pops, 0xFFFF for 16-bit ones. POPF: IF is silently kept when CPL > IOPL,
 * IOPL is kept when CPL > 0, RF is cleared. IRET additionally restores RF. VM is never set (no virtual-8086
 * mode in this CPU; documented limitation), VIF/VIP are kept.
 */
export function writeFlagsByPrivilege(cpu: Cpu, value: number, sizeMask: number, iret: boolean, cpl = cpu.s[CPL]!): void {
  const current = readEflags(cpu.s);
  const protectedMode = (cpu.s[CR]! & Cr0.PE) !== 0;
  let changeable = ORDINARY | (iret ? Flag.RF : 0);
  if (!protectedMode || cpl === 0) changeable |= Flag.IOPL;
  if (!protectedMode || cpl <= ((current >>> 12) & 3)) changeable |= Flag.IF;
  changeable &= sizeMask;
  let next = (current & ~changeable) | (value & changeable);
  if (!iret) next &= ~Flag.RF;
  writeEflags(cpu.s, next);
}

/** CLI/STI: #GP(0) when CPL > IOPL in protected mode (SDM Vol. 2 CLI, STI; no VME/PVI support). */
export function checkIoplForInterruptFlag(cpu: Cpu): void {
  if ((cpu.s[CR]! & Cr0.PE) !== 0 && cpu.s[CPL]! > iopl(cpu)) cpu.raise(Vector.GP, 0);
}

/**
 * IN/OUT/INS/OUTS permission: allowed when CPL <= IOPL, otherwise every bit for the accessed ports in
 * the TSS I/O permission bitmap must be 0 (SDM Vol. 1 18.5.2); any failure is #GP(0).
 */
export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  const s = cpu.s;
  if ((s[CR]! & Cr0.PE) === 0 || s[CPL]! <= iopl(cpu)) return;
  const trType = s[TR_ACCESS]! & 0x0f;
  if (trType !== 0x9 && trType !== 0xb) cpu.raise(Vector.GP, 0); // needs a 32-bit TSS
  const limit = s[TR_LIMIT]! >>> 0;
  if (limit < 0x67) cpu.raise(Vector.GP, 0);
  const base = s[TR_BASE]!;
  const bitmapOffset = cpu.readLinear((base + 0x66) | 0, 2, true);
  const byteOffset = bitmapOffset + (port >>> 3);
  if (byteOffset + 1 > limit) cpu.raise(Vector.GP, 0);
  const bits = cpu.readLinear((base + byteOffset) | 0, 2, true);
  const needed = ((1 << size) - 1) << (port & 7);
  if ((bits & needed) !== 0) cpu.raise(Vector.GP, 0);
}
