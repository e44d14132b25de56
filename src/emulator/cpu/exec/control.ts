// Control transfer: JMP (short, near, indirect, far direct and m16:32), Jcc, CALL (near, indirect, far),
// RET/RETF with imm16, LOOP/LOOPE/LOOPNE, JECXZ, INT n, INT3, INTO, IRET (SDM Vol. 2 per instruction).
// Near targets are checked against the CS limit (#GP(0)); far forms go through farTransfers.ts.

import type { Cpu } from '../cpu';
import { farCall, farJump, farReturn, interruptReturn } from '../farTransfers';
import { Vector } from '../faults';
import type { Insn } from '../insn';
import { softwareInterrupt } from '../interrupts';
import { getOF, getZF, testCondition } from '../lazyFlags';
import { EIP } from '../stateLayout';
import { ea, readCounter, readE, writeCounter } from './operands';
import type { Define } from './registry';

function relativeTarget(cpu: Cpu, insn: Insn): number {
  const target = (cpu.s[EIP]! + insn.imm) | 0;
  return insn.osize === 4 ? target : target & 0xffff;
}

function jumpRelative(cpu: Cpu, insn: Insn): void {
  cpu.jump(relativeTarget(cpu, insn));
}

function jcc(cpu: Cpu, insn: Insn): void {
  if (testCondition(cpu.s, insn.opcode & 15)) cpu.jump(relativeTarget(cpu, insn));
}

function jumpIndirect(cpu: Cpu, insn: Insn): void {
  cpu.jump(readE(cpu, insn, insn.osize));
}

function jumpFarDirect(cpu: Cpu, insn: Insn): void {
  farJump(cpu, insn.imm2 & 0xffff, insn.imm, insn.osize);
}

/** Read an m16:32 (or m16:16) far pointer: offset first, then the selector. */
function readFarPointer(cpu: Cpu, insn: Insn): number {
  if (insn.mod === 3) cpu.raise(Vector.UD);
  const address = ea(cpu, insn);
  const offset = cpu.readSized(insn.seg, address, insn.osize);
  cpu.descLow = cpu.read16(insn.seg, (address + insn.osize) | 0); // selector (scratch slot)
  return offset;
}

function jumpFarIndirect(cpu: Cpu, insn: Insn): void {
  const offset = readFarPointer(cpu, insn);
  farJump(cpu, cpu.descLow & 0xffff, offset, insn.osize);
}

function callRelative(cpu: Cpu, insn: Insn): void {
  const target = relativeTarget(cpu, insn);
  cpu.checkCodeLimit(target);
  cpu.push(cpu.s[EIP]!, insn.osize);
  cpu.s[EIP] = target;
}

function callIndirect(cpu: Cpu, insn: Insn): void {
  const target = readE(cpu, insn, insn.osize);
  const masked = insn.osize === 4 ? target : target & 0xffff;
  cpu.checkCodeLimit(masked);
  cpu.push(cpu.s[EIP]!, insn.osize);
  cpu.s[EIP] = masked;
}

function callFarDirect(cpu: Cpu, insn: Insn): void {
  farCall(cpu, insn.imm2 & 0xffff, insn.imm, insn.osize);
}

function callFarIndirect(cpu: Cpu, insn: Insn): void {
  const offset = readFarPointer(cpu, insn);
  farCall(cpu, cpu.descLow & 0xffff, offset, insn.osize);
}

function returnNear(cpu: Cpu, insn: Insn): void {
  const target = cpu.peekStack(0, insn.osize);
  cpu.checkCodeLimit(target);
  cpu.setStackPointer(cpu.stackPointer() + insn.osize + (insn.opcode === 0xc2 ? insn.imm : 0));
  cpu.s[EIP] = target;
}

function returnFar(cpu: Cpu, insn: Insn): void {
  farReturn(cpu, insn.osize, insn.opcode === 0xca ? insn.imm : 0);
}

/** LOOP/LOOPE/LOOPNE decrement the counter without touching flags; JECXZ only tests it. */
function loop(cpu: Cpu, insn: Insn): void {
  if (insn.opcode === 0xe3) {
    if (readCounter(cpu, insn) === 0) cpu.jump(relativeTarget(cpu, insn));
    return;
  }
  const count = (readCounter(cpu, insn) - 1) | 0;
  writeCounter(cpu, insn, count);
  const nonzero = (insn.asize === 4 ? count : count & 0xffff) !== 0;
  const condition = insn.opcode === 0xe2 ? true : insn.opcode === 0xe1 ? getZF(cpu.s) : !getZF(cpu.s);
  if (nonzero && condition) cpu.jump(relativeTarget(cpu, insn));
}

function interrupt(cpu: Cpu, insn: Insn): void {
  softwareInterrupt(cpu, insn.imm & 0xff);
}

function breakpointTrap(cpu: Cpu): void {
  softwareInterrupt(cpu, Vector.BP);
}

function interruptOnOverflow(cpu: Cpu): void {
  if (getOF(cpu.s)) softwareInterrupt(cpu, Vector.OF);
}

function interruptReturnHandler(cpu: Cpu, insn: Insn): void {
  interruptReturn(cpu, insn.osize);
  cpu.blockBreak = true;
}

export function registerControl(define: Define): void {
  define(0xeb, -1, jumpRelative);
  define(0xe9, -1, jumpRelative);
  for (let cc = 0; cc < 16; cc++) {
    define(0x70 + cc, -1, jcc);
    define(0x180 + cc, -1, jcc);
  }
  define(0xff, 4, jumpIndirect);
  define(0xea, -1, jumpFarDirect);
  define(0xff, 5, jumpFarIndirect);
  define(0xe8, -1, callRelative);
  define(0xff, 2, callIndirect);
  define(0x9a, -1, callFarDirect);
  define(0xff, 3, callFarIndirect);
  define(0xc3, -1, returnNear);
  define(0xc2, -1, returnNear);
  define(0xcb, -1, returnFar);
  define(0xca, -1, returnFar);
  for (const opcode of [0xe0, 0xe1, 0xe2, 0xe3]) define(opcode, -1, loop);
  define(0xcd, -1, interrupt);
  define(0xcc, -1, breakpointTrap);
  define(0xce, -1, interruptOnOverflow);
  define(0xcf, -1, interruptReturnHandler);
}
