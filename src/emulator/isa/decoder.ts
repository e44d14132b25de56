// The IA-32 instruction decoder: bytes → a reusable DecodedInstruction record (no allocation per call).
// Prefixes, opcode maps, ModRM/SIB and displacement per Intel SDM Vol. 2, chapter 2 (2.1 instruction
// format, Tables 2-1/2-2/2-3 for 16- and 32-bit addressing). Faults are reported as data (`fault`).

import * as tables from './decode-tables';

// Module-local references: an imported binding can compile to a property getter (CommonJS interop),
// which must not be paid on every decode.
const CANDIDATE_COUNT = tables.CANDIDATE_COUNT;
const CANDIDATE_START = tables.CANDIDATE_START;
const CANDIDATES = tables.CANDIDATES;
const FORM_IMMEDIATE = tables.FORM_IMMEDIATE;
const FORM_LOCKABLE = tables.FORM_LOCKABLE;
const FORM_MANDATORY_PREFIX = tables.FORM_MANDATORY_PREFIX;
const FORM_MODRM_MOD = tables.FORM_MODRM_MOD;
const FORM_MODRM_REG = tables.FORM_MODRM_REG;
const FORM_MODRM_RM = tables.FORM_MODRM_RM;
const FORM_OPCODE_REGISTER = tables.FORM_OPCODE_REGISTER;
const FORM_OPERAND_SIZE = tables.FORM_OPERAND_SIZE;
const FORM_SECOND_IMMEDIATE = tables.FORM_SECOND_IMMEDIATE;
const FORM_VALID_REG = tables.FORM_VALID_REG;
const FORM_REJECTS_SIMD_PREFIX = tables.FORM_REJECTS_SIMD_PREFIX;
const OPCODE_HAS_MODRM = tables.OPCODE_HAS_MODRM;
const ImmediateCode = tables.ImmediateCode;

/** Why decoding stopped without an executable instruction. */
export const DecodeFault = {
  None: 0,
  /** #UD: no form matches (or LOCK on a form/operand that does not allow it). */
  InvalidOpcode: 1,
  /** #GP(0): the instruction would be longer than 15 bytes (SDM Vol. 2, 2.3.11). */
  TooLong: 2,
  /** The bytes ended before the instruction did (the caller must supply more, e.g. across a page). */
  Truncated: 3,
} as const;

/** Bits of DecodedInstruction.prefixes. */
export const Prefix = { LOCK: 1, REP: 2, REPNE: 4, OPERAND_SIZE: 8, ADDRESS_SIZE: 16, SEGMENT: 32 } as const;

/** Segment register numbers as encoded in instructions (SDM Vol. 2, Table 3-? "Sreg"): ES CS SS DS FS GS. */
export const Segment = { ES: 0, CS: 1, SS: 2, DS: 3, FS: 4, GS: 5 } as const;

/** Maximum instruction length (SDM Vol. 2, 2.3.11 "AVX Instruction Length"/2.1: 15 bytes). */
export const MAX_INSTRUCTION_LENGTH = 15;

/**
 * One decoded instruction as plain numbers. Reuse one instance: decodeInstruction overwrites every field.
 * Registers are numbered as in ModRM (0 = eAX/AL/ES ... 7 = eDI/BH).
 */
