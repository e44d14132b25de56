// Turns parsed operands into the encoder contract (src/emulator/isa/operands.ts): evaluates immediates
// and displacements and splits effective addresses into base/index/scale the way NASM's parser does
// (first unscaled register is the base; `reg*1` is an index; `[eax*2]` → `[eax+eax]`, `[eax*3]` →
// `[eax+eax*2]`; ESP is never an index). NASM manual 3.3 (effective addresses).
import type { MemoryOperand, Operand, Reg16, Reg32, RegisterName } from '../isa/operands';
import type { Assembler } from './assembler';
import { LineOrigin } from './diagnostics';
import { MIXED_BASE, RegisterTerm, Value } from './expressions';
import { Body, OperandAst } from './parser';

export interface OperandValues {
  main?: Value;
  segment?: Value;
}

const REG32 = new Set(['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi']);
const REG16_ADDRESS = new Set(['bx', 'bp', 'si', 'di']);

export function buildOperands(asm: Assembler, body: Extract<Body, { k: 'insn' }>, origin: LineOrigin): { operands: Operand[]; values: OperandValues[] } | undefined {
  const operands: Operand[] = [];
  const values: OperandValues[] = [];
  const branch = RELATIVE_BRANCHES.has(body.mnemonic) || body.mnemonic.startsWith('j');
  for (const ast of body.operands) {
    const built = buildOperand(asm, ast, origin, branch);
    if (!built) return undefined;
    operands.push(built.operand);
    values.push(built.values);
  }
  return { operands, values };
}

/** Mnemonics whose immediate operand is a branch target encoded relative to the next instruction. */
const RELATIVE_BRANCHES = new Set(['call', 'loop', 'loope', 'loopz', 'loopne', 'loopnz', 'jcxz', 'jecxz']);

function relocatable(asm: Assembler, v: Value): boolean {
  return asm.format === 'elf32' && v.base !== 0;
}

/**
 * NASM keeps a label-based value (a label, `$`, `$$`, or an equ of one; not a difference of two labels
 * of one section) at full width in every output format, bin included: `add eax, lbl` is 05 id even when
 * lbl < 128 (verified against nasm 2.16 -f bin by test/corpus/asm/symbolic*.asm).
 */
function symbolic(v: Value): boolean {
  return v.base !== 0;
}

/**
 * Displacements follow the same rule except for a negated label (`[ebx+4-lbl]`): NASM 2.16 treats that
 * as a self-relative term and still picks disp8 when the number fits (verified with nasm -f bin).
 */
function symbolicDisplacement(v: Value): boolean {
  return v.base > 0 || v.base === MIXED_BASE;
}

function buildOperand(asm: Assembler, ast: OperandAst, origin: LineOrigin, branch: boolean): { operand: Operand; values: OperandValues } | undefined {
  switch (ast.k) {
    case 'reg':
      return { operand: { kind: 'reg', name: ast.name as RegisterName }, values: {} };
    case 'imm': {
      const v = asm.evaluate(ast.expr, origin);
      if (!v) return undefined;
      return {
        operand: {
          kind: 'imm',
          value: v.n,
          known: v.known,
          // A branch to a label of the same section is resolved here; anything else needs the linker.
          relocatable: relocatable(asm, v) && !(branch && ast.distance !== 'far' && v.base === asm.current.index + 1),
          // A branch target only counts as label-based when it lies in another section (then NASM
          // never picks the short form, in bin as in elf32); same-section branches are optimised.
          symbolic: branch ? symbolic(v) && v.base !== asm.current.index + 1 : symbolic(v),
          ...(ast.bits !== undefined ? { bits: ast.bits } : {}),
          ...(ast.strict ? { strict: true } : {}),
          ...(ast.distance === 'far' || ast.distance === 'near' ? { distance: ast.distance } : {}),
        },
        values: { main: v },
      };
    }
    case 'far': {
      const seg = asm.evaluate(ast.segment, origin);
      const off = asm.evaluate(ast.offset, origin);
      if (!seg || !off) return undefined;
      return {
        operand: {
          kind: 'far',
          ...(ast.bits !== undefined ? { bits: ast.bits } : {}),
          segment: { value: seg.n, known: seg.known, relocatable: relocatable(asm, seg), symbolic: symbolic(seg) },
          offset: { value: off.n, known: off.known, relocatable: relocatable(asm, off), symbolic: symbolic(off) },
        },
        values: { main: off, segment: seg },
      };
    }
    case 'mem':
      return buildMemory(asm, ast, origin);
  }
}

