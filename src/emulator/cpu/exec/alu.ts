// Integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP (all forms), TEST, INC, DEC, NEG, NOT,
// MUL, IMUL (1/2/3 operands), DIV, IDIV, XADD, CMPXCHG (SDM Vol. 2 per instruction, "Flags Affected").
// Undefined flags follow QEMU 7.2: after logic ops AF = 0; after MUL/IMUL SF ZF PF come from the low half
// of the result and AF = 0; DIV/IDIV leave all flags unchanged.

import type { Cpu } from '../cpu';
import { Vector } from '../faults';
import type { Insn } from '../insn';
import { getCF, LazyKind, setLazy, setLazyKeepCF, setLazyPartial } from '../lazyFlags';
import { Flag } from '../stateLayout';
import { ea, readE, readReg, signExtend, sizeOfW, writeE, writeReg } from './operands';
import type { Define } from './registry';

/** One ALU operation (op = ModRM.reg / opcode bits 5..3); returns the result (not masked). */
export function alu(cpu: Cpu, op: number, a: number, b: number, bits: number): number {
  const s = cpu.s;
  let r: number;
  switch (op) {
    case 0: r = (a + b) | 0; setLazy(s, LazyKind.Add, a, b, r, bits); return r;
    case 1: r = a | b; setLazy(s, LazyKind.Logic, a, b, r, bits); return r;
    case 2: {
      const c = getCF(s);
      r = (a + b + c) | 0;
      setLazy(s, c !== 0 ? LazyKind.AdcCarry : LazyKind.Add, a, b, r, bits);
      return r;
    }
    case 3: {
      const c = getCF(s);
      r = (a - b - c) | 0;
      setLazy(s, c !== 0 ? LazyKind.SbbBorrow : LazyKind.Sub, a, b, r, bits);
      return r;
    }
    case 4: r = a & b; setLazy(s, LazyKind.Logic, a, b, r, bits); return r;
    case 6: r = a ^ b; setLazy(s, LazyKind.Logic, a, b, r, bits); return r;
    default: r = (a - b) | 0; setLazy(s, LazyKind.Sub, a, b, r, bits); return r; // SUB, CMP
  }
}

/** 00..3D: the six classic forms per operation. */
function aluClassic(cpu: Cpu, insn: Insn): void {
  const op = (insn.opcode >> 3) & 7;
  const form = insn.opcode & 7;
  const size = (form & 1) === 0 ? 1 : insn.osize;
  const bits = size * 8;
  if (form >= 4) { // AL/eAX, imm
    const r = alu(cpu, op, readReg(cpu, 0, size), insn.imm, bits);
    if (op !== 7) writeReg(cpu, 0, size, r);
    return;
  }
  if (form < 2) { // E, G
    const r = alu(cpu, op, readE(cpu, insn, size), readReg(cpu, insn.reg, size), bits);
    if (op !== 7) writeE(cpu, insn, size, r);
  } else { // G, E
    const r = alu(cpu, op, readReg(cpu, insn.reg, size), readE(cpu, insn, size), bits);
    if (op !== 7) writeReg(cpu, insn.reg, size, r);
  }
}

/** Fast path for 32-bit register-register forms (op Ev,Gv / Gv,Ev with mod = 3). */
function aluReg32(cpu: Cpu, insn: Insn): void {
  const s = cpu.s;
  const op = (insn.opcode >> 3) & 7;
  const toRm = (insn.opcode & 2) === 0;
  const dst = toRm ? insn.rm : insn.reg;
  const r = alu(cpu, op, s[dst]!, s[toRm ? insn.reg : insn.rm]!, 32);
  if (op !== 7) s[dst] = r;
}

/** 80/81/83: group 1 with an immediate. */
function aluImmediate(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const imm = insn.opcode === 0x83 ? signExtend(insn.imm, 1) : insn.imm;
  const r = alu(cpu, insn.reg, readE(cpu, insn, size), imm, size * 8);
  if (insn.reg !== 7) writeE(cpu, insn, size, r);
}

function aluImmediateReg32(cpu: Cpu, insn: Insn): void {
  const r = alu(cpu, insn.reg, cpu.s[insn.rm]!, insn.imm, 32);
  if (insn.reg !== 7) cpu.s[insn.rm] = r;
}

function test(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  let a: number;
  let b: number;
  if (insn.opcode === 0xa8 || insn.opcode === 0xa9) { a = readReg(cpu, 0, size); b = insn.imm; }
  else if (insn.opcode >= 0xf6) { a = readE(cpu, insn, size); b = insn.imm; }
  else { a = readE(cpu, insn, size); b = readReg(cpu, insn.reg, size); }
  setLazy(cpu.s, LazyKind.Logic, a, b, a & b, size * 8);
}

