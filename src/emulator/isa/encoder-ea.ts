// Register numbering and NASM's effective-address encoding: ModRM mod/rm, SIB and displacement size for a
// memory operand (Intel SDM Vol. 2, Tables 2-1/2-2/2-3), with NASM's choices (verified against nasm 2.16):
// [eax*1] → [eax]; [eax*2|3|5|9] → [eax+eax*(n-1)] unless `nosplit`; index-only → SIB with disp32;
// [esp] needs a SIB; [ebp] needs disp8 0; an ESP index with scale 1 is swapped into the base;
// a zero displacement is dropped ([eax+0] = [eax]) unless relocatable or sized; unknown, relocatable or
// label-based (`symbolic`) displacements keep the full width.

import type { MemoryOperand, RegisterName } from './operands';

export type RegisterClass = 'gpr' | 'segment' | 'control' | 'debug';

export interface RegisterInfo {
  readonly number: number;
  /** 8, 16 or 32 for general registers; 16 for segment registers; 32 for control/debug registers. */
  readonly bits: 8 | 16 | 32;
  readonly registerClass: RegisterClass;
}

const NAMES_32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const NAMES_16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const NAMES_8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
const NAMES_SEGMENT = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

export const REGISTERS: ReadonlyMap<string, RegisterInfo> = (() => {
  const map = new Map<string, RegisterInfo>();
  NAMES_32.forEach((n, i) => map.set(n, { number: i, bits: 32, registerClass: 'gpr' }));
  NAMES_16.forEach((n, i) => map.set(n, { number: i, bits: 16, registerClass: 'gpr' }));
  NAMES_8.forEach((n, i) => map.set(n, { number: i, bits: 8, registerClass: 'gpr' }));
  NAMES_SEGMENT.forEach((n, i) => map.set(n, { number: i, bits: 16, registerClass: 'segment' }));
  for (const i of [0, 2, 3, 4]) map.set(`cr${i}`, { number: i, bits: 32, registerClass: 'control' });
  for (const i of [0, 1, 2, 3, 6, 7]) map.set(`dr${i}`, { number: i, bits: 32, registerClass: 'debug' });
  return map;
})();

export function registerInfo(name: RegisterName | string): RegisterInfo | undefined {
  return REGISTERS.get(name);
}

/** Register names by size and number, for the disassembler. */
export const REGISTER_NAMES = { 8: NAMES_8, 16: NAMES_16, 32: NAMES_32, segment: NAMES_SEGMENT } as const;

export interface EncodedAddress {
  /** ModRM without the reg field. */
  readonly modrm: number;
  readonly sib: number; // -1 when absent
  readonly displacement: number;
  readonly displacementSize: 0 | 1 | 2 | 4;
  /** True when the address uses 16-bit addressing (needs 67h in 32-bit code). */
  readonly addressSize16: boolean;
}

export type AddressResult = EncodedAddress | { readonly error: string };

function fitsSignedByte(value: number): boolean {
  return value >= -128 && value <= 127;
}

/** Displacement size NASM picks for a base-register address (1 = disp8, 4/2 = full). */
function displacementSizeFor(memory: MemoryOperand, full: 2 | 4, mustHaveDisplacement: boolean): 0 | 1 | 2 | 4 {
  if (memory.displacementBits === 8) return 1;
  if (memory.displacementBits === 16 || memory.displacementBits === 32) return full;
  if (!memory.known || memory.relocatable || memory.symbolic === true) return full;
  const value = full === 4 ? memory.value | 0 : memory.value << 16 >> 16;
  if (value === 0 && !mustHaveDisplacement) return 0;
  return fitsSignedByte(value) ? 1 : full;
}

const SIXTEEN_BIT_RM: Readonly<Record<string, number>> = {
  'bx+si': 0, 'bx+di': 1, 'bp+si': 2, 'bp+di': 3, 'si': 4, 'di': 5, 'bp': 6, 'bx': 7,
};

function encode16(memory: MemoryOperand): AddressResult {
  const registers = [memory.base, memory.index].filter((r): r is NonNullable<typeof r> => r !== undefined);
  if (memory.index !== undefined && memory.scale !== 1) return { error: 'invalid 16-bit effective address' };
  if (registers.some((r) => registerInfo(r)?.bits !== 16)) return { error: 'invalid effective address' };
  registers.sort((a, b) => (a === 'bx' || a === 'bp' ? -1 : 0) - (b === 'bx' || b === 'bp' ? -1 : 0));
  if (registers.length === 0) {
    return { modrm: 0x06, sib: -1, displacement: memory.value & 0xffff, displacementSize: 2, addressSize16: true };
  }
  const rm = SIXTEEN_BIT_RM[registers.join('+')];
  if (rm === undefined) return { error: 'invalid 16-bit effective address' };
  const size = displacementSizeFor(memory, 2, rm === 6);
  const mod = size === 0 ? 0 : size === 1 ? 0x40 : 0x80;
  return { modrm: mod | rm, sib: -1, displacement: memory.value, displacementSize: size, addressSize16: true };
}

/** Encodes a memory operand's address. `addressBits` is 16 when a16/16-bit registers select 16-bit forms. */
export function encodeAddress(memory: MemoryOperand, addressBits: 16 | 32): AddressResult {
  if (addressBits === 16) return encode16(memory);
  let base = memory.base === undefined ? -1 : (registerInfo(memory.base)?.number ?? -1);
  let index = memory.index === undefined ? -1 : (registerInfo(memory.index)?.number ?? -1);
  let scale: number = memory.index === undefined ? 0 : memory.scale;
  for (const r of [memory.base, memory.index]) {
    if (r !== undefined && registerInfo(r)?.bits !== 32) return { error: 'impossible combination of address sizes' };
  }
  if (index >= 0 && base < 0 && !memory.nosplit) {
    if (scale === 1) { base = index; index = -1; scale = 0; }
    else if (scale === 2 || scale === 3 || scale === 5 || scale === 9) { base = index; scale -= 1; }
  }
  if (index === 4) {
    if (scale !== 1 || base === 4) return { error: 'invalid 32-bit effective address' };
    index = base; base = 4;
  }
  if (index >= 0 && scale !== 1 && scale !== 2 && scale !== 4 && scale !== 8) {
    return { error: 'invalid 32-bit effective address' };
  }
  const scaleBits = scale === 8 ? 3 : scale === 4 ? 2 : scale === 2 ? 1 : 0;
  const displacement = memory.value | 0;
  if (base < 0 && index < 0) {
    return { modrm: 0x05, sib: -1, displacement, displacementSize: 4, addressSize16: false };
  }
  if (base < 0) {
    return { modrm: 0x04, sib: scaleBits << 6 | index << 3 | 5, displacement, displacementSize: 4, addressSize16: false };
  }
  const size = displacementSizeFor(memory, 4, base === 5);
  const mod = size === 0 ? 0 : size === 1 ? 0x40 : 0x80;
  if (index < 0 && base !== 4) {
    return { modrm: mod | base, sib: -1, displacement, displacementSize: size, addressSize16: false };
  }
  const sib = scaleBits << 6 | (index < 0 ? 4 : index) << 3 | base;
  return { modrm: mod | 4, sib, displacement, displacementSize: size, addressSize16: false };
}

/** True when a memory operand is a plain absolute address (candidate for the moffs forms A0–A3). */
export function isAbsoluteAddress(memory: MemoryOperand): boolean {
  return memory.base === undefined && memory.index === undefined && memory.displacementBits !== 8;
}