function buildMemory(asm: Assembler, ast: Extract<OperandAst, { k: 'mem' }>, origin: LineOrigin): { operand: Operand; values: OperandValues } | undefined {
  const terms: RegisterTerm[] = [];
  let v: Value = { n: 0, base: 0, known: true };
  if (ast.expr) {
    const r = asm.evaluate(ast.expr, origin, terms);
    if (!r) return undefined;
    v = r;
  }
  // Merge repeated registers (`[eax+eax]` is eax*2).
  const merged: RegisterTerm[] = [];
  for (const t of terms) {
    const same = merged.find((m) => m.reg === t.reg);
    if (same) {
      same.scale += t.scale;
      same.multiplied = true;
    } else merged.push({ ...t });
  }
  const live = merged.filter((t) => t.scale !== 0);
  const fail = (message: string): undefined => {
    asm.error(origin, ast.start, ast.end, message);
    return undefined;
  };
  if (live.length > 2) return fail('invalid effective address');
  let base: string | undefined;
  let index: string | undefined;
  let scale = 1;
  for (const t of live) {
    if (!REG32.has(t.reg) && !REG16_ADDRESS.has(t.reg)) return fail('invalid effective address');
    if (t.scale === 1 && !t.multiplied && base === undefined) base = t.reg;
    else if (index === undefined) {
      index = t.reg;
      scale = t.scale;
    } else if (base === undefined && t.scale === 1) base = t.reg;
    else return fail('invalid effective address');
  }
  if (index !== undefined && base === undefined && scale === 1) {
    // `[eax*1]` alone: NASM encodes it as a base register.
    if (!ast.nosplit) {
      base = index;
      index = undefined;
    }
  }
  if (index !== undefined && base === undefined && (scale === 3 || scale === 5 || scale === 9)) {
    base = index;
    scale -= 1;
  }
  if (index !== undefined && base === undefined && scale === 2 && !ast.nosplit) {
    base = index;
    scale = 1;
  }
  if (![1, 2, 4, 8].includes(scale)) return fail('invalid effective address');
  if (index === 'esp') {
    if (scale !== 1 || base === 'esp') return fail('invalid effective address');
    [base, index] = [index, base];
  }
  const is16 = (base !== undefined && REG16_ADDRESS.has(base)) || (index !== undefined && REG16_ADDRESS.has(index));
  if (is16) {
    if ((base !== undefined && !REG16_ADDRESS.has(base)) || (index !== undefined && !REG16_ADDRESS.has(index)) || scale !== 1) return fail('invalid effective address');
    // 16-bit addressing: BX/BP are bases, SI/DI indexes, whichever order they were written in.
    if (base !== undefined && (base === 'si' || base === 'di') && (index === undefined || index === 'bx' || index === 'bp')) [base, index] = [index, base];
  }
  // `distance` is read by the encoder for `jmp/call far [mem]` (beyond the operands.ts contract).
  const operand: MemoryOperand & { readonly distance?: 'near' | 'far' } = {
    kind: 'mem',
    value: v.n,
    known: v.known,
    relocatable: relocatable(asm, v),
    symbolic: symbolicDisplacement(v),
    scale: scale as 1 | 2 | 4 | 8,
    hasDisplacement: ast.expr !== undefined && (live.length === 0 || hasConstantTerm(ast.expr)),
    ...(base !== undefined ? { base: base as Reg32 | Reg16 } : {}),
    ...(index !== undefined ? { index: index as Reg32 | Reg16 } : {}),
    ...(ast.bits !== undefined ? { bits: ast.bits } : {}),
    ...(ast.segment ? { segment: ast.segment } : {}),
    ...(ast.displacementBits !== undefined ? { displacementBits: ast.displacementBits } : {}),
    ...(ast.nosplit ? { nosplit: true } : {}),
    ...(ast.distance === 'far' || ast.distance === 'near' ? { distance: ast.distance } : {}),
  };
  return { operand, values: { main: v } };
}

/** Whether an address expression has a non-register term (`[eax+0]` has one, `[eax]` has none). */
function hasConstantTerm(node: NonNullable<Extract<OperandAst, { k: 'mem' }>['expr']>): boolean {
  switch (node.t) {
    case 'reg':
      return false;
    case 'binary':
      if (node.op === '*') return !containsRegister(node);
      return hasConstantTerm(node.left) || hasConstantTerm(node.right);
    case 'unary':
      return hasConstantTerm(node.arg);
    default:
      return true;
  }
}

function containsRegister(node: NonNullable<Extract<OperandAst, { k: 'mem' }>['expr']>): boolean {
  switch (node.t) {
    case 'reg':
      return true;
    case 'binary':
      return containsRegister(node.left) || containsRegister(node.right);
    case 'unary':
      return containsRegister(node.arg);
    default:
      return false;
  }
}
