// Turns a decoded instruction back into the assembler's InstructionStatement (operands.ts), pinning every
// choice NASM could otherwise optimise (displacement width, `nosplit`, imm8 vs imm32, jump distance), so
// decode → statement → encodeInstruction reproduces the original bytes for every NASM-produced encoding.

import type { DecodedInstruction } from '../isa/decoder';
import { Prefix } from '../isa/decoder';
import { REGISTER_NAMES } from '../isa/encoder-ea';
import type {
  InstructionStatement, MemoryOperand, Operand, OperandBits, Reg16, Reg32, RegisterName, SegmentRegister,
} from '../isa/operands';
import { INSTRUCTION_FORMS } from '../isa/table';
import type { InstructionForm, OperandKind } from '../isa/types';

const SIXTEEN_BIT_BASE: readonly (readonly [Reg16, Reg16 | undefined])[] = [
  ['bx', 'si'], ['bx', 'di'], ['bp', 'si'], ['bp', 'di'], ['si', undefined], ['di', undefined], ['bp', undefined], ['bx', undefined],
];

const known = (value: number) => ({ value, known: true, relocatable: false });

function memoryOperand(d: DecodedInstruction, bits: OperandBits | undefined, moffs: boolean, far: boolean): MemoryOperand {
  const segment = d.segmentOverride >= 0 ? REGISTER_NAMES.segment[d.segmentOverride] as SegmentRegister : undefined;
  const common = {
    kind: 'mem' as const, ...known(d.displacement), ...(bits !== undefined ? { bits } : {}),
    ...(segment !== undefined ? { segment } : {}), ...(far ? { distance: 'far' as const } : {}),
  };
  if (moffs || (d.base < 0 && d.index < 0)) {
    const value = d.addressSize === 16 ? d.displacement & 0xffff : d.displacement >>> 0;
    // A ModRM absolute address with AL/eAX would become the shorter moffs form; NASM keeps the ModRM
    // form for `[byte addr]` (size ignored, with a warning), so say that.
    return { ...common, value, scale: 1, hasDisplacement: true, ...(moffs ? {} : { displacementBits: 8 as const }) };
  }
  let base: Reg32 | Reg16 | undefined;
  let index: Reg32 | Reg16 | undefined;
  if (d.addressSize === 16) {
    [base, index] = SIXTEEN_BIT_BASE[d.rm] as readonly [Reg16, Reg16 | undefined];
  } else {
    base = d.base >= 0 ? REGISTER_NAMES[32][d.base] as Reg32 : undefined;
    index = d.index >= 0 ? REGISTER_NAMES[32][d.index] as Reg32 : undefined;
  }
  const scale = (1 << d.scaleShift) as 1 | 2 | 4 | 8;
  const displacementBits = d.displacementSize === 1 ? 8 : d.displacementSize === 0 ? undefined : d.displacementSize === 2 ? 16 : 32;
  return {
    ...common, scale, hasDisplacement: d.displacementSize !== 0,
    ...(base !== undefined ? { base } : {}), ...(index !== undefined ? { index } : {}),
    ...(displacementBits !== undefined ? { displacementBits } : {}),
    ...(d.addressSize === 32 && d.base < 0 && d.index >= 0 ? { nosplit: true } : {}),
  };
}

function register(bits: 8 | 16 | 32, number: number): Operand {
  return { kind: 'reg', name: REGISTER_NAMES[bits][number] as RegisterName };
}

