// Reusing an instruction's encoding from an earlier pass or the previous assembly of the document:
// the same operand values give the same bytes; a relative branch that moved with its target keeps its
// bytes; a branch whose target moved, or label-based fields whose values changed, get the new values
// written into the cached bytes when NASM would keep the same form (NASM manual 2.1.23, -Ox).
import type { EncodeResult } from '../isa/operands';
import { mentionsSymbol } from './expressionParser';
import { MIXED_BASE, Value } from './expressions';
import type { OperandValues } from './operandBuilder';
import type { OperandAst } from './parser';

export interface CachedEncoding {
  readonly bits: 16 | 32;
  readonly address: number;
  readonly branch: boolean;
  readonly values: OperandValues[];
  readonly result: EncodeResult;
  readonly symbolFree: boolean;
}

const BRANCHES = new Set(['jmp', 'call', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'jcxz', 'jecxz']);

export function isBranch(mnemonic: string): boolean {
  return mnemonic.charCodeAt(0) === 106 /* j */ || BRANCHES.has(mnemonic);
}

function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.n === b.n && a.base === b.base && a.known === b.known;
}

export function sameValues(a: readonly OperandValues[], b: readonly OperandValues[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) {
    if (!sameValue(a[k]!.main, b[k]!.main) || !sameValue(a[k]!.segment, b[k]!.segment)) return false;
  }
  return true;
}

/**
 * The immediate target of a relative branch, when its cached encoding may be reused or rewritten: known,
 * with the same base as before, and (elf32, `sectionBase` >= 0) a plain number or a label in this
 * section — a target in another section keeps its addend in a relocation and is always re-encoded.
 */
function reusableTarget(cached: CachedEncoding, values: readonly OperandValues[], sectionBase: number): Value | undefined {
  if (values.length !== 1 || cached.values.length !== 1 || values[0]!.segment || cached.values[0]!.segment) return undefined;
  const now = values[0]!.main;
  const then = cached.values[0]!.main;
  if (!now || !then || now.base !== then.base || now.known !== then.known || !now.known) return undefined;
  if (sectionBase >= 0 && now.base !== 0 && now.base !== sectionBase) return undefined;
  return now;
}

/**
 * A relative branch (immediate target) encodes `target - address` only: when both moved by the same
 * amount, the cached bytes still hold.
 */
function sameRelativeBranch(cached: CachedEncoding, address: number, values: readonly OperandValues[], sectionBase: number): boolean {
  const target = reusableTarget(cached, values, sectionBase);
  return target !== undefined && target.n - address === cached.values[0]!.main!.n - cached.address;
}

/**
 * The cached encoding of a relative branch with a new displacement, when NASM would keep the same form:
 * a rel32 that still does not fit rel8 (or a `call`, which has no short form), or a rel8 that still
 * fits. Anything else (a form change, 16-bit displacements, relocatable targets) is re-encoded.
 */
function retargetBranch(cached: CachedEncoding, address: number, values: readonly OperandValues[], sectionBase: number, mnemonic: string): EncodeResult | undefined {
  const result = cached.result;
  if (!result.ok) return undefined;
  const target = reusableTarget(cached, values, sectionBase);
  if (!target || result.fields.length !== 1) return undefined;
  const field = result.fields[0]!;
  if (field.part !== 'relative' || field.offset + field.size !== result.bytes.length) return undefined;
  const relative = target.n - (address + result.bytes.length);
  const fitsShort = relative >= -128 && relative <= 127;
  if (field.size === 1 ? !fitsShort : field.size !== 4 || (fitsShort && mnemonic !== 'call')) return undefined;
  if (field.size === 4 && (relative < -0x80000000 || relative > 0xffffffff)) return undefined;
  const bytes = result.bytes.slice();
  for (let k = 0; k < field.size; k++) bytes[field.offset + k] = (relative >>> (8 * k)) & 0xff;
  return { ...result, bytes };
}

/**
 * The cached encoding with new values written into its fields, when every changed value is label-based
 * (one positive relocation base, known before and after): NASM never sizes such a field by its value
 * (see operandBuilder.ts), so the form stays and only the field bytes change. Otherwise undefined.
 */
function repatchLabelValues(cached: CachedEncoding, values: readonly OperandValues[]): EncodeResult | undefined {
  const result = cached.result;
  if (!result.ok || values.length !== cached.values.length) return undefined;
  let changed = 0;
  for (let k = 0; k < values.length; k++) {
    for (const part of ['main', 'segment'] as const) {
      const now = values[k]![part];
      const then = cached.values[k]![part];
      if (sameValue(now, then)) continue;
      if (!now || !then || !now.known || !then.known || now.base !== then.base || now.base <= 0 || now.base === MIXED_BASE) return undefined;
      changed++;
    }
  }
  if (changed === 0) return undefined;
  const bytes = result.bytes.slice();
  let written = 0;
  for (const field of result.fields) {
    const part = field.part === 'segment' ? 'segment' : 'main';
    const now = values[field.operandIndex]?.[part];
    const then = cached.values[field.operandIndex]?.[part];
    if (sameValue(now, then)) continue;
    if (field.part === 'relative' || !now) return undefined;
    for (let b = 0; b < field.size; b++) bytes[field.offset + b] = Math.floor(now.n / 2 ** (8 * b)) & 0xff;
    written++;
  }
  // Every changed value must have landed in a field of its own (none only steered the form).
  return written === changed ? { ...result, bytes } : undefined;
}

/**
 * The cached encoding adjusted to this pass's operand values without calling the encoder (a branch that
 * moved with its target, a retargeted branch, rewritten label-based fields), or undefined when the
 * statement must be encoded again. The caller has checked that `bits` is unchanged and the values differ
 * (or, for a branch, the address moved).
 */
export function adjustCachedEncoding(
  cached: CachedEncoding, address: number, values: readonly OperandValues[], branch: boolean, immediateTarget: boolean, sectionBase: number, mnemonic: string,
): EncodeResult | undefined {
  if (!branch) return repatchLabelValues(cached, values);
  if (!immediateTarget) return undefined;
  if (sameRelativeBranch(cached, address, values, sectionBase)) return cached.result;
  return retargetBranch(cached, address, values, sectionBase, mnemonic);
}

/** True when an operand's value can change between passes (it names a symbol, `$` or `$$`). */
export function operandMentionsSymbol(op: OperandAst): boolean {
  switch (op.k) {
    case 'reg':
      return false;
    case 'imm':
      return mentionsSymbol(op.expr);
    case 'mem':
      return op.expr !== undefined && mentionsSymbol(op.expr);
    case 'far':
      return mentionsSymbol(op.segment) || mentionsSymbol(op.offset);
  }
}
