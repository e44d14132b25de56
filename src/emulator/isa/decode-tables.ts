// Dense lookup arrays derived once from INSTRUCTION_FORMS for the decoder's hot path: per opcode byte a
// run of candidate forms (most specific first), and per form its ModRM/prefix constraints and immediate
// layout as small integers. No Maps or objects are touched while decoding.

import { INSTRUCTION_FORMS } from './table';
import type { InstructionForm, OperandKind } from './types';

/** Immediate/field layout codes (what follows ModRM/SIB/displacement). */
export const ImmediateCode = {
  None: 0, Byte: 1, SignedByte: 2, Word: 3, OperandSized: 4, RelativeByte: 5, RelativeOperandSized: 6,
  FarPointer: 7, MemoryOffset: 8,
} as const;

const IMMEDIATE_OF_KIND: Partial<Record<OperandKind, number>> = {
  Ib: ImmediateCode.Byte, Ibs: ImmediateCode.SignedByte, Iw: ImmediateCode.Word,
  Iz: ImmediateCode.OperandSized, Jb: ImmediateCode.RelativeByte, Jz: ImmediateCode.RelativeOperandSized,
  Ap: ImmediateCode.FarPointer, Ob: ImmediateCode.MemoryOffset, Ov: ImmediateCode.MemoryOffset,
};

const FORM_COUNT = INSTRUCTION_FORMS.length;

/** Per form: mandatory prefix (0, 0x66, 0xF3). */
export const FORM_MANDATORY_PREFIX = new Uint8Array(FORM_COUNT);
/** Per form: required ModRM.reg, or -1. */
export const FORM_MODRM_REG = new Int8Array(FORM_COUNT);
/** Per form: required ModRM.rm with mod = 3, or -1. */
export const FORM_MODRM_RM = new Int8Array(FORM_COUNT);
/** Per form: 0 any mod, 1 memory only, 2 register only. */
export const FORM_MODRM_MOD = new Uint8Array(FORM_COUNT);
/** Per form: 0, 16 or 32 (operand-size constraint). */
export const FORM_OPERAND_SIZE = new Uint8Array(FORM_COUNT);
/** Per form: first immediate field (ImmediateCode). */
export const FORM_IMMEDIATE = new Uint8Array(FORM_COUNT);
/** Per form: 1 when a second imm8 follows (ENTER Iw,Ib). */
export const FORM_SECOND_IMMEDIATE = new Uint8Array(FORM_COUNT);
/** Per form: 1 when a register is encoded in the opcode's low three bits (Zb/Zv). */
export const FORM_OPCODE_REGISTER = new Uint8Array(FORM_COUNT);
/** Per form: bit n set when ModRM.reg = n names an existing register (Sw, Cd, Dd), else 0xFF. */
export const FORM_VALID_REG = new Uint8Array(FORM_COUNT);
/**
 * Per form: 1 when a 66h/F2h/F3h prefix makes it #UD (VMREAD/VMWRITE, VMPTRLD/VMPTRST: those prefixes
 * select other instructions — VMXON/VMCLEAR, or AMD's EXTRQ/INSERTQ — never an operand size).
 */
export const FORM_REJECTS_SIMD_PREFIX = new Uint8Array(FORM_COUNT);
/** Per form: 1 when the LOCK prefix is allowed. */
export const FORM_LOCKABLE = new Uint8Array(FORM_COUNT);

/** Per (map * 256 + opcode byte): first candidate in CANDIDATES and how many. */
export const CANDIDATE_START = new Uint16Array(3 * 256);
export const CANDIDATE_COUNT = new Uint8Array(3 * 256);
/** Per (map * 256 + opcode byte): 1 when the opcode is followed by a ModRM byte. */
export const OPCODE_HAS_MODRM = new Uint8Array(3 * 256);
export let CANDIDATES = new Uint16Array(0);

function specificity(form: InstructionForm): number {
  // Lower sorts first: mandatory-prefix forms, fixed-ModRM forms, size-specific forms, then the rest;
  // opcode-register forms (XCHG eAX,Zv) come after NOP/PAUSE at 90h.
  return (form.mandatoryPrefix !== 0 ? 0 : 8) + (form.modrmRm >= 0 ? 0 : 4) +
    (form.operandSize !== 0 ? 0 : 2) + (form.operands.some((k) => k === 'Zv' || k === 'Zb') ? 1 : 0);
}

function build(): void {
  const buckets: number[][] = Array.from({ length: 3 * 256 }, () => []);
  for (const form of INSTRUCTION_FORMS) {
    const i = form.index;
    FORM_MANDATORY_PREFIX[i] = form.mandatoryPrefix;
    FORM_MODRM_REG[i] = form.modrmReg;
    FORM_MODRM_RM[i] = form.modrmRm;
    FORM_MODRM_MOD[i] = form.modrmMod === 'mem' ? 1 : form.modrmMod === 'reg' || form.modrmRm >= 0 ? 2 : 0;
    FORM_OPERAND_SIZE[i] = form.operandSize;
    FORM_LOCKABLE[i] = form.prefixesAllowed & 1;
    FORM_REJECTS_SIMD_PREFIX[i] = form.category === 'vmx' && form.mandatoryPrefix === 0 && form.modrmRm < 0 ? 1 : 0;
    // ES CS SS DS FS GS (MOV Sreg, r/m excludes CS); CR0 CR2 CR3 CR4; DR0-DR3 DR6 DR7.
    FORM_VALID_REG[i] = form.sdm === 'MOV Sw,Ev' ? 0b111101 : form.operands.includes('Sw') ? 0b111111 :
      form.operands.includes('Cd') ? 0b11101 : form.operands.includes('Dd') ? 0b11001111 : 0xff;
    const immediates = form.operands.map((k) => IMMEDIATE_OF_KIND[k] ?? 0).filter((c) => c !== 0);
    FORM_IMMEDIATE[i] = immediates[0] ?? 0;
    FORM_SECOND_IMMEDIATE[i] = immediates.length > 1 ? 1 : 0;
    const inOpcode = form.operands.some((k) => k === 'Zv' || k === 'Zb');
    FORM_OPCODE_REGISTER[i] = inOpcode ? 1 : 0;
    const opcodes = inOpcode ? [0, 1, 2, 3, 4, 5, 6, 7].map((r) => form.opcode + r) : [form.opcode];
    for (const opcode of opcodes) {
      const slot = form.map * 256 + opcode;
      buckets[slot]?.push(i);
      OPCODE_HAS_MODRM[slot] = form.hasModrm ? 1 : 0;
    }
  }
  const flat: number[] = [];
  buckets.forEach((bucket, slot) => {
    bucket.sort((a, b) => {
      const fa = INSTRUCTION_FORMS[a] as InstructionForm;
      const fb = INSTRUCTION_FORMS[b] as InstructionForm;
      return specificity(fa) - specificity(fb) || a - b;
    });
    CANDIDATE_START[slot] = flat.length;
    CANDIDATE_COUNT[slot] = bucket.length;
    flat.push(...bucket);
  });
  CANDIDATES = Uint16Array.from(flat);
}

build();
