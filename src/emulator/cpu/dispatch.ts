// Chooses an instruction's handler once, at decode time, from the shared table's form: VMX forms go to
// the VMX hook, everything else to the dense (opcode, ModRM.reg) table filled by exec/*.ts. A form the
// table lists but the executor lacks is reported as #UD with a reason (never silently ignored).

import { INSTRUCTION_FORMS } from '../isa/table';
import type { InstructionForm } from '../isa/types';
import type { Cpu } from './cpu';
import { registerAlu } from './exec/alu';
import { registerControl } from './exec/control';
import { registerData } from './exec/data';
import { registerShifts } from './exec/shifts';
import { registerStrings } from './exec/strings';
import { registerSystem, vmxInstruction } from './exec/system';
import { define, FAST_REG32, HANDLERS } from './exec/registry';
import { Vector } from './faults';
import type { Handler, Insn } from './insn';

registerAlu(define);
registerShifts(define);
registerData(define);
registerControl(define);
registerStrings(define);
registerSystem(define);

/** Bytes the table does not list: #UD (SDM Vol. 3A 6.15 interrupt 6). */
export const undefinedOpcode: Handler = (cpu: Cpu) => {
  cpu.raise(Vector.UD, -1, 'undefined opcode');
};

const notImplemented: Handler = (cpu: Cpu) => {
  cpu.raise(Vector.UD, -1, 'instruction form listed in the table but not implemented by the CPU');
};

/** VMX non-root operation: the VMX unit decides (exit, done, or run the ordinary handler). See vmxHooks.ts. */
export const nonRootHandler: Handler = (cpu: Cpu, insn: Insn) => {
  const decision = cpu.vmx === null ? 'run' : cpu.vmx.instructionExits(cpu, insn);
  if (decision === 'exit') throw cpu.hookStop; // the VM exit replaced the state; abort without delivering anything
  if (decision === 'run') handlerFor(INSTRUCTION_FORMS[insn.formIndex]!, insn)(cpu, insn);
  cpu.blockBreak = true; // e.g. MOV CR0 may change Mmu.fast under EPT, which compiled blocks bind on entry
};

export function handlerFor(form: InstructionForm, insn: Insn): Handler {
  if (form.category === 'vmx') return vmxInstruction;
  const slot = (((form.map * 256) + form.opcode) << 3) | (form.modrmReg >= 0 ? insn.reg : 0);
  if (insn.mod === 3 && insn.osize === 4) {
    const fast = FAST_REG32[slot];
    if (fast !== undefined) return fast;
  }
  return HANDLERS[slot] ?? notImplemented;
}
