// Lazy arithmetic flags. An ALU instruction stores its kind, operands, result and width in the state
// slots and marks which of CF PF AF ZF SF OF are pending; a flag is computed only when something reads it
// (Jcc, SETcc, PUSHF, an interrupt…). Formulas follow SDM Vol. 1 3.4.3.1 / Appendix A and the per-
// instruction "Flags Affected" sections of Vol. 2. Where the SDM leaves a flag undefined the producer
// stores the value QEMU computes (documented at each producer in alu.ts / shifts.ts).

import {
  ARITH_FLAGS, EFLAGS, Flag, LAZY_BITS, LAZY_KIND, LAZY_MASK, LAZY_OP1, LAZY_OP2, LAZY_RESULT,
} from './stateLayout';

export const enum LazyKind {
  Add = 1, // res = op1 + op2
  AdcCarry = 2, // res = op1 + op2 + 1
  Sub = 3, // res = op1 - op2 (also CMP, NEG with op1 = 0, CMPXCHG)
  SbbBorrow = 4, // res = op1 - op2 - 1
  Logic = 5, // CF = OF = AF = 0; ZF SF PF from the result
  Result = 6, // ZF SF PF from the result; CF OF AF were materialised by the producer
}

/** Parity flag lookup: PF set when the low byte has an even number of 1 bits. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let bits = 0;
  for (let b = i; b !== 0; b >>= 1) bits += b & 1;
  PARITY[i] = (bits & 1) === 0 ? Flag.PF : 0;
}

/** Record a full ALU result (all six arithmetic flags pending). */
export function setLazy(s: Int32Array, kind: LazyKind, op1: number, op2: number, result: number, bits: number): void {
  s[LAZY_KIND] = kind;
  s[LAZY_OP1] = op1;
  s[LAZY_OP2] = op2;
  s[LAZY_RESULT] = result;
  s[LAZY_BITS] = bits;
  s[LAZY_MASK] = ARITH_FLAGS;
}

/**
 * Record a result whose CF (INC/DEC: SDM "CF flag is not affected") or whose CF/OF/AF (shifts, MUL) stay
 * materialised. `keep` are the flags left as they are in EFLAGS; `set` are their new values.
 */
export function setLazyPartial(
  s: Int32Array, kind: LazyKind, op1: number, op2: number, result: number, bits: number, keep: number, set: number,
): void {
  materialize(s);
  s[EFLAGS] = (s[EFLAGS] & ~keep) | (set & keep);
  s[LAZY_KIND] = kind;
  s[LAZY_OP1] = op1;
  s[LAZY_OP2] = op2;
  s[LAZY_RESULT] = result;
  s[LAZY_BITS] = bits;
  s[LAZY_MASK] = ARITH_FLAGS & ~keep;
}

/** INC/DEC: record the result with CF left as it was (SDM Vol. 2 INC: "The CF flag is not affected"). */
export function setLazyKeepCF(s: Int32Array, kind: LazyKind, op1: number, op2: number, result: number, bits: number): void {
  if ((s[LAZY_MASK]! & Flag.CF) !== 0) s[EFLAGS] = (s[EFLAGS]! & ~Flag.CF) | lazyCarry(s);
  s[LAZY_KIND] = kind;
  s[LAZY_OP1] = op1;
  s[LAZY_OP2] = op2;
  s[LAZY_RESULT] = result;
  s[LAZY_BITS] = bits;
  s[LAZY_MASK] = ARITH_FLAGS & ~Flag.CF;
}

/** CF of the lazy operation alone (cheaper than computeLazy). */
function lazyCarry(s: Int32Array): number {
  const shift = 32 - s[LAZY_BITS]!;
  switch (s[LAZY_KIND]!) {
    case LazyKind.Add: return ((s[LAZY_RESULT]! << shift) >>> 0) < ((s[LAZY_OP1]! << shift) >>> 0) ? Flag.CF : 0;
    case LazyKind.AdcCarry: return ((s[LAZY_RESULT]! << shift) >>> 0) <= ((s[LAZY_OP1]! << shift) >>> 0) ? Flag.CF : 0;
    case LazyKind.Sub: return ((s[LAZY_OP1]! << shift) >>> 0) < ((s[LAZY_OP2]! << shift) >>> 0) ? Flag.CF : 0;
    case LazyKind.SbbBorrow: return ((s[LAZY_OP1]! << shift) >>> 0) <= ((s[LAZY_OP2]! << shift) >>> 0) ? Flag.CF : 0;
    default: return 0;
  }
}