/** INC/DEC: CF unaffected (SDM Vol. 2 INC/DEC). */
function incDec(cpu: Cpu, size: number, value: number, dec: boolean): number {
  const r = (dec ? value - 1 : value + 1) | 0;
  setLazyKeepCF(cpu.s, dec ? LazyKind.Sub : LazyKind.Add, value, 1, r, size * 8);
  return r;
}

function incDecRegister(cpu: Cpu, insn: Insn): void {
  const n = insn.opcode & 7;
  writeReg(cpu, n, insn.osize, incDec(cpu, insn.osize, readReg(cpu, n, insn.osize), insn.opcode >= 0x48));
}

function incDecRegister32(cpu: Cpu, insn: Insn): void {
  const s = cpu.s;
  const n = insn.opcode & 7;
  const value = s[n]!;
  const dec = insn.opcode >= 0x48;
  const r = (dec ? value - 1 : value + 1) | 0;
  s[n] = r;
  setLazyKeepCF(s, dec ? LazyKind.Sub : LazyKind.Add, value, 1, r, 32);
}

/** FE/FF /0 /1. */
function incDecE(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  writeE(cpu, insn, size, incDec(cpu, size, readE(cpu, insn, size), insn.reg === 1));
}

/** F6/F7 /2../7: NOT NEG MUL IMUL DIV IDIV. */
function group3(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const bits = size * 8;
  const s = cpu.s;
  const value = readE(cpu, insn, size);
  switch (insn.reg) {
    case 2: writeE(cpu, insn, size, ~value); return;
    case 3: {
      const r = -value | 0;
      writeE(cpu, insn, size, r);
      setLazy(s, LazyKind.Sub, 0, value, r, bits);
      return;
    }
    case 4: case 5: multiplyAccumulator(cpu, size, value, insn.reg === 5); return;
    default: divideAccumulator(cpu, size, value, insn.reg === 7); return;
  }
}

/** MUL/IMUL with one operand: EDX:EAX = EAX * r/m (SDM Vol. 2 MUL, IMUL). */
function multiplyAccumulator(cpu: Cpu, size: number, value: number, signed: boolean): void {
  const s = cpu.s;
  let low: number;
  let overflow: boolean;
  if (size === 1) {
    const product = signed ? ((cpu.r8[0]! << 24) >> 24) * ((value << 24) >> 24) : cpu.r8[0]! * (value & 0xff);
    cpu.r16[0] = product;
    low = product & 0xff;
    overflow = signed ? product !== (product << 24) >> 24 : (product & 0xff00) !== 0;
  } else if (size === 2) {
    const product = signed ? ((cpu.r16[0]! << 16) >> 16) * ((value << 16) >> 16) : cpu.r16[0]! * (value & 0xffff);
    cpu.r16[0] = product;
    cpu.r16[4] = product >> 16;
    low = product & 0xffff;
    overflow = signed ? product !== (product << 16) >> 16 : (product & 0xffff0000) !== 0;
  } else {
    const a = signed ? BigInt(s[0]!) : BigInt(s[0]! >>> 0);
    const b = signed ? BigInt(value | 0) : BigInt(value >>> 0);
    const product = a * b;
    low = Number(BigInt.asIntN(32, product));
    const high = Number(BigInt.asIntN(32, product >> 32n));
    s[0] = low;
    s[2] = high;
    overflow = signed ? high !== low >> 31 : high !== 0;
  }
  const cfof = overflow ? Flag.CF | Flag.OF : 0;
  setLazyPartial(s, LazyKind.Result, 0, 0, low, size * 8, Flag.CF | Flag.OF | Flag.AF, cfof);
}

