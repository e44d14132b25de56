// The disassembler: decodes with the ISA decoder and table and prints Intel syntax in NASM's spelling,
// matching `ndisasm -b32` text for the table's subset (prefix words such as `rep`, `lock`, `es`, `o16`
// where ndisasm writes them; undecodable bytes as `db 0x..`). An optional symbolizer names addresses.

import { DecodedInstruction, DecodeFault, decodeInstruction, Prefix } from '../isa/decoder';
import { REGISTER_NAMES } from '../isa/encoder-ea';
import { INSTRUCTION_FORMS } from '../isa/table';
import type { InstructionForm } from '../isa/types';
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

function prefixWords(d: DecodedInstruction, form: InstructionForm): string {
  const words: string[] = [];
  const repeatable = form.category === 'string';
  if (form.mandatoryPrefix !== 0xf3) {
    if ((d.prefixes & Prefix.REP) !== 0) words.push(repeatable && STRING_COMPARES.has(form.mnemonic) ? 'repe' : 'rep');
    if ((d.prefixes & Prefix.REPNE) !== 0) words.push('repne');
  }
  if ((d.prefixes & Prefix.LOCK) !== 0) words.push('lock');
  if (d.segmentOverride >= 0 && !d.hasModrm && !form.operands.some((k) => k === 'Ob' || k === 'Ov')) {
    words.push(REGISTER_NAMES.segment[d.segmentOverride] as string);
  } else if (d.segmentOverride >= 0 && d.hasModrm && !d.isMemory) {
    words.push(REGISTER_NAMES.segment[d.segmentOverride] as string);
  }
  // A 66h that the printed form does not show (PUSH imm8) is written as `o16`.
  if ((d.prefixes & Prefix.OPERAND_SIZE) !== 0 && form.sdm === 'PUSH Ibs') words.push('o16');
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
  const text = `${prefixWords(d, form)}${form.mnemonic}${operands.length === 0 ? '' : ' ' + operands.join(',')}`;
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
