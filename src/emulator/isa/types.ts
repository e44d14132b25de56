// Types of the IA-32 instruction table: one row (InstructionForm) per encoding form in Intel SDM notation
// (Intel SDM Vol. 2, Appendix A "Opcode Map": Ev, Gv, Ib, Jz, ...), plus EFLAGS bit masks and the
// virtualization classes used by the VMM, the language server's hover and the generated tests.

/**
 * Operand kinds, named after the SDM opcode-map codes (Vol. 2 A.2.1/A.2.2) with a few additions:
 * - E*: ModRM r/m (register or memory); G*: ModRM reg; R*: ModRM r/m register only (mod = 11);
 * - M*: ModRM r/m memory only (M any size, Mw, Md, Mq, Mp = m16:32 far pointer, Ms = 6-byte descriptor);
 * - Ib/Iw/Iz: immediates (Iz = 16 or 32 by operand size); Ibs: imm8 sign-extended to the operand size;
 * - Jb/Jz: relative branch displacement; Ap: direct far pointer ptr16:32; Ob/Ov: moffs;
 * - Sw: segment register in ModRM.reg; Cd/Dd: control/debug register in ModRM.reg;
 * - Zb/Zv: general register in the low 3 bits of the opcode byte;
 * - fixed registers (AL, eAX, CL, DX, segment registers) and the constant 1 (shift by one).
 */
export type OperandKind =
  | 'Eb' | 'Ew' | 'Ed' | 'Ev' | 'Gb' | 'Gw' | 'Gd' | 'Gv' | 'Rd' | 'Rv'
  | 'M' | 'Mw' | 'Md' | 'Mq' | 'Mp' | 'Ms'
  | 'Ib' | 'Iw' | 'Iz' | 'Ibs' | 'Jb' | 'Jz' | 'Ap' | 'Ob' | 'Ov'
  | 'Sw' | 'Cd' | 'Dd' | 'Zb' | 'Zv'
  | 'AL' | 'eAX' | 'CL' | 'DX' | 'ES' | 'CS' | 'SS' | 'DS' | 'FS' | 'GS' | 'one';

/** EFLAGS bits (Intel SDM Vol. 1, 3.4.3). */
export const Flag = {
  CF: 1 << 0, PF: 1 << 2, AF: 1 << 4, ZF: 1 << 6, SF: 1 << 7, TF: 1 << 8, IF: 1 << 9, DF: 1 << 10,
  OF: 1 << 11, IOPL: 3 << 12, NT: 1 << 14, RF: 1 << 16, VM: 1 << 17, AC: 1 << 18, VIF: 1 << 19,
  VIP: 1 << 20, ID: 1 << 21,
} as const;

/** The six arithmetic status flags. */
export const STATUS_FLAGS = Flag.CF | Flag.PF | Flag.AF | Flag.ZF | Flag.SF | Flag.OF;

/** Prefixes an instruction form accepts (bit mask). */
export const PrefixAllowed = { LOCK: 1, REP: 2, REPNE: 4 } as const;

/** Who may execute the form (Intel SDM Vol. 3, 2.8 "System instruction summary", 18.5 I/O privilege). */
export type Privilege = 'any' | 'cpl0' | 'iopl';

/**
 * Virtualization class. 'sensitive-unprivileged' are the instructions Robin & Irvine (USENIX Security 2000)
 * show break Popek & Goldberg's condition on IA-32: they read or change privileged state without trapping
 * at CPL > 0. 'io-sensitive' are governed by IOPL / the TSS I/O bitmap. 'vmx-exits' exit unconditionally in
 * VMX non-root operation (Intel SDM Vol. 3C, 26.1.2).
 */
export type VirtualizationClass =
  | 'privileged' | 'sensitive-unprivileged' | 'io-sensitive' | 'vmx-exits' | 'innocuous';

/** Operand-size constraint of a form: 0 = follows the 66h prefix (or is size-independent). */
export type OperandSizeConstraint = 0 | 16 | 32;

/** Opcode map of the final opcode byte: 0 = one-byte, 1 = 0F two-byte, 2 = 0F 38 three-byte. */
export type OpcodeMap = 0 | 1 | 2;

/** One encoding form of an instruction: the single source of truth for every tool. */
export interface InstructionForm {
  /** Position in INSTRUCTION_FORMS (what the decoder reports). */
  readonly index: number;
  /** NASM/ndisasm spelling, lower case (e.g. 'jz', 'pushf', 'movsd'). */
  readonly mnemonic: string;
  /** Intel SDM opcode-map notation, e.g. 'ADD Ev,Gv'. */
  readonly sdm: string;
  /** The opcode as written in the SDM, e.g. '01 /r', '83 /0 ib', '0F 01 C1', 'F3 0F C7 /6'. */
  readonly opcodeText: string;
  readonly map: OpcodeMap;
  /** The final opcode byte (for Zb/Zv forms, the base; the register is added). */
  readonly opcode: number;
  /** Mandatory prefix byte that selects this form (0x66 / 0xF3), or 0. */
  readonly mandatoryPrefix: number;
  readonly hasModrm: boolean;
  /** ModRM.reg opcode extension (/digit), or -1. */
  readonly modrmReg: number;
  /** Fixed ModRM byte r/m (e.g. VMCALL = 0F 01 C1 has reg 0, rm 1, mod 3), or -1. */
  readonly modrmRm: number;
  /** 'mem' / 'reg' restricts ModRM.mod (memory only / mod = 11 only). */
  readonly modrmMod: 'any' | 'mem' | 'reg';
  readonly operands: readonly OperandKind[];
  readonly operandSize: OperandSizeConstraint;
  /** Mask of PrefixAllowed. */
  readonly prefixesAllowed: number;
  readonly flagsRead: number;
  readonly flagsWritten: number;
  /** Flags the SDM leaves undefined after the instruction (a subset of flagsWritten). */
  readonly flagsUndefined: number;
  /** Ends a basic block (changes EIP non-sequentially, or changes state the translator depends on). */
  readonly blockBoundary: boolean;
  readonly privilege: Privilege;
  readonly virtualization: VirtualizationClass;
  /** Instruction group for docs and tests. */
  readonly category: 'data' | 'arithmetic' | 'control' | 'string' | 'system' | 'vmx';
}

/** What each virtualization technique does with an instruction (shown by the language server's hover). */
export interface TechniqueNotes {
  readonly trapAndEmulate: string;
  readonly binaryTranslation: string;
  readonly paravirtual: string;
  readonly vtx: string;
}

export interface MnemonicDoc {
  readonly mnemonic: string;
  readonly summary: string;
  readonly techniques: TechniqueNotes;
}