/** The six arithmetic flags implied by the lazy slots (regardless of LAZY_MASK). */
function computeLazy(s: Int32Array): number {
  const kind = s[LAZY_KIND]!;
  const op1 = s[LAZY_OP1]!;
  const op2 = s[LAZY_OP2]!;
  const res = s[LAZY_RESULT]!;
  const shift = 32 - s[LAZY_BITS]!;
  let flags = PARITY[res & 0xff]!;
  if (res << shift === 0) flags |= Flag.ZF;
  if (res << shift < 0) flags |= Flag.SF;
  switch (kind) {
    case LazyKind.Add:
    case LazyKind.AdcCarry: {
      const r = (res << shift) >>> 0;
      const a = (op1 << shift) >>> 0;
      if (kind === LazyKind.Add ? r < a : r <= a) flags |= Flag.CF;
      if (((op1 ^ res) & (op2 ^ res)) << shift < 0) flags |= Flag.OF;
      flags |= (op1 ^ op2 ^ res) & Flag.AF;
      break;
    }
    case LazyKind.Sub:
    case LazyKind.SbbBorrow: {
      const a = (op1 << shift) >>> 0;
      const b = (op2 << shift) >>> 0;
      if (kind === LazyKind.Sub ? a < b : a <= b) flags |= Flag.CF;
      if (((op1 ^ op2) & (op1 ^ res)) << shift < 0) flags |= Flag.OF;
      flags |= (op1 ^ op2 ^ res) & Flag.AF;
      break;
    }
    default:
      break; // Logic and Result: CF OF AF are 0 or materialised
  }
  return flags;
}

/** Fold any pending lazy flags into EFLAGS. */
export function materialize(s: Int32Array): void {
  const mask = s[LAZY_MASK]!;
  if (mask === 0) return;
  s[EFLAGS] = (s[EFLAGS]! & ~mask) | (computeLazy(s) & mask);
  s[LAZY_MASK] = 0;
}

/** Full EFLAGS (bit 1 always reads as 1, SDM Vol. 1 Figure 3-8). */
export function readEflags(s: Int32Array): number {
  materialize(s);
  return s[EFLAGS]! | 2;
}

/** Replace EFLAGS wholesale (callers apply the CPL/IOPL rules first). */
export function writeEflags(s: Int32Array, value: number): void {
  s[LAZY_MASK] = 0;
  s[EFLAGS] = (value & 0x003f7fd5) | 2;
}

export function getCF(s: Int32Array): number {
  if ((s[LAZY_MASK]! & Flag.CF) === 0) return s[EFLAGS]! & Flag.CF;
  return lazyCarry(s);
}

export function getZF(s: Int32Array): boolean {
  if ((s[LAZY_MASK]! & Flag.ZF) === 0) return (s[EFLAGS]! & Flag.ZF) !== 0;
  return s[LAZY_RESULT]! << (32 - s[LAZY_BITS]!) === 0;
}

export function getSF(s: Int32Array): boolean {
  if ((s[LAZY_MASK]! & Flag.SF) === 0) return (s[EFLAGS]! & Flag.SF) !== 0;
  return s[LAZY_RESULT]! << (32 - s[LAZY_BITS]!) < 0;
}

export function getOF(s: Int32Array): boolean {
  if ((s[LAZY_MASK]! & Flag.OF) === 0) return (s[EFLAGS]! & Flag.OF) !== 0;
  return (computeLazy(s) & Flag.OF) !== 0;
}

export function getPF(s: Int32Array): boolean {
  if ((s[LAZY_MASK]! & Flag.PF) === 0) return (s[EFLAGS]! & Flag.PF) !== 0;
  return PARITY[s[LAZY_RESULT]! & 0xff] !== 0;
}

/** Condition codes tttn (SDM Vol. 2 Appendix B.1.4.7): 0 O, 1 NO, 2 B, 3 AE, 4 E, 5 NE, 6 BE, 7 A, 8 S, 9 NS, A P, B NP, C L, D GE, E LE, F G. */
export function testCondition(s: Int32Array, cc: number): boolean {
  let result: boolean;
  switch (cc >> 1) {
    case 0: result = getOF(s); break;
    case 1: result = getCF(s) !== 0; break;
    case 2: result = getZF(s); break;
    case 3: result = getCF(s) !== 0 || getZF(s); break;
    case 4: result = getSF(s); break;
    case 5: result = getPF(s); break;
    case 6: result = getSF(s) !== getOF(s); break;
    default: result = getZF(s) || getSF(s) !== getOF(s); break;
  }
  return (cc & 1) === 0 ? result : !result;
}

export { PARITY };
