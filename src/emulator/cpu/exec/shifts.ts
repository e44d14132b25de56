// Shifts, rotates and bit operations: ROL ROR RCL RCR SHL/SAL SHR SAR (1, CL, imm8), SHLD, SHRD, BT BTS
// BTR BTC (register and immediate forms), BSF, BSR (SDM Vol. 2 per instruction). The count is masked to
// 5 bits; a masked count of 0 changes no flags. Flags the SDM leaves undefined follow QEMU 7.2:
// shifts: AF = 0 and OF = MSB(result) XOR CF (SHL) / MSB(value >> (count-1) XOR result) (SHR, SAR) for any
// count; rotates: OF computed by the count-1 formula for every count; SHLD/SHRD like SHL/SAR with AF = 0;
// BT*: only CF changes; BSF/BSR: ZF = (source = 0), SF PF from the source, CF OF AF = 0, destination
// unchanged when the source is 0.

import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import { getCF, LazyKind, setLazy, setLazyPartial } from '../lazyFlags';
import { Flag } from '../stateLayout';
import { ea, mask, readE, readReg, sizeOfW, writeE, writeReg } from './operands';
import type { Define } from './registry';

const CF_OF_AF = Flag.CF | Flag.OF | Flag.AF;

/** Apply shift/rotate `op` (ModRM.reg) to `value` (masked to `size`); returns the new value. */
export function shift(cpu: Cpu, op: number, value: number, countRaw: number, size: number): number {
  const s = cpu.s;
  const bits = size * 8;
  const count = countRaw & 31;
  if (count === 0) return value;
  const v = mask(value, size);
  const top = bits - 1;
  switch (op) {
    case 0: case 1: { // ROL, ROR
      const n = count % bits;
      const r = n === 0 ? v : op === 0 ? (v << n) | (v >>> (bits - n)) : (v >>> n) | (v << (bits - n));
      const m = mask(r, size);
      let f: number;
      if (op === 0) f = (m & 1) | ((((m >>> top) ^ m) & 1) !== 0 ? Flag.OF : 0);
      else f = ((m >>> top) & 1) | ((((m >>> top) ^ (m >>> (top - 1))) & 1) !== 0 ? Flag.OF : 0);
      writeRotateFlags(cpu, f);
      return m;
    }
    case 2: case 3: { // RCL, RCR: rotate through CF, count modulo size + 1
      const n = size === 4 ? count : count % (bits + 1);
      if (n === 0) return value;
      let carry = getCF(s);
      let m = v;
      for (let i = 0; i < n; i++) {
        if (op === 2) {
          const out = (m >>> top) & 1;
          m = mask((m << 1) | carry, size);
          carry = out;
        } else {
          const out = m & 1;
          m = (m >>> 1) | (carry << top);
          m = mask(m, size);
          carry = out;
        }
      }
      const of = (((v ^ m) >>> top) & 1) !== 0 ? Flag.OF : 0;
      writeRotateFlags(cpu, carry | of);
      return m;
    }
    case 4: case 6: { // SHL/SAL
      const before = count <= bits ? mask(v << (count - 1), size) : 0;
      const r = count < bits ? mask(v << count, size) : 0;
      const cf = (before >>> top) & 1;
      const of = ((r >>> top) & 1) ^ cf;
      setLazyPartial(s, LazyKind.Result, 0, 0, r, bits, CF_OF_AF, cf | (of !== 0 ? Flag.OF : 0));
      return r;
    }
    case 5: { // SHR
      const before = count <= bits ? v >>> (count - 1) : 0;
      const r = count < bits ? v >>> count : 0;
      const of = (((before ^ r) >>> top) & 1) !== 0 ? Flag.OF : 0;
      setLazyPartial(s, LazyKind.Result, 0, 0, r, bits, CF_OF_AF, (before & 1) | of);
      return r;
    }
    default: { // SAR
      const signed = size === 4 ? v | 0 : size === 2 ? (v << 16) >> 16 : (v << 24) >> 24;
      const before = signed >> Math.min(count - 1, 31);
      const r = mask(signed >> Math.min(count, 31), size);
      const of = ((((before ^ r) >>> top) & 1) !== 0) ? Flag.OF : 0;
      setLazyPartial(s, LazyKind.Result, 0, 0, r, bits, CF_OF_AF, (before & 1) | of);
      return r;
    }
  }
}

/** Rotates change only CF and OF (SDM Vol. 2 RCL/RCR/ROL/ROR "Flags Affected"). */
function writeRotateFlags(cpu: Cpu, cfof: number): void {
  const eflags = cpu.eflags();
  cpu.setArithFlags((eflags & ~(Flag.CF | Flag.OF)) | cfof);
}

