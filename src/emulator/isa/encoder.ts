// The encoder: an InstructionStatement (operands.ts, from the assembler front end) → the bytes NASM 2.16
// emits at its default optimisation (-Ox). Form choice follows the table's row order (NASM's insns.dat
// preference), jumps get the shortest displacement that reaches (NASM is optimistic about unknown targets
// in early passes), and prefixes are emitted in NASM's order: F2/F3, F0, segment, 66h, 67h, then any
// mandatory prefix and the opcode (verified against nasm by test/unit/isa). Errors are returned, not thrown.

import { encodeAddress, registerInfo, type EncodedAddress } from './encoder-ea';
import { matchForm, type FormMatch, type MismatchReason } from './encoder-match';
import type {
  EncodeContext, EncodedField, EncodeResult, FarPointerOperand, ImmediateOperand, InstructionStatement,
  MemoryOperand, Operand,
} from './operands';
import { canonicalMnemonic, FORMS_BY_MNEMONIC } from './table';
import type { InstructionForm } from './types';

const SEGMENT_PREFIX: Readonly<Record<string, number>> = { es: 0x26, cs: 0x2e, ss: 0x36, ds: 0x3e, fs: 0x64, gs: 0x65 };

const MODE_SIZED_16: Readonly<Record<string, string>> = {
  pusha: 'pushaw', popa: 'popaw', pushf: 'pushfw', popf: 'popfw', iret: 'iretw',
};

const MISMATCH_MESSAGES: Readonly<Record<MismatchReason, string>> = {
  'combination': 'invalid combination of opcode and operands',
  'size-unspecified': 'operation size not specified',
  'size-mismatch': 'mismatch in operand sizes',
};

interface StatementPrefixes {
  repeat: number;
  lock: boolean;
  segment: number;
  operandSize: 0 | 16 | 32;
  addressSize: 0 | 16 | 32;
}

function parsePrefixes(prefixes: readonly string[]): StatementPrefixes | string {
  const parsed: StatementPrefixes = { repeat: 0, lock: false, segment: 0, operandSize: 0, addressSize: 0 };
  for (const raw of prefixes) {
    const prefix = raw.toLowerCase();
    if (prefix === 'lock') parsed.lock = true;
    else if (prefix === 'rep' || prefix === 'repe' || prefix === 'repz') parsed.repeat = 0xf3;
    else if (prefix === 'repne' || prefix === 'repnz') parsed.repeat = 0xf2;
    else if (prefix === 'o16') parsed.operandSize = 16;
    else if (prefix === 'o32') parsed.operandSize = 32;
    else if (prefix === 'a16') parsed.addressSize = 16;
    else if (prefix === 'a32') parsed.addressSize = 32;
    else if (SEGMENT_PREFIX[prefix] !== undefined) parsed.segment = SEGMENT_PREFIX[prefix] as number;
    else return `unknown prefix '${raw}'`;
  }
  return parsed;
}

/** IMUL r, imm is IMUL r, r, imm (NASM manual B.4.120); returns operands and their source indexes. */
function normalizeOperands(mnemonic: string, operands: readonly Operand[]): { operands: Operand[]; sources: number[] } {
  if (mnemonic === 'imul' && operands.length === 2 && operands[1]?.kind === 'imm' && operands[0]?.kind === 'reg') {
    return { operands: [operands[0], operands[0], operands[1]], sources: [0, 0, 1] };
  }
  return { operands: [...operands], sources: operands.map((_, i) => i) };
}

function hasJump(form: InstructionForm): boolean {
  return form.operands[0] === 'Jb' || form.operands[0] === 'Jz';
}

class ByteWriter {
  /** No instruction is longer than 15 bytes; room for malformed input too. */
  private readonly buffer = new Uint8Array(32);
  length = 0;
  readonly fields: EncodedField[] = [];
  push(value: number): void { this.buffer[this.length++] = value; }
  value(value: number, size: 1 | 2 | 4, operandIndex: number, part: EncodedField['part']): void {
    this.fields.push({ operandIndex, part, offset: this.length, size });
    // `>>>` takes the value modulo 2^32 first, so negative values come out as two's complement.
    for (let i = 0; i < size; i++) this.buffer[this.length++] = (value >>> (8 * i)) & 0xff;
  }
  bytes(): Uint8Array { return this.buffer.slice(0, this.length); }
}

function memoryOf(match: FormMatch): { operand: MemoryOperand; position: number } | undefined {
  const position = match.operands.findIndex((o) => o.kind === 'mem');
  return position < 0 ? undefined : { operand: match.operands[position] as MemoryOperand, position };
}

