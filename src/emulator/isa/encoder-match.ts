// Operand matching for the encoder: does a statement's operand list fit an instruction form, and with
// which operand size? Mirrors NASM's template matching (NASM manual ch. 3 and insns.dat semantics) for the
// subset in the table: register classes and sizes, memory sizes (unsized memory needs another operand to
// imply the size), sign-extended imm8 only for known, non-relocatable values that fit, `strict`,
// `short`/`near` jump distances and far pointers.

import { isAbsoluteAddress, registerInfo } from './encoder-ea';
import type { ImmediateOperand, MemoryOperand, Operand } from './operands';
import type { InstructionForm, OperandKind } from './types';

/** Why a form did not match (used to pick NASM's error message). */
export type MismatchReason = 'combination' | 'size-unspecified' | 'size-mismatch';

export interface FormMatch {
  readonly form: InstructionForm;
  /** 8 for byte forms, else 16/32 (the operand size that decides 66h). */
  readonly operandSize: 8 | 16 | 32;
  /** Statement operands reordered to the form's operand order; `sourceIndex` maps back. */
  readonly operands: readonly Operand[];
  readonly sourceIndex: readonly number[];
}

/** Forms whose r/m memory operand is always a word (or size-free) and never takes 66h for memory. */
const WORD_MEMORY_FORMS = new Set(['SLDT Ev', 'STR Ev', 'SMSW Ev', 'MOV Ev,Sw', 'MOV Sw,Ev']);
const SIZE_FREE_MEMORY: ReadonlySet<OperandKind> = new Set<OperandKind>(['M', 'Mp', 'Ms', 'Mq']);
const FIXED_REGISTER: Partial<Record<OperandKind, string>> = {
  AL: 'al', CL: 'cl', DX: 'dx', ES: 'es', CS: 'cs', SS: 'ss', DS: 'ds', FS: 'fs', GS: 'gs',
};

export function fitsSignedByte(value: number, operandSize: number): boolean {
  // NASM truncates to the operand size first: `add ax, 0xffffffff` is 83 /0 FF.
  const signed = operandSize === 16 ? value << 16 >> 16 : value | 0;
  return signed >= -128 && signed <= 127;
}

interface Sizing {
  size: 0 | 8 | 16 | 32;
  /** An unsized memory operand in a fixed-size (Eb/Ew/Ed) / variable (Ev) position. */
  unsizedByteMemory: boolean;
  unsizedMemory: boolean;
  immediateSize: 0 | 16 | 32;
}

/** Checks one operand against one kind; updates the sizing. Returns a reason on mismatch. */
function matchOperand(kind: OperandKind, operand: Operand, form: InstructionForm, sizing: Sizing): MismatchReason | undefined {
  const impose = (size: 8 | 16 | 32): MismatchReason | undefined => {
    if (sizing.size !== 0 && sizing.size !== size) return 'size-mismatch';
    sizing.size = size;
    return undefined;
  };
  if (operand.kind === 'far') {
    if (kind !== 'Ap') return 'combination';
    return operand.bits === undefined ? undefined : impose(operand.bits);
  }
  if (operand.kind === 'reg') {
    const info = registerInfo(operand.name);
    if (info === undefined) return 'combination';
    const fixed = FIXED_REGISTER[kind];
    if (fixed !== undefined) return operand.name === fixed ? undefined : 'combination';
    switch (kind) {
      case 'Sw': return info.registerClass === 'segment' ? undefined : 'combination';
      case 'Cd': return info.registerClass === 'control' ? undefined : 'combination';
      case 'Dd': return info.registerClass === 'debug' ? undefined : 'combination';
      default: break;
    }
    if (info.registerClass !== 'gpr') return 'combination';
    switch (kind) {
      case 'Eb': case 'Gb': case 'Zb': return info.bits === 8 ? undefined : 'combination';
      case 'Ev': case 'Gv': case 'Zv': case 'Rv':
        return info.bits === 8 ? 'combination' : impose(info.bits);
      case 'eAX': return info.number === 0 && info.bits !== 8 ? impose(info.bits) : 'combination';
      case 'Ew': case 'Gw':
        // LAR/LSL take a 32-bit register source too (NASM accepts `lar eax, ebx`).
        if (info.bits === 16) return undefined;
        return info.bits === 32 && kind === 'Ew' && form.operands[0] === 'Gv' ? undefined : 'combination';
      case 'Ed': case 'Gd': case 'Rd': return info.bits === 32 ? undefined : 'combination';
      default: return 'combination';
    }
  }
  if (operand.kind === 'mem') return matchMemory(kind, operand, form, sizing, impose);
  return matchImmediate(kind, operand, form, sizing);
}