function operandOf(d: DecodedInstruction, form: InstructionForm, position: number, address: number): Operand {
  const kind = form.operands[position] as OperandKind;
  const size = d.operandSize;
  switch (kind) {
    case 'Eb': case 'Ew': case 'Ed': case 'Ev': case 'Rd': case 'Rv': case 'M': case 'Mw': case 'Md': case 'Mq':
    case 'Ms': case 'Mp': {
      const bits = kind === 'Eb' ? 8 : kind === 'Ew' ? 16 : kind === 'Ed' || kind === 'Rd' ? 32 : kind === 'Ev' || kind === 'Rv' ? size : undefined;
      if (!d.isMemory) return register(bits ?? size, d.rm);
      const wordMemory = form.sdm === 'SLDT Ev' || form.sdm === 'STR Ev' || form.sdm === 'SMSW Ev' || form.operands.includes('Sw');
      return memoryOperand(d, wordMemory ? undefined : bits, false, kind === 'Mp');
    }
    case 'Gb': return register(8, d.reg);
    case 'Gw': return register(16, d.reg);
    case 'Gd': return register(32, d.reg);
    case 'Gv': return register(size, d.reg);
    case 'Zb': return register(8, d.opcodeRegister);
    case 'Zv': return register(size, d.opcodeRegister);
    case 'Sw': return { kind: 'reg', name: REGISTER_NAMES.segment[d.reg] as RegisterName };
    case 'Cd': return { kind: 'reg', name: `cr${d.reg}` as RegisterName };
    case 'Dd': return { kind: 'reg', name: `dr${d.reg}` as RegisterName };
    case 'AL': return { kind: 'reg', name: 'al' };
    case 'CL': return { kind: 'reg', name: 'cl' };
    case 'DX': return { kind: 'reg', name: 'dx' };
    case 'eAX': return register(size, 0);
    case 'ES': case 'CS': case 'SS': case 'DS': case 'FS': case 'GS':
      return { kind: 'reg', name: kind.toLowerCase() as RegisterName };
    case 'one': return { kind: 'imm', ...known(1) };
    case 'Ob': case 'Ov': return memoryOperand(d, undefined, true, false);
    case 'Ibs': return { kind: 'imm', ...known(d.immediate), bits: 8 };
    case 'Ib': return { kind: 'imm', ...known(position > 0 && form.operands[0] === 'Iw' ? d.immediate2 : d.immediate) };
    case 'Iw': return { kind: 'imm', ...known(d.immediate) };
    case 'Iz': return { kind: 'imm', ...known(d.immediate), bits: size, strict: true };
    case 'Jb': case 'Jz': {
      const target = ((address + d.length + d.immediate) & (size === 16 && kind === 'Jz' ? 0xffff : 0xffffffff)) >>> 0;
      const loop = form.mnemonic.startsWith('loop') || form.mnemonic === 'jecxz';
      return { kind: 'imm', ...known(target), ...(loop ? {} : { distance: kind === 'Jb' ? 'short' as const : 'near' as const }) };
    }
    case 'Ap': return { kind: 'far', segment: known(d.farSelector), offset: known(d.immediate) };
  }
}

/** The statement that encodes back to this decoded instruction (which must have a form). */
export function statementOf(d: DecodedInstruction, address: number): InstructionStatement | undefined {
  const form = INSTRUCTION_FORMS[d.formIndex];
  if (form === undefined) return undefined;
  const prefixes: string[] = [];
  if (form.mandatoryPrefix !== 0xf3 && (d.prefixes & Prefix.REP) !== 0) prefixes.push('rep');
  if ((d.prefixes & Prefix.REPNE) !== 0) prefixes.push('repne');
  if ((d.prefixes & Prefix.LOCK) !== 0) prefixes.push('lock');
  if (d.segmentOverride >= 0 && !d.isMemory) prefixes.push(REGISTER_NAMES.segment[d.segmentOverride] as string);
  // A 66h prefix that is not part of the opcode: keep it even where no operand shows it (`o16 cld`).
  if ((d.prefixes & Prefix.OPERAND_SIZE) !== 0 && form.mandatoryPrefix !== 0x66) prefixes.push(d.operandSize === 16 ? 'o16' : 'o32');
  // A 16-bit absolute address shows no 16-bit register: the address size must be written (`a16`).
  if (d.isMemory && d.addressSize === 16 && d.base < 0) prefixes.push('a16');
  // A 67h with no memory operand still changes the instruction (LOOP/JECXZ count in CX) and its length.
  if (!d.isMemory && (d.prefixes & Prefix.ADDRESS_SIZE) !== 0) prefixes.push(d.addressSize === 16 ? 'a16' : 'a32');
  const operands = form.operands.map((_, i) => operandOf(d, form, i, address));
  return { mnemonic: form.mnemonic, prefixes, operands };
}
