// Guest MMIO to the local APIC under trap-and-emulate (and BT, which inherits its traps): the deprivileged
// guest kernel's segments end below the VMM region, so a store or load at the xAPIC page 0xFEE00000 (SDM Vol. 3A
// 11.4.1, default IA32_APIC_BASE) takes a #GP into the VMM, which emulates the access on the machine's local
// APIC and resumes after the instruction — the software counterpart of VT-x's APIC-access page. The TPR write of
// the A&A cr8wr nanobenchmark is the case that matters (a binary translator then rewrites such stores inline,
// A&A 2006 §3). Only the plain 32-bit moves compilers and kernels use for APIC registers are emulated: MOV
// r/m32,r32 (89 /r), MOV r32,r/m32 (8B /r), MOV r/m32,imm32 (C7 /0), MOV moffs32,EAX (A3), MOV EAX,moffs32 (A1)
// (SDM Vol. 2B MOV); anything else is reflected as the #GP it is.

import type { GuestCpuAccess, GuestInstruction } from './trapAndEmulate/guestAccess';
import type { StepResult } from './handlerSteps';

/** The xAPIC register page (physical = linear while the guest does not page). */
export const LOCAL_APIC_BASE = 0xfee00000;

interface ApicMove {
  readonly store: boolean;
  /** GPR for a register move; -1 for the immediate store. */
  readonly register: number;
  readonly immediate: number;
}

/** The move an instruction performs, when it is one of the emulated forms (no prefixes). */
function decodeMove(instruction: GuestInstruction): ApicMove | undefined {
  const b = instruction.bytes;
  const opcode = b[0];
  if (opcode === 0xa3 || opcode === 0xa1) return { store: opcode === 0xa3, register: 0, immediate: 0 };
  if (b.length < 2) return undefined;
  const reg = (b[1]! >>> 3) & 7;
  if (opcode === 0x89 || opcode === 0x8b) return { store: opcode === 0x89, register: reg, immediate: 0 };
  if (opcode === 0xc7 && reg === 0 && b.length >= 6) {
    const n = b.length;
    return { store: true, register: -1, immediate: (b[n - 4]! | (b[n - 3]! << 8) | (b[n - 2]! << 16) | (b[n - 1]! << 24)) >>> 0 };
  }
  return undefined;
}

/** Whether a faulting guest instruction is a 32-bit move to or from a register of the local APIC page. */
export function isLocalApicAccess(instruction: GuestInstruction): boolean {
  const address = instruction.memoryAddress;
  if (address === undefined || ((address - LOCAL_APIC_BASE) >>> 0) > 0xffc || (address & 3) !== 0) return false;
  return decodeMove(instruction) !== undefined;
}

/** Emulates the access on the machine's local APIC (the caller advances EIP); notes what it did. */
export function emulateLocalApicAccess(guest: GuestCpuAccess, instruction: GuestInstruction, notes: string[]): StepResult {
  const move = decodeMove(instruction);
  const address = instruction.memoryAddress;
  if (move === undefined || address === undefined) return { finish: { kind: 'reflect', vector: 13, errorCode: 0 } };
  const offset = `0x${((address >>> 0) - LOCAL_APIC_BASE).toString(16).padStart(3, '0')}`;
  if (move.store) {
    const value = move.register < 0 ? move.immediate : guest.getGpr(move.register) >>> 0;
    if (!guest.writeLinear(address >>> 0, 4, value)) return { finish: { kind: 'reflect', vector: 13, errorCode: 0 } };
    notes.push(`local APIC register ${offset} ← 0x${value.toString(16)} (emulated MMIO write)`);
  } else {
    const value = guest.readLinear(address >>> 0, 4);
    if (value === undefined) return { finish: { kind: 'reflect', vector: 13, errorCode: 0 } };
    guest.setGpr(move.register, value | 0);
    notes.push(`local APIC register ${offset} → 0x${(value >>> 0).toString(16)} (emulated MMIO read)`);
  }
  return undefined;
}