function matchMemory(
  kind: OperandKind, memory: MemoryOperand, form: InstructionForm, sizing: Sizing,
  impose: (size: 8 | 16 | 32) => MismatchReason | undefined,
): MismatchReason | undefined {
  const bits = memory.bits;
  if (kind === 'Mp') {
    // `jmp word far [eax]` is m16:16 (66h); `dword`/no size is m16:32.
    if (memory.distance !== 'far' && bits !== 48) return 'combination';
    return bits === 16 || bits === 32 ? impose(bits) : undefined;
  }
  if (memory.distance === 'far') return 'combination';
  if (SIZE_FREE_MEMORY.has(kind)) return bits === undefined || bits === 48 || bits === 64 || kind === 'M' ? undefined : 'size-mismatch';
  if (kind === 'Ob' || kind === 'Ov') {
    if (!isAbsoluteAddress(memory)) return 'combination';
    if (kind === 'Ob') return bits === undefined || bits === 8 ? undefined : 'size-mismatch';
    if (bits === undefined) return undefined;
    return bits === 16 || bits === 32 ? impose(bits) : 'size-mismatch';
  }
  const wordMemory = WORD_MEMORY_FORMS.has(form.sdm);
  switch (kind) {
    case 'Eb':
      if (bits === undefined) { sizing.unsizedByteMemory = true; return undefined; }
      return bits === 8 ? undefined : 'size-mismatch';
    case 'Ew': case 'Mw':
      if (bits === undefined) { sizing.unsizedByteMemory = true; return undefined; }
      return bits === 16 ? undefined : 'size-mismatch';
    case 'Ed': case 'Md':
      if (bits === undefined) { sizing.unsizedByteMemory = true; return undefined; }
      return bits === 32 ? undefined : 'size-mismatch';
    case 'Ev':
      if (wordMemory) return bits === undefined || bits === 16 ? undefined : 'size-mismatch';
      if (bits === undefined) { sizing.unsizedMemory = true; return undefined; }
      return bits === 16 || bits === 32 ? impose(bits) : 'size-mismatch';
    default: return 'combination';
  }
}

function matchImmediate(kind: OperandKind, immediate: ImmediateOperand, form: InstructionForm, sizing: Sizing): MismatchReason | undefined {
  if (immediate.bits === 16 || immediate.bits === 32) {
    // `push word 5`, `jmp word label` (66h, rel16): the size keyword sets the operand size.
    if (kind === 'Iz' || kind === 'Ibs' || kind === 'Jz') sizing.immediateSize = immediate.bits;
  }
  switch (kind) {
    case 'one':
      return immediate.known && !immediate.relocatable && immediate.symbolic !== true && immediate.value === 1 &&
        !immediate.strict ? undefined : 'combination';
    case 'Ib': case 'Iw': case 'Iz':
      if (immediate.distance !== undefined) return 'combination';
      if (immediate.strict && kind === 'Ib' && immediate.bits !== undefined && immediate.bits > 8) return 'combination';
      return undefined;
    case 'Ibs':
      // Decided once the operand size is known (fitsSignedByte); here only the keywords.
      if (immediate.distance !== undefined) return 'combination';
      if (immediate.strict && immediate.bits !== undefined && immediate.bits !== 8) return 'combination';
      return undefined;
    case 'Jb': case 'Jz':
      if (immediate.distance === 'far') return 'combination';
      // LOOPcc/JECXZ have only a rel8 form and NASM takes no distance keyword on them.
      if (immediate.distance !== undefined && (form.mnemonic.startsWith('loop') || form.mnemonic === 'jecxz')) {
        return 'combination';
      }
      // Jcc takes `word`/`dword` only together with `near` (`jz near dword x`); `jz dword x` is an error.
      if (immediate.bits !== undefined && immediate.bits !== 8 && immediate.distance !== 'near' &&
        form.mnemonic.startsWith('j') && form.mnemonic !== 'jmp') {
        return 'size-mismatch';
      }
      return undefined;
    default: return 'combination';
  }
}

interface FormShape {
  /** Has a byte-sized operand (Eb Gb Zb AL Ob). */
  readonly byteForm: boolean;
  /** Has an operand whose size follows the operand-size attribute (v kinds, Iz, Ibs). */
  readonly variable: boolean;
}

const SHAPES: FormShape[] = [];

function shapeOf(form: InstructionForm): FormShape {
  let shape = SHAPES[form.index];
  if (shape === undefined) {
    shape = {
      byteForm: form.operands.some((k) => k === 'Eb' || k === 'Gb' || k === 'Zb' || k === 'AL' || k === 'Ob'),
      variable: form.operands.some((k) => k === 'Ev' || k === 'Gv' || k === 'Zv' || k === 'eAX' || k === 'Ov' ||
        k === 'Iz' || k === 'Ibs' || k === 'Rv' || k === 'Jz' || k === 'Ap' || k === 'Mp'),
    };
    SHAPES[form.index] = shape;
  }
  return shape;
}