export class DecodedInstruction {
  /** Index into INSTRUCTION_FORMS, or -1 when `fault` is set and no form matched. */
  formIndex = -1;
  fault: number = DecodeFault.None;
  /** Total length in bytes including prefixes. */
  length = 0;
  operandSize: 16 | 32 = 32;
  addressSize: 16 | 32 = 32;
  /** Mask of Prefix bits. */
  prefixes = 0;
  /** Explicit segment override (Segment.*), or -1. */
  segmentOverride = -1;
  /** Segment of the memory operand: the override, else SS for [eBP/eSP-based] forms, else DS. */
  segment = 3;
  hasModrm = false;
  mod = 0;
  reg = 0;
  rm = 0;
  /** Register encoded in the opcode byte (Zb/Zv forms), else 0. */
  opcodeRegister = 0;
  /** True when the ModRM operand (or a moffs operand) is memory. */
  isMemory = false;
  hasSib = false;
  /** log2 of the SIB scale (0..3). */
  scaleShift = 0;
  /** Effective-address base/index registers, or -1 (16-bit addressing: BX=3, BP=5, SI=6, DI=7). */
  base = -1;
  index = -1;
  /** Signed displacement (or moffs address, unsigned). */
  displacement = 0;
  displacementSize = 0;
  displacementOffset = 0;
  /**
   * First immediate: zero-extended for Ib/Iw/Iz, sign-extended (int32) for Ibs/Jb/Jz (relative to the next
   * instruction), the offset part for far pointers (Ap).
   */
  immediate = 0;
  immediateSize = 0;
  immediateOffset = 0;
  /** Second immediate: ENTER's imm8 nesting level. */
  immediate2 = 0;
  /** Selector of a direct far pointer (Ap). */
  farSelector = 0;
}

const REGISTER_16_BASE = [3, 3, 5, 5, 6, 7, 5, 3] as const;
const REGISTER_16_INDEX = [6, 7, 6, 7, -1, -1, -1, -1] as const;

function fail(out: DecodedInstruction, fault: number, length: number): DecodedInstruction {
  out.fault = fault;
  out.length = length;
  return out;
}

/**
 * Decodes one instruction from `code[start..end)` in a code segment whose default size is `bits`.
 * Returns `out`. Never throws and never allocates.
 */
