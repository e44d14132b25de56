// Operand access shared by the instruction handlers: effective addresses (SDM Vol. 2 2.1.5), ModRM
// register/memory operands by size, and general registers by size (8-bit numbers 4..7 are AH CH DH BH).

import type { Cpu } from '../cpu';
import type { Insn } from '../insn';

/** Effective address (offset within insn.seg) of a memory operand. */
export function ea(cpu: Cpu, insn: Insn): number {
  const s = cpu.s;
  let address = insn.disp;
  if (insn.base >= 0) address += s[insn.base]!;
  if (insn.index >= 0) address += s[insn.index]! << insn.scale;
  return insn.asize === 4 ? address | 0 : address & 0xffff;
}

export function readReg(cpu: Cpu, n: number, size: number): number {
  if (size === 4) return cpu.s[n]!;
  if (size === 2) return cpu.r16[n << 1]!;
  return cpu.r8[((n & 3) << 2) | (n >> 2)]!;
}

export function writeReg(cpu: Cpu, n: number, size: number, value: number): void {
  if (size === 4) cpu.s[n] = value;
  else if (size === 2) cpu.r16[n << 1] = value;
  else cpu.r8[((n & 3) << 2) | (n >> 2)] = value;
}

/** Read the ModRM r/m operand. */
export function readE(cpu: Cpu, insn: Insn, size: number): number {
  if (insn.mod === 3) return readReg(cpu, insn.rm, size);
  return cpu.readSized(insn.seg, ea(cpu, insn), size);
}

export function writeE(cpu: Cpu, insn: Insn, size: number, value: number): void {
  if (insn.mod === 3) writeReg(cpu, insn.rm, size, value);
  else cpu.writeSized(insn.seg, ea(cpu, insn), size, value);
}

/** Operand size of a b/v form: byte when the opcode's low bit is 0 (SDM Vol. 2 B.1.4.3 `w` bit). */
export function sizeOfW(insn: Insn): number {
  return (insn.opcode & 1) === 0 ? 1 : insn.osize;
}

/** Sign-extend a value of `size` bytes to 32 bits. */
export function signExtend(value: number, size: number): number {
  return size === 4 ? value | 0 : size === 2 ? (value << 16) >> 16 : (value << 24) >> 24;
}

/** Zero-extend (mask) a value to `size` bytes. */
export function mask(value: number, size: number): number {
  return size === 4 ? value >>> 0 : size === 2 ? value & 0xffff : value & 0xff;
}

/** Register number of the string/loop counter: ECX, or CX with a 16-bit address size. */
export function readCounter(cpu: Cpu, insn: Insn): number {
  return insn.asize === 4 ? cpu.s[1]! >>> 0 : cpu.r16[2]!;
}

export function writeCounter(cpu: Cpu, insn: Insn, value: number): void {
  if (insn.asize === 4) cpu.s[1] = value;
  else cpu.r16[2] = value;
}

/** Jump to `target` (EIP-relative targets are truncated to 16 bits with a 16-bit operand size). */
export function jumpNear(cpu: Cpu, insn: Insn, target: number): void {
  cpu.checkCodeLimit(insn.osize === 4 ? target : target & 0xffff);
}
