// Data movement: MOV (register, memory, immediate, moffs, segment registers), MOVZX, MOVSX, LEA, XCHG,
// BSWAP, CMOVcc, SETcc, PUSH/POP (register, memory, immediate, segment), PUSHA/POPA, PUSHF/POPF,
// LAHF/SAHF, CBW/CWDE/CWD/CDQ, ENTER/LEAVE, NOP/PAUSE (SDM Vol. 2 per instruction).

import type { Cpu } from '../cpu';
import { Vector } from '../faults';
import type { Insn } from '../insn';
import { testCondition } from '../lazyFlags';
import { loadDataSegment } from '../segments';
import { CpuMode, Flag, MODE, SEG_SELECTOR, Seg } from '../stateLayout';
import { writeFlagsByPrivilege } from '../privilege';
import { ea, readE, readReg, signExtend, sizeOfW, writeE, writeReg } from './operands';
import type { Define } from './registry';

function movEG(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  writeE(cpu, insn, size, readReg(cpu, insn.reg, size));
}

function movGE(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  writeReg(cpu, insn.reg, size, readE(cpu, insn, size));
}

function movEGReg32(cpu: Cpu, insn: Insn): void {
  cpu.s[insn.rm] = cpu.s[insn.reg]!;
}

function movGEReg32(cpu: Cpu, insn: Insn): void {
  cpu.s[insn.reg] = cpu.s[insn.rm]!;
}

function movMoffs(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  if (insn.opcode < 0xa2) writeReg(cpu, 0, size, cpu.readSized(insn.seg, insn.disp, size));
  else cpu.writeSized(insn.seg, insn.disp, size, readReg(cpu, 0, size));
}

function movRegImm(cpu: Cpu, insn: Insn): void {
  if (insn.opcode < 0xb8) cpu.setReg8(insn.opcode & 7, insn.imm);
  else writeReg(cpu, insn.opcode & 7, insn.osize, insn.imm);
}

function movEImm(cpu: Cpu, insn: Insn): void {
  writeE(cpu, insn, sizeOfW(insn), insn.imm);
}

function movFromSreg(cpu: Cpu, insn: Insn): void {
  if (insn.reg > 5) cpu.raise(Vector.UD);
  const selector = cpu.s[SEG_SELECTOR + insn.reg]! & 0xffff;
  writeE(cpu, insn, insn.mod === 3 ? insn.osize : 2, selector);
}

function movToSreg(cpu: Cpu, insn: Insn): void {
  if (insn.reg > 5 || insn.reg === Seg.CS) cpu.raise(Vector.UD);
  loadDataSegment(cpu, insn.reg, readE(cpu, insn, 2) & 0xffff);
  if (insn.reg === Seg.SS) cpu.s[MODE] |= CpuMode.InterruptShadow; // SDM Vol. 3A 6.8.3
}

function movExtend(cpu: Cpu, insn: Insn): void {
  const fromSize = (insn.opcode & 1) === 0 ? 1 : 2;
  const value = readE(cpu, insn, fromSize);
  writeReg(cpu, insn.reg, insn.osize, insn.opcode >= 0x1be ? signExtend(value, fromSize) : value);
}

function lea(cpu: Cpu, insn: Insn): void {
  if (insn.mod === 3) cpu.raise(Vector.UD);
  if (insn.osize === 4) cpu.s[insn.reg] = ea(cpu, insn);
  else cpu.r16[insn.reg << 1] = ea(cpu, insn);
}

function xchgAccumulator(cpu: Cpu, insn: Insn): void {
  const n = insn.opcode & 7;
  const size = insn.osize;
  const value = readReg(cpu, n, size);
  writeReg(cpu, n, size, readReg(cpu, 0, size));
  writeReg(cpu, 0, size, value);
}

function xchgEG(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const memory = readE(cpu, insn, size);
  writeE(cpu, insn, size, readReg(cpu, insn.reg, size));
  writeReg(cpu, insn.reg, size, memory);
  if (insn.mod === 3 && insn.reg === 3 && insn.rm === 3 && size === 2) cpu.magicBreakpoint(); // xchg bx, bx
}

