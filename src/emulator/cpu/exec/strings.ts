// String instructions MOVS CMPS STOS LODS SCAS INS OUTS (b/w/d) with REP/REPE/REPNE, and CLD/STD
// (SDM Vol. 2 per instruction, REP/REPE/REPNE). A repeated instruction runs at most REP_CHUNK iterations,
// then restarts itself (EIP stays on it) so interrupts and the budget are honoured between chunks, as the
// SDM allows (Vol. 2 REP: "interrupts may be recognized between iterations"). Registers are updated after
// every element, so a fault mid-string leaves a restartable state.

import type { Cpu } from '../cpu';
import type { Insn } from '../insn';
import { checkIoPermission } from '../privilege';
import { alu } from './alu';
import { readCounter, readReg, writeCounter, writeReg } from './operands';
import { getZF } from '../lazyFlags';
import { EFLAGS, EIP, Flag, Seg } from '../stateLayout';
import type { Define } from './registry';

const REP_CHUNK = 1024;

function elementSize(insn: Insn): number {
  return (insn.opcode & 1) === 0 ? 1 : insn.osize;
}

function indexOf(cpu: Cpu, insn: Insn, reg: number): number {
  return insn.asize === 4 ? cpu.s[reg]! : cpu.r16[reg << 1]!;
}

function advance(cpu: Cpu, insn: Insn, reg: number, size: number): void {
  const step = (cpu.s[EFLAGS]! & Flag.DF) !== 0 ? -size : size;
  if (insn.asize === 4) cpu.s[reg] = (cpu.s[reg]! + step) | 0;
  else cpu.r16[reg << 1] = cpu.r16[reg << 1]! + step;
}

/** One element of the operation; returns false when a REPE/REPNE condition ends the loop. */
function element(cpu: Cpu, insn: Insn, size: number): void {
  switch (insn.opcode & 0xfe) {
    case 0xa4: { // MOVS
      const value = cpu.readSized(insn.seg, indexOf(cpu, insn, 6), size);
      cpu.writeSized(Seg.ES, indexOf(cpu, insn, 7), size, value);
      advance(cpu, insn, 6, size);
      advance(cpu, insn, 7, size);
      return;
    }
    case 0xa6: { // CMPS: [ESI] - [EDI]
      const a = cpu.readSized(insn.seg, indexOf(cpu, insn, 6), size);
      const b = cpu.readSized(Seg.ES, indexOf(cpu, insn, 7), size);
      alu(cpu, 7, a, b, size * 8);
      advance(cpu, insn, 6, size);
      advance(cpu, insn, 7, size);
      return;
    }
    case 0xaa: // STOS
      cpu.writeSized(Seg.ES, indexOf(cpu, insn, 7), size, readReg(cpu, 0, size));
      advance(cpu, insn, 7, size);
      return;
    case 0xac: // LODS
      writeReg(cpu, 0, size, cpu.readSized(insn.seg, indexOf(cpu, insn, 6), size));
      advance(cpu, insn, 6, size);
      return;
    case 0xae: // SCAS: eAX - [EDI]
      alu(cpu, 7, readReg(cpu, 0, size), cpu.readSized(Seg.ES, indexOf(cpu, insn, 7), size), size * 8);
      advance(cpu, insn, 7, size);
      return;
    case 0x6c: { // INS: ES:[EDI] ← port DX
      const port = cpu.r16[4]!;
      checkIoPermission(cpu, port, size);
      cpu.probeWrite(Seg.ES, indexOf(cpu, insn, 7), size);
      cpu.writeSized(Seg.ES, indexOf(cpu, insn, 7), size, cpu.ports.read(port, size as 1 | 2 | 4));
      advance(cpu, insn, 7, size);
      return;
    }
    default: { // OUTS: port DX ← DS:[ESI]
      const port = cpu.r16[4]!;
      checkIoPermission(cpu, port, size);
      cpu.ports.write(port, size as 1 | 2 | 4, cpu.readSized(insn.seg, indexOf(cpu, insn, 6), size));
      advance(cpu, insn, 6, size);
      return;
    }
  }
}

function stringOperation(cpu: Cpu, insn: Insn): void {
  const size = elementSize(insn);
  if (insn.rep === 0) {
    element(cpu, insn, size);
    return;
  }
  const compares = (insn.opcode & 0xf6) === 0xa6; // CMPS (A6/A7) and SCAS (AE/AF)
  for (let i = 0; i < REP_CHUNK; i++) {
    if (readCounter(cpu, insn) === 0) return;
    element(cpu, insn, size);
    writeCounter(cpu, insn, readCounter(cpu, insn) - 1);
    if (compares && (insn.rep === 1 ? !getZF(cpu.s) : getZF(cpu.s))) return;
  }
  if (readCounter(cpu, insn) !== 0) {
    cpu.s[EIP] = cpu.insnStart; // continue in the next chunk
    cpu.blockBreak = true;
  }
}

function clearDirection(cpu: Cpu): void {
  cpu.s[EFLAGS] &= ~Flag.DF;
}

function setDirection(cpu: Cpu): void {
  cpu.s[EFLAGS] |= Flag.DF;
}

export function registerStrings(define: Define): void {
  for (const opcode of [0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0x6c, 0x6d, 0x6e, 0x6f]) {
    define(opcode, -1, stringOperation);
  }
  define(0xfc, -1, clearDirection);
  define(0xfd, -1, setDirection);
}