/** Encodes a matched form. `jumpSize` is the relative field size for Jb/Jz forms. */
function emit(
  match: FormMatch, sources: readonly number[], prefixes: StatementPrefixes, ctx: EncodeContext,
): { writer: ByteWriter } | { error: string } {
  const { form } = match;
  const writer = new ByteWriter();
  const memory = memoryOf(match);
  let address: EncodedAddress | undefined;
  let addressBits: 16 | 32 = prefixes.addressSize !== 0 ? prefixes.addressSize : ctx.bits;
  if (memory !== undefined) {
    const { operand } = memory;
    // The registers of the address decide its size; a bare displacement follows a16/a32 or the mode.
    const registerBits = [operand.base, operand.index].map((r) => (r === undefined ? 0 : registerInfo(r)?.bits ?? 0));
    if (registerBits.includes(16)) addressBits = 16;
    else if (registerBits.includes(32)) addressBits = 32;
    else if (operand.displacementBits === 16 || operand.displacementBits === 32) addressBits = operand.displacementBits;
    if (form.operands[memory.position] !== 'Ob' && form.operands[memory.position] !== 'Ov') {
      const result = encodeAddress(operand, addressBits);
      if ('error' in result) return { error: result.error };
      address = result;
    }
  }
  // Legacy prefixes in NASM's order.
  if (prefixes.repeat !== 0) writer.push(prefixes.repeat);
  if (prefixes.lock) writer.push(0xf0);
  if (prefixes.segment !== 0) writer.push(prefixes.segment);
  if (memory?.operand.segment !== undefined) writer.push(SEGMENT_PREFIX[memory.operand.segment] as number);
  // MOV Sreg, r/m never takes 66h in NASM; NOP's size constraint only separates it from `xchg ax,ax`.
  const wantsSize = match.operandSize !== 8 && match.operandSize !== ctx.bits && form.sdm !== 'MOV Sw,Ev' &&
    form.sdm !== 'NOP';
  if (wantsSize || (prefixes.operandSize !== 0 && prefixes.operandSize !== ctx.bits)) writer.push(0x66);
  // JECXZ tests ECX: in 16-bit code that needs the address-size prefix (JCXZ is the 16-bit form).
  if (addressBits !== ctx.bits || (form.mnemonic === 'jecxz' && ctx.bits === 16)) writer.push(0x67);
  if (form.mandatoryPrefix !== 0) writer.push(form.mandatoryPrefix);
  if (form.map >= 1) writer.push(0x0f);
  if (form.map === 2) writer.push(0x38);
  // Opcode, with a register in its low bits for Zb/Zv forms.
  const zPosition = form.operands.findIndex((k) => k === 'Zb' || k === 'Zv');
  const zOperand = match.operands[zPosition];
  const zNumber = zOperand?.kind === 'reg' ? (registerInfo(zOperand.name)?.number ?? 0) : 0;
  writer.push(form.opcode + zNumber);
  if (form.hasModrm) {
    let reg = form.modrmReg >= 0 ? form.modrmReg : 0;
    let rmRegister = -1;
    form.operands.forEach((kind, i) => {
      const operand = match.operands[i];
      if (operand?.kind !== 'reg') return;
      const number = registerInfo(operand.name)?.number ?? 0;
      if (kind[0] === 'G' || kind === 'Sw' || kind === 'Cd' || kind === 'Dd') reg = number;
      else if (kind[0] === 'E' || kind[0] === 'R') rmRegister = number;
    });
    if (form.modrmRm >= 0) writer.push(0xc0 | reg << 3 | form.modrmRm);
    else if (address !== undefined && memory !== undefined) {
      writer.push(address.modrm | reg << 3);
      if (address.sib >= 0) writer.push(address.sib);
      if (address.displacementSize !== 0) {
        writer.value(address.displacement, address.displacementSize, sources[match.sourceIndex[memory.position] as number] as number, 'displacement');
      }
    } else writer.push(0xc0 | reg << 3 | (rmRegister < 0 ? 0 : rmRegister));
  }
  // Value fields after ModRM/SIB/displacement, in operand order.
  const instructionLength = writer.length + valueBytesAfter(match, addressBits);
  form.operands.forEach((kind, i) => {
    const operand = match.operands[i] as Operand;
    // Statement operand behind form operand i (xchg/test may match with their operands swapped).
    const operandIndex = sources[match.sourceIndex[i] as number] as number;
    if (kind === 'Ob' || kind === 'Ov') {
      const value = (operand as MemoryOperand).value;
      writer.value(value, addressBits === 16 ? 2 : 4, operandIndex, 'displacement');
    } else if (kind === 'Ib' || kind === 'Ibs') {
      writer.value((operand as ImmediateOperand).value, 1, operandIndex, 'immediate');
    } else if (kind === 'Iw') {
      writer.value((operand as ImmediateOperand).value, 2, operandIndex, 'immediate');
    } else if (kind === 'Iz') {
      writer.value((operand as ImmediateOperand).value, match.operandSize === 16 ? 2 : 4, operandIndex, 'immediate');
    } else if (kind === 'Jb' || kind === 'Jz') {
      const target = operand as ImmediateOperand;
      const size = kind === 'Jb' ? 1 : match.operandSize === 16 ? 2 : 4;
      const relative = target.relocatable ? target.value : target.value - (ctx.address + instructionLength);
      writer.value(relative, size, operandIndex, 'relative');
    } else if (kind === 'Ap') {
      const far = operand as FarPointerOperand;
      writer.value(far.offset.value, match.operandSize === 16 ? 2 : 4, operandIndex, 'immediate');
      writer.value(far.segment.value, 2, operandIndex, 'segment');
    }
  });
  return { writer };
}

