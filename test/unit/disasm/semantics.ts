// What a decoded instruction means, independent of the encoding NASM or a fuzzer chose: mnemonic, operand
// size, prefixes and operands with immediates reduced to the operand size and memory operands reduced to
// segment + {register: multiplier} + displacement. Two encodings with equal meanings execute alike.

import { statementOf } from '../../../src/emulator/disasm/to-statement';
import { DecodedInstruction, Prefix } from '../../../src/emulator/isa/decoder';
import type { Operand } from '../../../src/emulator/isa/operands';
import { INSTRUCTION_FORMS } from '../../../src/emulator/isa/table';

function operandMeaning(operand: Operand, mask: number, d: DecodedInstruction): string {
  switch (operand.kind) {
    case 'reg': return operand.name;
    case 'imm': return `imm:${(operand.value & mask) >>> 0}`;
    case 'far': return `far:${operand.segment.value}:${operand.offset.value}`;
    case 'mem': {
      const terms = new Map<string, number>();
      if (operand.base !== undefined) terms.set(operand.base, 1);
      if (operand.index !== undefined) terms.set(operand.index, (terms.get(operand.index) ?? 0) + operand.scale);
      const addressMask = d.addressSize === 16 ? 0xffff : 0xffffffff;
      const registers = [...terms].sort().map(([r, m]) => `${r}*${m}`).join('+');
      return `mem${operand.distance ?? ''}:seg${d.segment}:${registers}+${(operand.value & addressMask) >>> 0}`;
    }
  }
}

export function meaningOf(d: DecodedInstruction, address: number): string {
  const form = INSTRUCTION_FORMS[d.formIndex];
  const statement = statementOf(d, address);
  if (form === undefined || statement === undefined) return `fault:${d.fault}`;
  const mask = d.operandSize === 16 ? 0xffff : 0xffffffff;
  const prefixes = d.prefixes & (Prefix.LOCK | Prefix.REP | Prefix.REPNE);
  const operands = statement.operands.map((o) => operandMeaning(o, mask, d));
  // XCHG is symmetric: `xchg di,ax` and `xchg ax,di` are the same instruction; XCHG EAX,EAX is NOP.
  if (form.mnemonic === 'xchg') operands.sort();
  if (form.mnemonic === 'xchg' && d.operandSize === 32 && operands[0] === 'eax' && operands[1] === 'eax') return `nop/32/${prefixes} `;
  return `${form.mnemonic}/${d.operandSize}/${prefixes} ${operands.join(', ')}`;
}