export function decodeInstruction(
  code: Uint8Array, start: number, end: number, bits: 16 | 32, out: DecodedInstruction,
): DecodedInstruction {
  out.formIndex = -1;
  out.fault = DecodeFault.None;
  out.prefixes = 0;
  out.segmentOverride = -1;
  out.hasModrm = false;
  out.mod = 0; out.reg = 0; out.rm = 0; out.opcodeRegister = 0;
  out.isMemory = false; out.hasSib = false; out.scaleShift = 0; out.base = -1; out.index = -1;
  out.displacement = 0; out.displacementSize = 0; out.displacementOffset = 0;
  out.immediate = 0; out.immediateSize = 0; out.immediateOffset = 0; out.immediate2 = 0; out.farSelector = 0;
  const limit = Math.min(end, start + MAX_INSTRUCTION_LENGTH);
  let pos = start;
  let prefixes = 0;
  let lastRepeat = 0;
  let byte = 0;
  // Legacy prefixes, any order (SDM Vol. 2, 2.1.1).
  for (;;) {
    if (pos >= limit) return fail(out, pos >= end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
    byte = code[pos] as number;
    if (byte === 0xf0) prefixes |= Prefix.LOCK;
    // F2 and F3 share a prefix group: the last one written wins.
    else if (byte === 0xf3) { prefixes = (prefixes & ~Prefix.REPNE) | Prefix.REP; lastRepeat = 0xf3; }
    else if (byte === 0xf2) { prefixes = (prefixes & ~Prefix.REP) | Prefix.REPNE; lastRepeat = 0xf2; }
    else if (byte === 0x66) prefixes |= Prefix.OPERAND_SIZE;
    else if (byte === 0x67) prefixes |= Prefix.ADDRESS_SIZE;
    else if (byte === 0x26 || byte === 0x2e || byte === 0x36 || byte === 0x3e) {
      prefixes |= Prefix.SEGMENT; out.segmentOverride = (byte >> 3) & 3;
    } else if (byte === 0x64 || byte === 0x65) { prefixes |= Prefix.SEGMENT; out.segmentOverride = byte - 0x60; }
    else break;
    pos++;
  }
  out.prefixes = prefixes;
  const sizeFlip = (prefixes & Prefix.OPERAND_SIZE) !== 0;
  const addressFlip = (prefixes & Prefix.ADDRESS_SIZE) !== 0;
  const addressSize: 16 | 32 = (bits === 32) !== addressFlip ? 32 : 16;
  out.addressSize = addressSize;
  // Opcode bytes.
  let map = 0;
  pos++;
  if (byte === 0x0f) {
    if (pos >= limit) return fail(out, pos >= end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
    byte = code[pos++] as number;
    map = 1;
    if (byte === 0x38) {
      if (pos >= limit) return fail(out, pos >= end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
      byte = code[pos++] as number;
      map = 2;
    }
  }
  const slot = map * 256 + byte;
  const count = CANDIDATE_COUNT[slot] as number;
  if (count === 0) return fail(out, DecodeFault.InvalidOpcode, pos - start);
  let modrm = -1;
  if (OPCODE_HAS_MODRM[slot] === 1) {
    if (pos >= limit) return fail(out, pos >= end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
    modrm = code[pos++] as number;
  }
  const mod = modrm >> 6 & 3;
  const reg = modrm >> 3 & 7;
  const rm = modrm & 7;
  // Pick the first (most specific) candidate whose constraints hold.
  const first = CANDIDATE_START[slot] as number;
  let formIndex = -1;
  let operandSize: 16 | 32 = 32;
  for (let c = first; c < first + count; c++) {
    const form = CANDIDATES[c] as number;
    const mandatory = FORM_MANDATORY_PREFIX[form] as number;
    let size: 16 | 32 = (bits === 32) !== sizeFlip ? 32 : 16;
    if (mandatory === 0x66) {
      if (!sizeFlip) continue;
      size = bits;
    } else if (mandatory !== 0) {
      if (lastRepeat !== mandatory) continue;
    }
    if (modrm >= 0) {
      const wantReg = FORM_MODRM_REG[form] as number;
      if (wantReg >= 0 && wantReg !== reg) continue;
      const wantMod = FORM_MODRM_MOD[form] as number;
      if (wantMod === 1 && mod === 3) continue;
      if (wantMod === 2 && mod !== 3) continue;
      const wantRm = FORM_MODRM_RM[form] as number;
      if (wantRm >= 0 && wantRm !== rm) continue;
    }
    const wantSize = FORM_OPERAND_SIZE[form] as number;
    if (wantSize !== 0 && wantSize !== size) continue;
    formIndex = form;
    operandSize = size;
    break;
  }
  if (formIndex < 0) return fail(out, DecodeFault.InvalidOpcode, pos - start);
  // Segment/control/debug register numbers that do not exist are #UD (MOV to CS too).
  if (modrm >= 0 && ((FORM_VALID_REG[formIndex] as number) >> reg & 1) === 0) {
    return fail(out, DecodeFault.InvalidOpcode, pos - start);
  }
  if (FORM_REJECTS_SIMD_PREFIX[formIndex] === 1 && (prefixes & (Prefix.OPERAND_SIZE | Prefix.REP | Prefix.REPNE)) !== 0) {
    return fail(out, DecodeFault.InvalidOpcode, pos - start);
  }
  out.formIndex = formIndex;
  out.operandSize = operandSize;
  if (FORM_OPCODE_REGISTER[formIndex] === 1) out.opcodeRegister = byte & 7;
  let segment = 3;
  if (modrm >= 0) {
    out.hasModrm = true;
    out.mod = mod; out.reg = reg; out.rm = rm;
    if (mod !== 3) {
      out.isMemory = true;
      let displacementSize = mod === 1 ? 1 : 0;
      if (addressSize === 32) {
        if (rm === 4) {
          if (pos >= limit) return fail(out, pos >= end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
          const sib = code[pos++] as number;
          out.hasSib = true;
          out.scaleShift = sib >> 6;
          const index = sib >> 3 & 7;
          out.index = index === 4 ? -1 : index;
          const base = sib & 7;
          if (base === 5 && mod === 0) displacementSize = 4;
          else out.base = base;
        } else if (rm === 5 && mod === 0) displacementSize = 4;
        else out.base = rm;
        if (mod === 2) displacementSize = 4;
        if (out.base === 4 || out.base === 5) segment = 2;
      } else {
        if (rm === 6 && mod === 0) displacementSize = 2;
        else { out.base = REGISTER_16_BASE[rm] as number; out.index = REGISTER_16_INDEX[rm] as number; }
        if (mod === 2) displacementSize = 2;
        if (out.base === 5) segment = 2;
      }
      if (displacementSize !== 0) {
        if (pos + displacementSize > limit) {
          return fail(out, pos + displacementSize > end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
        }
        out.displacementOffset = pos - start;
        out.displacementSize = displacementSize;
        out.displacement = readSigned(code, pos, displacementSize);
        pos += displacementSize;
      }
    }
  }
  // Immediates, relative displacements, far pointers and moffs.
  const immediateCode = FORM_IMMEDIATE[formIndex] as number;
  if (immediateCode !== ImmediateCode.None) {
    let size = 0;
    switch (immediateCode) {
      case ImmediateCode.Byte: case ImmediateCode.SignedByte: case ImmediateCode.RelativeByte: size = 1; break;
      case ImmediateCode.Word: size = 2; break;
      case ImmediateCode.OperandSized: case ImmediateCode.RelativeOperandSized: size = operandSize >> 3; break;
      case ImmediateCode.FarPointer: size = (operandSize >> 3) + 2; break;
      default: size = addressSize >> 3; break;
    }
    const extra = FORM_SECOND_IMMEDIATE[formIndex] as number;
    if (pos + size + extra > limit) {
      return fail(out, pos + size + extra > end ? DecodeFault.Truncated : DecodeFault.TooLong, pos - start);
    }
    if (immediateCode === ImmediateCode.MemoryOffset) {
      out.isMemory = true;
      out.displacementOffset = pos - start;
      out.displacementSize = size;
      out.displacement = readUnsigned(code, pos, size);
    } else {
      out.immediateOffset = pos - start;
      if (immediateCode === ImmediateCode.FarPointer) {
        out.immediateSize = size - 2;
        out.immediate = readUnsigned(code, pos, size - 2);
        out.farSelector = readUnsigned(code, pos + size - 2, 2);
      } else {
        out.immediateSize = size;
        const signed = immediateCode === ImmediateCode.SignedByte || immediateCode === ImmediateCode.RelativeByte ||
          immediateCode === ImmediateCode.RelativeOperandSized;
        out.immediate = signed ? readSigned(code, pos, size) : readUnsigned(code, pos, size);
      }
    }
    pos += size;
    if (extra !== 0) out.immediate2 = code[pos++] as number;
  }
  out.segment = out.segmentOverride >= 0 ? out.segmentOverride : segment;
  out.length = pos - start;
  // LOCK is #UD unless the form allows it and its destination is memory (SDM Vol. 2, "LOCK").
  if ((prefixes & Prefix.LOCK) !== 0 && (FORM_LOCKABLE[formIndex] === 0 || !out.isMemory)) {
    out.fault = DecodeFault.InvalidOpcode;
  }
  return out;
}

function readUnsigned(code: Uint8Array, pos: number, size: number): number {
  if (size === 1) return code[pos] as number;
  if (size === 2) return (code[pos] as number) | (code[pos + 1] as number) << 8;
  return ((code[pos] as number) | (code[pos + 1] as number) << 8 | (code[pos + 2] as number) << 16 |
    (code[pos + 3] as number) << 24) >>> 0;
}

function readSigned(code: Uint8Array, pos: number, size: number): number {
  if (size === 1) return (code[pos] as number) << 24 >> 24;
  if (size === 2) return ((code[pos] as number) | (code[pos + 1] as number) << 8) << 16 >> 16;
  return (code[pos] as number) | (code[pos + 1] as number) << 8 | (code[pos + 2] as number) << 16 |
    (code[pos + 3] as number) << 24;
}
