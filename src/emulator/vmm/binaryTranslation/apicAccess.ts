// Guest kernel accesses to the local APIC's xAPIC page under binary translation (Adams & Agesen, ASPLOS 2006,
// §3: "cr8wr", a write of the task-priority register, runs faster under BT than natively because the translator
// turns it into an inline update of the VMM's virtual TPR). The deprivileged guest's segments end below the VMM
// region, so a load or store to 0xFEE00000..0xFEE00FFF (SDM Vol. 3A 11.4.1, Table 11-1) raises #GP(0) in
// translated code; the VMM emulates it on the machine's local APIC (its TPR kept in the virtual-APIC page, as
// VT-x's TPR shadow keeps it, SDM Vol. 3C 29.1). A store that keeps faulting on the TPR is re-translated
// (ADAPTIVE_THRESHOLD) into an inline sequence that writes the virtual TPR through a VMM data segment:
//   push fs ; push TC_DATA_SELECTOR ; pop fs ; mov [fs:0x80], src ; pop fs
// The sequence runs without guest paging only (its pushes then cannot fault); POP FS ends a CPU block, so an
// interrupt can arrive inside it: rollbackInlineTpr undoes (or completes) it so the guest sees one instruction.

import type { DecodedInstruction } from '../../isa/decoder';
import { TC_DATA_SELECTOR } from './layout';

/** The xAPIC page at its power-up base (IA32_APIC_BASE, SDM Vol. 3A 11.4.4). */
export const APIC_BASE = 0xfee00000;
export const APIC_PAGE_SIZE = 0x1000;
/** Task-priority register offset (SDM Vol. 3A Table 11-1). */
export const APIC_TPR = 0x80;

/** The APIC register offset a linear address falls on, or undefined outside the xAPIC page. */
export function apicOffset(linear: number | undefined): number | undefined {
  if (linear === undefined) return undefined;
  const offset = (linear >>> 0) - APIC_BASE;
  return offset >= 0 && offset < APIC_PAGE_SIZE ? offset : undefined;
}

/** What a faulting guest `mov` does with the APIC page: store a register or immediate, or load a register. */
export type ApicMove =
  | { readonly kind: 'store'; readonly value: 'register' | 'immediate'; readonly register: number; readonly immediate: number }
  | { readonly kind: 'load'; readonly register: number };

/** The 32-bit MOV forms the VMM emulates on the APIC page (SDM Vol. 2B MOV: 89 /r, C7 /0, 8B /r, A3, A1). */
export function apicMove(d: DecodedInstruction, opcode: number): ApicMove | undefined {
  if (!d.isMemory || d.operandSize !== 32) return undefined;
  if (opcode === 0xa3) return { kind: 'store', value: 'register', register: 0, immediate: 0 }; // moffs32, EAX
  if (opcode === 0xa1) return { kind: 'load', register: 0 };
  if (opcode === 0x89) return { kind: 'store', value: 'register', register: d.reg, immediate: 0 };
  if (opcode === 0xc7 && d.reg === 0) return { kind: 'store', value: 'immediate', register: 0, immediate: d.immediate >>> 0 };
  if (opcode === 0x8b) return { kind: 'load', register: d.reg };
  return undefined;
}

const le32 = (value: number): number[] => [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff];

/** Offsets inside an emitted inline-TPR sequence, relative to its start. */
export const INLINE_TPR = { afterPushFs: 2, afterPushSelector: 7, afterPopFs: 9 } as const;

/**
 * The inline sequence for `mov [0xFEE00080], eax` (A3 moffs32), `mov dword [0xFEE00080], r32` (89 /r) or
 * `mov dword [0xFEE00080], imm32` (C7 /0) with absolute disp32 addressing and no prefixes; undefined for any
 * other form (it stays a faulting store the VMM emulates).
 */
export function inlineTprSequence(bytes: readonly number[], d: DecodedInstruction): number[] | undefined {
  const opcode = bytes[0]!;
  if (apicOffset(d.displacement >>> 0) !== APIC_TPR || apicMove(d, opcode)?.kind !== 'store') return undefined;
  let store: number[];
  if (opcode === 0xa3) {
    store = [0x64, 0xa3, ...le32(APIC_TPR)]; // fs: override, moffs32 = the TPR's offset in the virtual-APIC page
  } else {
    const modrm = bytes[1]!;
    if ((modrm & 0xc7) !== 0x05 || d.hasSib) return undefined; // mod 00, r/m 101: [disp32] (SDM Vol. 2A Table 2-2)
    store = [0x64, opcode, modrm, ...le32(APIC_TPR), ...bytes.slice(6)]; // fs: override, same source operand
  }
  return [0x0f, 0xa0, 0x68, ...le32(TC_DATA_SELECTOR), 0x0f, 0xa1, ...store, 0x0f, 0xa1];
}

/** Length of the store inside a sequence of total length `length` (everything but the fixed parts). */
export function inlineStoreLength(length: number): number {
  return length - INLINE_TPR.afterPopFs - 2;
}

/**
 * How to make the guest state precise when the CPU stopped `offset` bytes into an inline-TPR sequence of
 * `length` bytes: `pops` saved values to drop from the stack (the last one, if `restoreFs`, back into FS) and
 * whether the store already happened (then the guest continues after the instruction).
 */
export function rollbackInlineTpr(offset: number, length: number): { readonly drop: number; readonly restoreFs: boolean; readonly completed: boolean } | undefined {
  if (offset === INLINE_TPR.afterPushFs) return { drop: 1, restoreFs: false, completed: false };
  if (offset === INLINE_TPR.afterPushSelector) return { drop: 2, restoreFs: false, completed: false };
  if (offset === INLINE_TPR.afterPopFs) return { drop: 1, restoreFs: true, completed: false };
  if (offset === INLINE_TPR.afterPopFs + inlineStoreLength(length)) return { drop: 1, restoreFs: true, completed: true };
  return undefined;
}