/** DIV/IDIV: #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2 DIV, IDIV). */
function divideAccumulator(cpu: Cpu, size: number, divisor: number, signed: boolean): void {
  const s = cpu.s;
  if ((divisor & (size === 4 ? -1 : size === 2 ? 0xffff : 0xff)) === 0) cpu.raise(Vector.DE);
  if (size === 1) {
    const dividend = signed ? (cpu.r16[0]! << 16) >> 16 : cpu.r16[0]!;
    const d = signed ? (divisor << 24) >> 24 : divisor & 0xff;
    const q = Math.trunc(dividend / d);
    if (signed ? q < -128 || q > 127 : q > 0xff) cpu.raise(Vector.DE);
    cpu.r8[0] = q;
    cpu.r8[1] = dividend - q * d;
  } else if (size === 2) {
    const raw = (cpu.r16[4]! << 16) | cpu.r16[0]!;
    const dividend = signed ? raw : raw >>> 0;
    const d = signed ? (divisor << 16) >> 16 : divisor & 0xffff;
    const q = Math.trunc(dividend / d);
    if (signed ? q < -32768 || q > 32767 : q > 0xffff) cpu.raise(Vector.DE);
    cpu.r16[0] = q;
    cpu.r16[4] = dividend - q * d;
  } else {
    const raw = (BigInt(s[2]! >>> 0) << 32n) | BigInt(s[0]! >>> 0);
    const dividend = signed ? BigInt.asIntN(64, raw) : raw;
    const d = signed ? BigInt(divisor | 0) : BigInt(divisor >>> 0);
    const q = dividend / d;
    if (signed ? q < -2147483648n || q > 2147483647n : q > 0xffffffffn) cpu.raise(Vector.DE);
    s[0] = Number(BigInt.asIntN(32, q));
    s[2] = Number(BigInt.asIntN(32, dividend - q * d));
  }
}

/** IMUL Gv,Ev / Gv,Ev,imm: truncated signed product (SDM Vol. 2 IMUL). */
function imulTwoThree(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const a = signExtend(readE(cpu, insn, size), size);
  const b = insn.opcode === 0x1af ? signExtend(readReg(cpu, insn.reg, size), size) : signExtend(insn.imm, insn.opcode === 0x6b ? 1 : size);
  let low: number;
  let overflow: boolean;
  if (size === 2) {
    const product = a * b;
    low = (product << 16) >> 16;
    overflow = low !== product;
  } else {
    low = Math.imul(a, b);
    const exact = BigInt(a) * BigInt(b);
    overflow = BigInt(low) !== exact;
  }
  writeReg(cpu, insn.reg, size, low);
  setLazyPartial(cpu.s, LazyKind.Result, 0, 0, low, size * 8, Flag.CF | Flag.OF | Flag.AF, overflow ? Flag.CF | Flag.OF : 0);
}

/** XADD: exchange then add (SDM Vol. 2 XADD). */
function xadd(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const dst = readE(cpu, insn, size);
  const src = readReg(cpu, insn.reg, size);
  const sum = alu(cpu, 0, dst, src, size * 8);
  if (insn.mod !== 3) cpu.probeWrite(insn.seg, ea(cpu, insn), size);
  writeReg(cpu, insn.reg, size, dst);
  writeE(cpu, insn, size, sum);
}

/** CMPXCHG: compare accumulator with r/m; the destination is always written (SDM Vol. 2 CMPXCHG). */
function cmpxchg(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const dst = readE(cpu, insn, size);
  const acc = readReg(cpu, 0, size);
  alu(cpu, 7, acc, dst, size * 8);
  const equal = ((acc ^ dst) << (32 - size * 8)) === 0;
  if (equal) writeE(cpu, insn, size, readReg(cpu, insn.reg, size));
  else {
    writeE(cpu, insn, size, dst);
    writeReg(cpu, 0, size, dst);
  }
}

export function registerAlu(define: Define): void {
  for (let op = 0; op < 8; op++) {
    for (let form = 0; form < 6; form++) {
      const opcode = op * 8 + form;
      define(opcode, -1, aluClassic, form === 1 || form === 3 ? aluReg32 : undefined);
    }
  }
  for (const opcode of [0x80, 0x81, 0x83]) define(opcode, -1, aluImmediate, opcode === 0x80 ? undefined : aluImmediateReg32);
  for (const opcode of [0x84, 0x85, 0xa8, 0xa9]) define(opcode, -1, test);
  define(0xf6, 0, test);
  define(0xf7, 0, test);
  for (let ext = 2; ext < 8; ext++) {
    define(0xf6, ext, group3);
    define(0xf7, ext, group3);
  }
  for (let n = 0; n < 16; n++) define(0x40 + n, -1, incDecRegister, incDecRegister32);
  for (const opcode of [0xfe, 0xff]) {
    define(opcode, 0, incDecE);
    define(opcode, 1, incDecE);
  }
  define(0x1af, -1, imulTwoThree);
  define(0x69, -1, imulTwoThree);
  define(0x6b, -1, imulTwoThree);
  define(0x1c0, -1, xadd);
  define(0x1c1, -1, xadd);
  define(0x1b0, -1, cmpxchg);
  define(0x1b1, -1, cmpxchg);
}
