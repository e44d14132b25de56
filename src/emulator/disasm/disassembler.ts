// The disassembler: decodes with the ISA decoder and table and prints Intel syntax in NASM's spelling,
// matching `ndisasm -b32` text for the table's subset (prefix words such as `rep`, `lock`, `es`, `o16`
// where ndisasm writes them; undecodable bytes as `db 0x..`). An optional symbolizer names addresses.

import { DecodedInstruction, DecodeFault, decodeInstruction, Prefix } from '../isa/decoder';
import { REGISTER_NAMES } from '../isa/encoder-ea';
import { INSTRUCTION_FORMS } from '../isa/table';
import type { InstructionForm, OperandKind } from '../isa/types';
import { formatOperand, hex, type Symbolizer } from './format-operands';

export type { Symbolizer } from './format-operands';

export interface DisassembleOptions {
  /** Default operand/address size of the code segment (32 unless told otherwise). */
  readonly bits?: 16 | 32;
  /** Returns a name for an address (branch targets, absolute memory addresses), or undefined. */
  readonly symbolize?: Symbolizer;
}

export interface DisassembledInstruction {
  readonly address: number;
  readonly length: number;
  /** Intel-syntax text as ndisasm prints it, e.g. `add dword [eax],byte +0x5`. */
  readonly text: string;
  /** INSTRUCTION_FORMS index, or -1 for `db` bytes. */
  readonly formIndex: number;
  /** DecodeFault value (None for a valid instruction). */
  readonly fault: number;
}

const STRING_COMPARES = new Set(['cmpsb', 'cmpsw', 'cmpsd', 'scasb', 'scasw', 'scasd']);
/** Operand kinds whose text shows the operand size (so a 66h prefix needs no `o16`). */
const SIZED_OPERANDS: ReadonlySet<OperandKind> = new Set<OperandKind>(['Ev', 'Gv', 'Zv', 'eAX', 'Iz', 'Ov', 'Jz', 'Ap', 'Mp', 'Rv']);
/** MOV stores that take XRELEASE without LOCK. */
const RELEASE_STORES = new Set(['MOV Eb,Gb', 'MOV Ev,Gv', 'MOV Eb,Ib', 'MOV Ev,Iz']);
/** Near branches that take the BND prefix (MPX): Jcc, JMP rel32/indirect, CALL, RET; not JMP rel8. */
function isBndBranch(form: InstructionForm): boolean {
  if (form.category !== 'control') return false;
  if (/^(JMP Jz|JMP Ev|CALL Jz|CALL Ev|RET|RET Iw)$/.test(form.sdm)) return true;
  return form.mnemonic.startsWith('j') && form.mnemonic !== 'jmp' && form.mnemonic !== 'jecxz';
}
/** RET/RETF with 66h print as `retw`/`retfw`. */
const RET_FORMS = new Set(['RET', 'RET Iw', 'RETF', 'RETF Iw']);

function prefixWords(d: DecodedInstruction, form: InstructionForm): string {
  const words: string[] = [];
  const repeatable = form.category === 'string';
  // A segment override with no memory operand to carry it is written first (`es movsb`, `fs rep ...`).
  if (d.segmentOverride >= 0 && !d.isMemory) words.push(REGISTER_NAMES.segment[d.segmentOverride] as string);
  // F2/F3 on non-string instructions are named as ndisasm names their later meanings: BND on branches,
  // XACQUIRE/XRELEASE on locked or store forms (Intel SDM Vol. 1, 16.3 HLE; MPX).
  const locked = (d.prefixes & Prefix.LOCK) !== 0 || (form.mnemonic === 'xchg' && d.isMemory);
  if (form.mandatoryPrefix !== 0xf3) {
    if ((d.prefixes & Prefix.REP) !== 0) {
      words.push(repeatable ? (STRING_COMPARES.has(form.mnemonic) ? 'repe' : 'rep') :
        locked || (RELEASE_STORES.has(form.sdm) && (d.isMemory || form.opcode >= 0xc6)) ? 'xrelease' : 'rep');
    }
    if ((d.prefixes & Prefix.REPNE) !== 0) {
      words.push(repeatable ? 'repne' : isBndBranch(form) ? 'bnd' :
        locked ? 'xacquire' : 'repne');
    }
  }
  if ((d.prefixes & Prefix.LOCK) !== 0) words.push('lock');
  // A 66h/67h that nothing printed shows is written as `o16`/`a16`, as ndisasm does.
  const segmentMemory = d.isMemory && form.operands.includes('Sw');
  if ((d.prefixes & Prefix.OPERAND_SIZE) !== 0 && form.mandatoryPrefix !== 0x66 && form.operandSize === 0 &&
    (segmentMemory || !form.operands.some((k) => SIZED_OPERANDS.has(k))) && !RET_FORMS.has(form.sdm)) {
    words.push(d.operandSize === 16 ? 'o16' : 'o32');
  }
  // ndisasm shows an unused 67h only on operand-less instructions (`a16 movsb`, `a16 cld`).
  if ((d.prefixes & Prefix.ADDRESS_SIZE) !== 0 && form.operands.length === 0) words.push(d.addressSize === 16 ? 'a16' : 'a32');
  return words.length === 0 ? '' : `${words.join(' ')} `;
}

/** Disassembles one instruction at `bytes[offset]`, located at guest address `address`. */
export function disassembleOne(
  bytes: Uint8Array, offset: number, address: number, options: DisassembleOptions = {},
  scratch: DecodedInstruction = new DecodedInstruction(),
): DisassembledInstruction {
  const d = decodeInstruction(bytes, offset, bytes.length, options.bits ?? 32, scratch);
  const form = INSTRUCTION_FORMS[d.formIndex];
  if (form === undefined || (d.fault !== DecodeFault.None && !(d.fault === DecodeFault.InvalidOpcode && d.formIndex >= 0))) {
    const byte = bytes[offset] ?? 0;
    return { address, length: 1, text: `db ${hex(byte)}`, formIndex: -1, fault: d.fault };
  }
  const operands = form.operands.map((_, i) => formatOperand(d, form, i, address, options.symbolize));
  // ndisasm reads 67 90 as the old one-byte XCHG EAX,EAX rather than NOP.
  if (form.sdm === 'NOP' && (d.prefixes & Prefix.ADDRESS_SIZE) !== 0 && d.prefixes === Prefix.ADDRESS_SIZE) {
    return { address, length: d.length, text: 'xchg eax,eax', formIndex: form.index, fault: d.fault };
  }
  let mnemonic = form.mnemonic;
  if (RET_FORMS.has(form.sdm) && d.operandSize === 16) mnemonic = form.sdm === 'RET Iw' ? 'retnw' : `${form.mnemonic}w`;
  else if (form.mnemonic === 'jecxz' && d.addressSize === 16) mnemonic = 'jcxz';
  const text = `${prefixWords(d, form)}${mnemonic}${operands.length === 0 ? '' : ' ' + operands.join(',')}`;
  return { address, length: d.length, text, formIndex: form.index, fault: d.fault };
}

/** Disassembles a whole buffer starting at guest address `address` (bytes that do not decode become `db`). */
export function disassemble(bytes: Uint8Array, address = 0, options: DisassembleOptions = {}): DisassembledInstruction[] {
  const result: DisassembledInstruction[] = [];
  const scratch = new DecodedInstruction();
  let offset = 0;
  while (offset < bytes.length) {
    const instruction = disassembleOne(bytes, offset, address + offset, options, scratch);
    result.push(instruction);
    offset += instruction.length;
  }
  return result;
}
