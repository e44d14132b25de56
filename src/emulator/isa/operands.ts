// The contract between the assembler front end (src/emulator/asm) and the encoder (src/emulator/isa):
// a parsed, expression-evaluated instruction statement in NASM's terms. The front end evaluates every
// expression and marks what it could not know yet; the encoder chooses the form and bytes NASM would.

export type Reg8 = 'al' | 'cl' | 'dl' | 'bl' | 'ah' | 'ch' | 'dh' | 'bh';
export type Reg16 = 'ax' | 'cx' | 'dx' | 'bx' | 'sp' | 'bp' | 'si' | 'di';
export type Reg32 = 'eax' | 'ecx' | 'edx' | 'ebx' | 'esp' | 'ebp' | 'esi' | 'edi';
export type SegmentRegister = 'es' | 'cs' | 'ss' | 'ds' | 'fs' | 'gs';
export type ControlRegister = 'cr0' | 'cr2' | 'cr3' | 'cr4';
export type DebugRegister = 'dr0' | 'dr1' | 'dr2' | 'dr3' | 'dr6' | 'dr7';
export type RegisterName = Reg8 | Reg16 | Reg32 | SegmentRegister | ControlRegister | DebugRegister;

/** Operand sizes in bits as written with NASM size keywords (byte word dword fword qword tword). */
export type OperandBits = 8 | 16 | 32 | 48 | 64 | 80;

/**
 * A value that may need a relocation in an object file. For `-f bin` every value is absolute and
 * `relocatable` is false once the final addresses are known. For `-f elf32`, a value that depends on a
 * section-relative or external symbol is relocatable: the encoder must not shrink its field to a
 * sign-extended imm8/disp8 form (NASM keeps the full width), and it reports where the field landed.
 * NASM also keeps the full width for label-based values in `-f bin`: mark those `symbolic`.
 */
export interface ValueInfo {
  /** The evaluated value (for relocatable values, the addend as NASM would store it in the field). */
  readonly value: number;
  /** False while a forward reference is still unresolved in an early pass (the value is a guess). */
  readonly known: boolean;
  /** True when the value depends on a symbol whose final address the output format leaves to the linker. */
  readonly relocatable: boolean;
  /**
   * True when the value involves a label's address (a section-relative value), in every output format
   * including `-f bin`: NASM never shrinks such a field to a sign-extended imm8 or a disp8 (`add eax, lbl`
   * is 05 id and `[ebx+lbl]` takes disp32 even when lbl < 128), whereas `lbl2 - lbl1`, `$ - $$` and plain
   * `equ` numbers are simple values that do shrink. On a relative branch target the front end sets it
   * only for a target in another section (NASM then uses the near form; same-section jumps are
   * optimised). Optional extension: absent means false. Verified with nasm 2.16 -f bin.
   */
  readonly symbolic?: boolean;
}

export interface RegisterOperand {
  readonly kind: 'reg';
  readonly name: RegisterName;
}

export interface ImmediateOperand extends ValueInfo {
  readonly kind: 'imm';
  /** Explicit size keyword (`byte 5`, `dword 5`, `word`), if any. */
  readonly bits?: OperandBits;
  /** `strict` keyword: never optimise the size away. */
  readonly strict?: boolean;
  /** `short` / `near` / `far` keyword on a jump/call target. */
  readonly distance?: 'short' | 'near' | 'far';
}

export interface MemoryOperand extends ValueInfo {
  readonly kind: 'mem';
  /** Explicit size keyword before the brackets (`dword [eax]`). */
  readonly bits?: OperandBits;
  /** Segment override written as `[es:eax]` or `es:[eax]`. */
  readonly segment?: SegmentRegister;
  readonly base?: Reg32 | Reg16;
  readonly index?: Reg32 | Reg16;
  readonly scale: 1 | 2 | 4 | 8;
  /** Explicit displacement size inside the brackets (`[byte eax+1]`, `[dword eax+1]`). */
  readonly displacementBits?: 8 | 16 | 32;
  /** `[nosplit eax*2]`. */
  readonly nosplit?: boolean;
  /** True when the displacement was written at all (`[eax+0]` vs `[eax]` matters only with `strict`/size). */
  readonly hasDisplacement: boolean;
  /** `jmp far [eax]` / `call far [eax]`: an indirect far pointer (m16:32). Optional extension. */
  readonly distance?: 'near' | 'far';
  /** `[rel x]`/`[abs x]` are 64-bit only; kept out. */
}

/** `jmp 0x08:label` / `call far 0x10:0x1234`. */
export interface FarPointerOperand {
  readonly kind: 'far';
  /** `jmp word 0x08:0x1234` (ptr16:16, 66h) / `jmp dword ...`. Optional extension. */
  readonly bits?: 16 | 32;
  readonly segment: ValueInfo;
  readonly offset: ValueInfo;
}

export type Operand = RegisterOperand | ImmediateOperand | MemoryOperand | FarPointerOperand;

/** One instruction as the front end hands it to the encoder. */
export interface InstructionStatement {
  /** Lower-case mnemonic as written, e.g. 'mov', 'rep', 'jnz', 'cmovge', 'movsd'. */
  readonly mnemonic: string;
  /** Lower-case prefixes written before it: lock rep repe repz repne repnz o16 o32 a16 a32, or a segment name. */
  readonly prefixes: readonly string[];
  readonly operands: readonly Operand[];
}

export interface EncodeContext {
  /** `bits 16` or `bits 32`. */
  readonly bits: 16 | 32;
  /** Address of the first byte of this instruction (for relative branches). */
  readonly address: number;
}

/** Where an operand's value landed in the emitted bytes (for relocations and listings). */
export interface EncodedField {
  readonly operandIndex: number;
  /** Which part of a far pointer or memory operand the field holds. */
  readonly part: 'immediate' | 'displacement' | 'segment' | 'relative';
  readonly offset: number;
  readonly size: 1 | 2 | 4;
}

export type EncodeResult =
  | {
    readonly ok: true; readonly bytes: Uint8Array; readonly fields: readonly EncodedField[];
    /** The instruction-table form chosen (INSTRUCTION_FORMS index). Optional extension. */
    readonly formIndex?: number;
  }
  | { readonly ok: false; readonly message: string; readonly operandIndex?: number };
