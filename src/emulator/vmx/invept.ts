// INVEPT in VMX root operation (Intel SDM Vol. 3C 30.3 "INVEPT", 29.4.3.1 "Operations that invalidate cached
// mappings"): the register operand is the type (1 single-context, 2 all-context), the memory operand a
// 128-bit descriptor whose low quadword is an EPTP. Unsupported types, or a single-context EPTP that fails
// the EPTP format rules (25.6.11), are VMfailValid(28). HyperStep keeps EPT-derived translations only as
// combined mappings in the CPU's TLB; both types drop them (the TLB is also flushed on every VM transition,
// which hardware does not promise: software must still execute INVEPT after changing EPT entries).

import type { Cpu } from '../cpu/cpu';
import { ea } from '../cpu/exec/operands';
import { Vector } from '../cpu/faults';
import type { Insn } from '../cpu/insn';
import { VmInstructionError } from './controls';

/** The unit's state INVEPT touches (VmxUnit implements it). */
export interface InveptTarget {
  readonly inveptCounts: { singleContext: number; allContext: number };
}

/** EPTP format (SDM 25.6.11): memory type UC (0) or WB (6), walk length 4 (bits 5:3 = 3), bits 11:7 and 63:32 zero. */
export function validEptPointer(low: number, high: number): boolean {
  const type = low & 7;
  return (type === 0 || type === 6) && ((low >>> 3) & 7) === 3 && (low & 0xf80) === 0 && high === 0;
}

/** Executes INVEPT; returns 0 (VMsucceed) or the VM-instruction error number. */
export function invept(unit: InveptTarget, cpu: Cpu, insn: Insn): number {
  if (insn.mod === 3) cpu.raise(Vector.UD, -1, 'INVEPT needs a memory operand');
  const type = cpu.s[insn.reg]! >>> 0;
  const offset = ea(cpu, insn);
  const low = cpu.readSized(insn.seg, offset, 4) >>> 0;
  const high = cpu.readSized(insn.seg, (offset + 4) | 0, 4) >>> 0;
  if (type === 1) {
    if (!validEptPointer(low, high)) return VmInstructionError.InvalidInveptOperand;
    unit.inveptCounts.singleContext++;
  } else if (type === 2) {
    unit.inveptCounts.allContext++;
  } else {
    return VmInstructionError.InvalidInveptOperand;
  }
  cpu.mmu.flush(true);
  return 0;
}