function bswap(cpu: Cpu, insn: Insn): void {
  const n = insn.opcode & 7;
  const v = cpu.s[n]!;
  cpu.s[n] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** CMOVcc reads its source even when the condition is false (SDM Vol. 2 CMOVcc). */
function cmov(cpu: Cpu, insn: Insn): void {
  const value = readE(cpu, insn, insn.osize);
  if (testCondition(cpu.s, insn.opcode & 15)) writeReg(cpu, insn.reg, insn.osize, value);
}

function setcc(cpu: Cpu, insn: Insn): void {
  writeE(cpu, insn, 1, testCondition(cpu.s, insn.opcode & 15) ? 1 : 0);
}

function pushRegister(cpu: Cpu, insn: Insn): void {
  cpu.push(readReg(cpu, insn.opcode & 7, insn.osize), insn.osize);
}

function popRegister(cpu: Cpu, insn: Insn): void {
  writeReg(cpu, insn.opcode & 7, insn.osize, cpu.pop(insn.osize));
}

function pushImmediate(cpu: Cpu, insn: Insn): void {
  cpu.push(insn.imm, insn.osize);
}

function pushE(cpu: Cpu, insn: Insn): void {
  cpu.push(readE(cpu, insn, insn.osize), insn.osize);
}

/** POP Ev: ESP is incremented before the destination address is computed (SDM Vol. 2 POP). */
function popE(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const saved = cpu.s[4]!;
  const value = cpu.pop(size);
  try {
    writeE(cpu, insn, size, value);
  } catch (e) {
    cpu.s[4] = saved;
    throw e;
  }
}

const PUSH_SEGMENT: Record<number, number> = { 0x06: Seg.ES, 0x0e: Seg.CS, 0x16: Seg.SS, 0x1e: Seg.DS, 0x1a0: Seg.FS, 0x1a8: Seg.GS };
const POP_SEGMENT: Record<number, number> = { 0x07: Seg.ES, 0x17: Seg.SS, 0x1f: Seg.DS, 0x1a1: Seg.FS, 0x1a9: Seg.GS };

function pushSegment(cpu: Cpu, insn: Insn): void {
  cpu.push(cpu.s[SEG_SELECTOR + PUSH_SEGMENT[insn.opcode]!]! & 0xffff, insn.osize);
}

function popSegment(cpu: Cpu, insn: Insn): void {
  const seg = POP_SEGMENT[insn.opcode]!;
  const selector = cpu.peekStack(0, insn.osize) & 0xffff;
  loadDataSegment(cpu, seg, selector);
  cpu.pop(insn.osize);
  if (seg === Seg.SS) cpu.s[MODE] |= CpuMode.InterruptShadow;
}

function pusha(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const originalEsp = cpu.s[4]!;
  for (let n = 0; n < 8; n++) cpu.push(n === 4 ? originalEsp : readReg(cpu, n, size), size);
}

function popa(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  for (let n = 7; n >= 0; n--) {
    const value = cpu.pop(size);
    if (n !== 4) writeReg(cpu, n, size, value);
  }
}

/** PUSHF: VM and RF are pushed as 0 (SDM Vol. 2 PUSHF). */
function pushf(cpu: Cpu, insn: Insn): void {
  cpu.push(cpu.eflags() & ~(Flag.VM | Flag.RF), insn.osize);
}

function popf(cpu: Cpu, insn: Insn): void {
  const value = cpu.pop(insn.osize);
  writeFlagsByPrivilege(cpu, value, insn.osize === 4 ? -1 : 0xffff, false);
}

function lahf(cpu: Cpu): void {
  cpu.r8[1] = (cpu.eflags() & (Flag.SF | Flag.ZF | Flag.AF | Flag.PF | Flag.CF)) | 2;
}

function sahf(cpu: Cpu): void {
  const mask = Flag.SF | Flag.ZF | Flag.AF | Flag.PF | Flag.CF;
  cpu.setArithFlags((cpu.eflags() & ~mask) | (cpu.r8[1]! & mask));
}

function convert(cpu: Cpu, insn: Insn): void {
  if (insn.opcode === 0x98) {
    if (insn.osize === 2) cpu.r16[0] = (cpu.r8[0]! << 24) >> 24;
    else cpu.s[0] = (cpu.r16[0]! << 16) >> 16;
  } else if (insn.osize === 2) {
    cpu.r16[4] = (cpu.r16[0]! & 0x8000) !== 0 ? 0xffff : 0;
  } else {
    cpu.s[2] = cpu.s[0]! >> 31;
  }
}

/** ENTER imm16, imm8 (SDM Vol. 2 ENTER, 32-bit stack). */
function enter(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const level = insn.imm2 & 31;
  cpu.push(readReg(cpu, 5, size), size);
  const frame = cpu.stackPointer();
  if (level > 0) {
    let bp = readReg(cpu, 5, size);
    for (let i = 1; i < level; i++) {
      bp = (bp - size) | 0;
      cpu.push(cpu.readSized(Seg.SS, bp, size), size);
    }
    cpu.push(frame, size);
  }
  writeReg(cpu, 5, size, frame);
  cpu.setStackPointer((cpu.stackPointer() - insn.imm) | 0);
}

function leave(cpu: Cpu, insn: Insn): void {
  cpu.setStackPointer(cpu.s[5]!);
  writeReg(cpu, 5, insn.osize, cpu.pop(insn.osize));
}

function nop(): void {
  // NOP, PAUSE (F3 90), multi-byte NOP (0F 1F /0): no architectural effect.
}

export function registerData(define: Define): void {
  define(0x88, -1, movEG);
  define(0x89, -1, movEG, movEGReg32);
  define(0x8a, -1, movGE);
  define(0x8b, -1, movGE, movGEReg32);
  for (let opcode = 0xa0; opcode <= 0xa3; opcode++) define(opcode, -1, movMoffs);
  for (let opcode = 0xb0; opcode <= 0xbf; opcode++) define(opcode, -1, movRegImm);
  define(0xc6, 0, movEImm);
  define(0xc7, 0, movEImm);
  define(0x8c, -1, movFromSreg);
  define(0x8e, -1, movToSreg);
  for (const opcode of [0x1b6, 0x1b7, 0x1be, 0x1bf]) define(opcode, -1, movExtend);
  define(0x8d, -1, lea);
  for (let opcode = 0x90; opcode <= 0x97; opcode++) define(opcode, -1, xchgAccumulator);
  define(0x86, -1, xchgEG);
  define(0x87, -1, xchgEG);
  for (let opcode = 0x1c8; opcode <= 0x1cf; opcode++) define(opcode, -1, bswap);
  for (let cc = 0; cc < 16; cc++) {
    define(0x140 + cc, -1, cmov);
    define(0x190 + cc, -1, setcc);
  }
  for (let n = 0; n < 8; n++) {
    define(0x50 + n, -1, pushRegister);
    define(0x58 + n, -1, popRegister);
  }
  define(0x6a, -1, pushImmediate);
  define(0x68, -1, pushImmediate);
  define(0xff, 6, pushE);
  define(0x8f, 0, popE);
  for (const opcode of Object.keys(PUSH_SEGMENT)) define(Number(opcode), -1, pushSegment);
  for (const opcode of Object.keys(POP_SEGMENT)) define(Number(opcode), -1, popSegment);
  define(0x60, -1, pusha);
  define(0x61, -1, popa);
  define(0x9c, -1, pushf);
  define(0x9d, -1, popf);
  define(0x9f, -1, lahf);
  define(0x9e, -1, sahf);
  define(0x98, -1, convert);
  define(0x99, -1, convert);
  define(0xc8, -1, enter);
  define(0xc9, -1, leave);
  define(0x11f, 0, nop);
}