const IDENTITY: readonly (readonly number[])[] = [[], [0], [0, 1], [0, 1, 2]];
const SCRATCH_SIZING: Sizing = { size: 0, unsizedByteMemory: false, unsizedMemory: false, immediateSize: 0 };

function resetSizing(sizing: Sizing): Sizing {
  sizing.size = 0;
  sizing.unsizedByteMemory = false;
  sizing.unsizedMemory = false;
  sizing.immediateSize = 0;
  return sizing;
}
const SWAPPED: readonly number[] = [1, 0];

/** Tries one form (and, for commutative TEST/XCHG, its swapped operand order). */
export function matchForm(
  form: InstructionForm, operands: readonly Operand[], defaultBits: 16 | 32, allowUnsizedByte = false,
): FormMatch | MismatchReason {
  if (operands.length !== form.operands.length) return 'combination';
  const attempt = (order: readonly number[]): FormMatch | MismatchReason => {
    // One scratch sizing record (matching is not re-entrant) and no operand copy in the common order.
    const sizing = resetSizing(SCRATCH_SIZING);
    const ordered = order === SWAPPED ? [operands[1] as Operand, operands[0] as Operand] : operands;
    for (let i = 0; i < form.operands.length; i++) {
      const reason = matchOperand(form.operands[i] as OperandKind, ordered[i] as Operand, form, sizing);
      if (reason !== undefined) return reason;
    }
    const { byteForm, variable } = shapeOf(form);
    let size: 8 | 16 | 32 = byteForm && !variable ? 8 : defaultBits;
    if (variable) {
      if (sizing.size === 0 && sizing.immediateSize !== 0) sizing.size = sizing.immediateSize;
      if (sizing.size === 8) return 'combination';
      if (sizing.size === 0) {
        // A near indirect JMP/CALL through unsized memory takes the code's size (`jmp [table]`: FF /4 with an
        // m32 operand in bits 32, m16 in bits 16), as NASM does; other unsized memory operands are an error.
        if (sizing.unsizedMemory && !isNearIndirectBranch(form)) return 'size-unspecified';
      } else size = sizing.size;
    }
    // An unsized fixed-size memory operand needs a register of that size beside it (`mov [eax], al`);
    // otherwise NASM accepts it only when no other form could take it (the caller's second pass:
    // `setz [eax]`, `lldt [eax]`, but not `movzx eax, [eax]`).
    if (sizing.unsizedByteMemory && !allowUnsizedByte &&
      !form.operands.some((k) => k === 'Gb' || k === 'AL' || k === 'Gw' || k === 'Gd')) {
      return 'size-unspecified';
    }
    // MOVZX/MOVSX r16, r/m16 does not exist in NASM's table.
    if ((form.mnemonic === 'movzx' || form.mnemonic === 'movsx') && form.operands[1] === 'Ew' && size !== 32) {
      return 'combination';
    }
    // `strict dword` on a 16-bit operation (or `strict word` on a 32-bit one) is a size conflict.
    for (const [i, kind] of form.operands.entries()) {
      const operand = ordered[i];
      if (kind === 'Iz' && operand?.kind === 'imm' && operand.strict && operand.bits !== undefined && operand.bits !== size) {
        return 'size-mismatch';
      }
    }
    if (form.operandSize !== 0) {
      if (sizing.size !== 0 && sizing.size !== form.operandSize) return 'size-mismatch';
      size = form.operandSize;
    }
    // The sign-extended imm8 forms need a known, non-relocatable value that fits (or an explicit `byte`).
    const signedIndex = form.operands.indexOf('Ibs');
    if (signedIndex >= 0) {
      const immediate = ordered[signedIndex] as ImmediateOperand;
      const explicitByte = immediate.bits === 8;
      if (!explicitByte && (!immediate.known || immediate.relocatable || immediate.symbolic === true ||
        !fitsSignedByte(immediate.value, size))) {
        return 'combination';
      }
    }
    return { form, operandSize: size, operands: ordered, sourceIndex: order };
  };
  const direct = attempt(IDENTITY[operands.length] ?? []);
  if (typeof direct !== 'string' || operands.length !== 2) return direct;
  if (form.mnemonic !== 'test' && form.mnemonic !== 'xchg') return direct;
  const swapped = attempt(SWAPPED);
  return typeof swapped === 'string' ? direct : swapped;
}

/** JMP Ev / CALL Ev (FF /4, FF /2): near indirect branches, whose operand defaults to the code size. */
function isNearIndirectBranch(form: InstructionForm): boolean {
  return (form.mnemonic === 'jmp' || form.mnemonic === 'call') && form.operands.length === 1 && form.operands[0] === 'Ev';
}