function valueBytesAfter(match: FormMatch, addressBits: 16 | 32): number {
  let total = 0;
  for (const kind of match.form.operands) {
    if (kind === 'Ib' || kind === 'Ibs' || kind === 'Jb') total += 1;
    else if (kind === 'Iw') total += 2;
    else if (kind === 'Iz' || kind === 'Jz') total += match.operandSize === 16 ? 2 : 4;
    else if (kind === 'Ap') total += match.operandSize === 16 ? 4 : 6;
    else if (kind === 'Ob' || kind === 'Ov') total += addressBits === 16 ? 2 : 4;
  }
  return total;
}

function relativeFits(match: FormMatch, length: number, ctx: EncodeContext): boolean {
  const target = match.operands[0] as ImmediateOperand;
  const relative = target.value - (ctx.address + length);
  return relative >= -128 && relative <= 127;
}

function encodeUnchecked(stmt: InstructionStatement, ctx: EncodeContext): EncodeResult {
  // In 16-bit code the unsuffixed PUSHA/POPA/PUSHF/POPF/IRET are the 16-bit forms (NASM manual B.4).
  const spelled = stmt.mnemonic.toLowerCase();
  const mnemonic = ctx.bits === 16 && MODE_SIZED_16[spelled] !== undefined ? MODE_SIZED_16[spelled] : canonicalMnemonic(spelled);
  if (mnemonic === undefined) return { ok: false, message: 'parser: instruction expected' };
  const prefixes = parsePrefixes(stmt.prefixes);
  if (typeof prefixes === 'string') return { ok: false, message: prefixes };
  const { operands, sources } = normalizeOperands(mnemonic, stmt.operands);
  const forms = FORMS_BY_MNEMONIC.get(mnemonic) ?? [];
  // `o16`/`o32` set the operand size when no operand does (`o16 push 5`, `o16 call 0x8:0x10`).
  const defaultSize = prefixes.operandSize !== 0 ? prefixes.operandSize : ctx.bits;
  let reason: MismatchReason = 'combination';
  let shortOutOfRange = false;
  const rank: Record<MismatchReason, number> = { 'combination': 0, 'size-mismatch': 1, 'size-unspecified': 2 };
  const consider = (match: FormMatch): EncodeResult | undefined => {
    const emitted = emit(match, sources, prefixes, ctx);
    if ('error' in emitted) return { ok: false, message: emitted.error };
    const { writer } = emitted;
    if (match.form.operands[0] === 'Jb') {
      const target = match.operands[0] as ImmediateOperand;
      const forcedShort = target.distance === 'short';
      // `near`, or a `word`/`dword` size on the target (`jmp dword label`), asks for the rel16/32 form.
      if (target.distance === 'near' || target.bits === 16 || target.bits === 32 ||
        (target.strict && !forcedShort && target.bits !== 8)) return undefined;
      if (target.known && !target.relocatable && !relativeFits(match, writer.length, ctx)) {
        if (forcedShort) return { ok: false, message: 'short jump is out of range' };
        shortOutOfRange = true;
        return undefined;
      }
      // A target in another section (relocatable in elf32, `symbolic` in bin) never gets the short form.
      if ((target.relocatable || target.symbolic === true) && !forcedShort) return undefined;
    } else if (hasJump(match.form) && (match.operands[0] as ImmediateOperand).distance === 'short') {
      return undefined;
    }
    return { ok: true, bytes: writer.bytes(), fields: writer.fields, formIndex: match.form.index };
  };
  for (const form of forms) {
    const match = matchForm(form, operands, defaultSize);
    if (typeof match === 'string') {
      if (rank[match] > rank[reason]) reason = match;
      continue;
    }
    const result = consider(match);
    if (result !== undefined) return result;
  }
  if (shortOutOfRange) return { ok: false, message: 'short jump is out of range' };
  if (reason === 'size-unspecified') {
    // NASM accepts an unsized memory operand when only one form could take it (`setz [eax]`).
    const candidates = forms.map((form) => matchForm(form, operands, defaultSize, true))
      .filter((m) => m === 'size-unspecified' || typeof m !== 'string');
    const only = candidates[0];
    if (candidates.length === 1 && only !== undefined && typeof only !== 'string') {
      const result = consider(only);
      if (result !== undefined) return result;
    }
  }
  return { ok: false, message: MISMATCH_MESSAGES[reason] };
}

/** Encodes one instruction as NASM would. Never throws: failures are `{ ok: false, message }`. */
export function encodeInstruction(stmt: InstructionStatement, ctx: EncodeContext): EncodeResult {
  try {
    return encodeUnchecked(stmt, ctx);
  } catch (error) {
    return { ok: false, message: `internal encoder error: ${error instanceof Error ? error.message : String(error)}` };
  }
}