function shiftGroup(cpu: Cpu, insn: Insn): void {
  const size = sizeOfW(insn);
  const op = insn.opcode;
  const count = op === 0xd0 || op === 0xd1 ? 1 : op === 0xd2 || op === 0xd3 ? cpu.r8[4]! : insn.imm;
  if ((count & 31) === 0) {
    readE(cpu, insn, size); // the operand is still accessed (a #PF/#GP still happens)
    return;
  }
  writeE(cpu, insn, size, shift(cpu, insn.reg, readE(cpu, insn, size), count, size));
}

/** SHLD/SHRD (SDM Vol. 2 SHLD, SHRD); 16-bit counts above 16 follow QEMU (a 32-bit funnel). */
function doubleShift(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const bits = size * 8;
  const left = insn.opcode === 0x1a4 || insn.opcode === 0x1a5;
  const count = (insn.opcode & 1) === 1 ? cpu.r8[4]! & 31 : insn.imm & 31;
  if (count === 0) { readE(cpu, insn, size); return; }
  const dst = mask(readE(cpu, insn, size), size);
  const src = mask(readReg(cpu, insn.reg, size), size);
  let result: number;
  let before: number;
  if (size === 4) {
    result = left ? (dst << count) | (src >>> (32 - count)) : (dst >>> count) | (src << (32 - count));
    // CF is the last bit shifted out; for OF QEMU uses the destination alone shifted by count-1 (the SDM
    // leaves OF undefined for count > 1), so "before" carries no bits of the source register.
    before = left ? dst << (count - 1) : dst >>> (count - 1);
  } else {
    const wide = left ? dst * 0x10000 + src : src * 0x10000 + dst; // 32-bit funnel
    if (left) {
      result = Math.floor((wide * 2 ** count) / 0x10000) & 0xffff;
      before = Math.floor((wide * 2 ** (count - 1)) / 0x10000) & 0xffff;
    } else {
      result = Math.floor(wide / 2 ** count) & 0xffff;
      before = Math.floor(wide / 2 ** (count - 1)) & 0xffff;
    }
  }
  result = mask(result, size);
  const top = bits - 1;
  const cf = left ? (before >>> top) & 1 : before & 1;
  const of = left ? ((result >>> top) & 1) ^ cf : ((before ^ result) >>> top) & 1;
  writeE(cpu, insn, size, result);
  setLazyPartial(cpu.s, LazyKind.Result, 0, 0, result, bits, CF_OF_AF, cf | (of !== 0 ? Flag.OF : 0));
}

/** BT/BTS/BTR/BTC; with a register bit offset and a memory operand the offset addresses beyond. */
function bitTest(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const op = insn.opcode === 0x1ba ? insn.reg - 4 : ((insn.opcode - 0x1a3) >> 3) & 3;
  let bit: number;
  let value: number;
  let offset = 0;
  if (insn.opcode === 0x1ba) {
    bit = insn.imm & (size * 8 - 1);
    value = readE(cpu, insn, size);
    if (insn.mod !== 3) offset = ea(cpu, insn);
  } else {
    const raw = readReg(cpu, insn.reg, size);
    if (insn.mod === 3) {
      bit = raw & (size * 8 - 1);
      value = readReg(cpu, insn.rm, size);
    } else {
      const signed = size === 4 ? raw | 0 : (raw << 16) >> 16;
      const displacement = Math.floor(signed / (size * 8)) * size;
      bit = signed & (size * 8 - 1);
      offset = (ea(cpu, insn) + displacement) | 0;
      if (insn.asize === 2) offset &= 0xffff;
      value = cpu.readSized(insn.seg, offset, size);
    }
  }
  const cf = (value >>> bit) & 1;
  const eflags = cpu.eflags();
  cpu.setArithFlags((eflags & ~Flag.CF) | cf);
  if (op === 0) return;
  const m = 1 << bit;
  const updated = op === 1 ? value | m : op === 2 ? value & ~m : value ^ m;
  if (insn.mod === 3) writeReg(cpu, insn.rm, size, updated);
  else cpu.writeSized(insn.seg, offset, size, updated);
}

function bitScan(cpu: Cpu, insn: Insn): void {
  const size = insn.osize;
  const source = mask(readE(cpu, insn, size), size);
  setLazy(cpu.s, LazyKind.Logic, source, 0, source, size * 8);
  if (source === 0) return;
  const index = insn.opcode === 0x1bc ? 31 - Math.clz32(source & -source) : 31 - Math.clz32(source);
  writeReg(cpu, insn.reg, size, index);
}

export function registerShifts(define: Define): void {
  for (const opcode of [0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3]) define(opcode, -1, shiftGroup);
  for (const opcode of [0x1a4, 0x1a5, 0x1ac, 0x1ad]) define(opcode, -1, doubleShift);
  for (const opcode of [0x1a3, 0x1ab, 0x1b3, 0x1bb]) define(opcode, -1, bitTest);
  for (let ext = 4; ext < 8; ext++) define(0x1ba, ext, bitTest);
  define(0x1bc, -1, bitScan);
  define(0x1bd, -1, bitScan);
}
