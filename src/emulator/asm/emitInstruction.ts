// Assembling one instruction statement in a pass: operand values from operandBuilder.ts, bytes from the
// encoder (or from the statement's cached encoding when it still holds, encodingReuse.ts), then the
// fields that need a relocation get the addend NASM stores in them (ELF REL, NASM manual 7.9).
import type { EncodeResult } from '../isa/operands';
import type { Assembler } from './assembler';
import { LineOrigin } from './diagnostics';
import { addRelocation, checkOverflow } from './emitData';
import { adjustCachedEncoding, isBranch, operandMentionsSymbol, sameValues } from './encodingReuse';
import { buildOperands, OperandValues } from './operandBuilder';
import { Body } from './parser';

/**
 * Encodings are cached per statement across passes (Assembler.encodeCache): an instruction whose
 * operands mention no symbol is encoded once; others are re-encoded only when an operand value (or, for
 * branches, the address) changed. Most of a large program is stable after pass 1, so later passes cost little.
 */
export function emitInstruction(asm: Assembler, body: Extract<Body, { k: 'insn' }>, origin: LineOrigin): void {
  if (!asm.outputAllowed(origin, body.start, body.end)) return;
  const k = asm.statementIndex;
  const cached = asm.encodeCache[k];
  // Where this copy of the instruction lands (under `times` not `$`, which is the start of the line).
  const address = asm.cursor();
  let result: EncodeResult;
  let values: OperandValues[];
  if (cached && cached.symbolFree && cached.bits === asm.bits && (!cached.branch || cached.address === address)) {
    result = cached.result;
    values = cached.values;
  } else {
    const built = buildOperands(asm, body, origin);
    if (!built) return;
    values = built.values;
    const branch = isBranch(body.mnemonic);
    let adjusted: EncodeResult | undefined;
    if (cached && cached.bits === asm.bits && (!branch || cached.address === address) && sameValues(cached.values, values)) {
      result = cached.result;
    } else if (cached && cached.bits === asm.bits && (adjusted = adjustCachedEncoding(cached, address, values, branch, body.operands[0]?.k === 'imm', asm.format === 'bin' ? -1 : asm.current.index + 1, body.mnemonic)) !== undefined) {
      result = adjusted;
      asm.encodeCache[k] = { bits: asm.bits, address, branch, values, result, symbolFree: cached.symbolFree };
    } else {
      try {
        result = asm.encode({ mnemonic: body.mnemonic, prefixes: body.prefixes, operands: built.operands }, { bits: asm.bits, address });
      } catch (e) {
        result = { ok: false, message: `internal encoder error: ${e instanceof Error ? e.message : String(e)}` };
      }
      asm.encodeCache[k] = { bits: asm.bits, address, branch, values, result, symbolFree: cached?.symbolFree ?? !body.operands.some(operandMentionsSymbol) };
    }
  }
  if (!result.ok) {
    const op = result.operandIndex !== undefined ? body.operands[result.operandIndex] : undefined;
    asm.error(origin, op ? op.start : body.start, op ? op.end : body.end, result.message);
    return;
  }
  writeEncoding(asm, body, origin, result, values);
}

/** Stores the bytes; relocatable fields get the addend NASM stores (REL relocations keep it in the field). */
function writeEncoding(asm: Assembler, body: Extract<Body, { k: 'insn' }>, origin: LineOrigin, result: Extract<EncodeResult, { ok: true }>, values: readonly OperandValues[]): void {
  const fieldStart = asm.current.size;
  const bytes = result.bytes;
  const length = bytes.length;
  let patched: Uint8Array | undefined;
  for (const field of result.fields) {
    const value = values[field.operandIndex]?.[field.part === 'segment' ? 'segment' : 'main'];
    if (!value) continue;
    const sameSectionRelative = field.part === 'relative' && value.base === asm.current.index + 1;
    // bin: values are final; NASM checks overflow only for plain numbers, not label-based fields.
    if (value.base === 0 || sameSectionRelative || asm.format === 'bin') {
      if (field.part !== 'relative' && value.base === 0 && value.known && field.size < 4) checkOverflow(asm, value.n, field.size, origin, body.start, body.end, 'field');
      continue;
    }
    patched ??= bytes.slice();
    const fieldValue = field.part === 'relative' ? value.n - (length - field.offset) : value.n;
    for (let k = 0; k < field.size; k++) patched[field.offset + k] = Math.floor(fieldValue / 2 ** (8 * k)) & 0xff;
    addRelocation(asm, value, fieldStart + field.offset, field.size, field.part === 'relative', origin, body.start, body.end);
  }
  asm.current.writeBytes(patched ?? bytes);
}
