// The technique-neutral record of one entry into the VMM, classified by SDM basic exit reason. A VT-x VM exit
// is one naturally; trap-and-emulate and binary translation build the same record from a #GP/#PF trap or a
// translated callout (a trapped `hlt` becomes reason 12, `out dx, al` reason 30 with a Table 28-5
// qualification, `mov cr3, eax` reason 28, a `cli` that has no VT-x exit stays reason 0 with vector 13), and
// a paravirtual `int 0x82` hypercall becomes reason 18 (VMCALL, the hypercall path of hardware assist). So one
// dispatcher, keyed by SDM numbers, serves every technique.

import { ExitReason } from './exitReasons';
import { encodeCrAccess, encodeIo, type CrAccessType } from './exitQualification';
import type { GuestInstructionRef } from './transitions';

/** How the VMM was entered. */
export type VmExitSource =
  | 'vmx' // a VT-x VM exit (hardware-assisted)
  | 'trap' // a fault or software interrupt delivered to the VMM's IDT (trap-and-emulate, paravirtual, BT user code)
  | 'bt-callout' // translated code called the VMM (binary translation)
  | 'hypercall' // int 0x82 (paravirtual)
  | 'interrupt'; // a physical interrupt arrived while the guest ran

export interface VmExit {
  /** SDM basic exit reason (Appendix C). */
  readonly reason: number;
  readonly source: VmExitSource;
  /** EXIT_QUALIFICATION (0x6400) semantics for reasons 0, 28, 29, 30, 48…; 0 when none. */
  readonly qualification: number;
  /** For reasons 0/1: vector, and error code when the exception pushes one. */
  readonly vector?: number;
  readonly errorCode?: number;
  /** Length of the instruction that caused the exit (VM_EXIT_INSTRUCTION_LEN); 0 for events. */
  readonly instructionLength: number;
  readonly instruction?: GuestInstructionRef;
  /** Guest CPL when the exit happened (1 for a deprivileged kernel under trap-and-emulate). */
  readonly cpl: number;
  readonly guestLinearAddress?: number;
  readonly guestPhysicalAddress?: number;
  /** Paravirtual hypercall number (EAX at int 0x82). */
  readonly hypercall?: number;
  /** For reason 0/1: how the vector arose (VM-exit interruption types: hardware exception, software interrupt, external). */
  readonly eventType?: 'hardware-exception' | 'software-interrupt' | 'external-interrupt';
}

/** A privileged or sensitive mnemonic and the SDM exit reason a VT-x VMM would see for it, where one exists. */
export const EXIT_REASON_BY_MNEMONIC: Readonly<Record<string, number>> = {
  hlt: ExitReason.Hlt,
  cpuid: ExitReason.Cpuid,
  invd: ExitReason.Invd,
  invlpg: ExitReason.Invlpg,
  rdpmc: ExitReason.Rdpmc,
  rdtsc: ExitReason.Rdtsc,
  vmcall: ExitReason.Vmcall,
  clts: ExitReason.CrAccess,
  lmsw: ExitReason.CrAccess,
  'mov-cr': ExitReason.CrAccess,
  'mov-dr': ExitReason.MovDr,
  in: ExitReason.IoInstruction,
  out: ExitReason.IoInstruction,
  ins: ExitReason.IoInstruction,
  outs: ExitReason.IoInstruction,
  rdmsr: ExitReason.Rdmsr,
  wrmsr: ExitReason.Wrmsr,
  lgdt: ExitReason.GdtrIdtrAccess,
  lidt: ExitReason.GdtrIdtrAccess,
  sgdt: ExitReason.GdtrIdtrAccess,
  sidt: ExitReason.GdtrIdtrAccess,
  lldt: ExitReason.LdtrTrAccess,
  ltr: ExitReason.LdtrTrAccess,
  sldt: ExitReason.LdtrTrAccess,
  str: ExitReason.LdtrTrAccess,
  wbinvd: ExitReason.Wbinvd,
};

/** The exit reason for a trapped privileged instruction; 0 (exception) when VT-x has no specific exit for it. */
export function exitReasonForMnemonic(mnemonic: string): number {
  return EXIT_REASON_BY_MNEMONIC[mnemonic.toLowerCase()] ?? ExitReason.ExceptionOrNmi;
}

interface CommonFields {
  readonly source: VmExitSource;
  readonly cpl: number;
  readonly instruction?: GuestInstructionRef;
}

function instructionFields(common: CommonFields): Pick<VmExit, 'source' | 'cpl' | 'instruction' | 'instructionLength'> {
  return common.instruction === undefined
    ? { source: common.source, cpl: common.cpl, instructionLength: 0 }
    : { source: common.source, cpl: common.cpl, instruction: common.instruction, instructionLength: common.instruction.bytes.length };
}

/** An exception (reason 0) such as "#GP: cli at CPL1". */
export function exceptionExit(common: CommonFields, vector: number, errorCode?: number): VmExit {
  const base = { ...instructionFields(common), reason: ExitReason.ExceptionOrNmi, qualification: 0, vector, eventType: 'hardware-exception' as const };
  return errorCode === undefined ? base : { ...base, errorCode };
}

/** A trapped or exiting IN/OUT (reason 30) with its Table 28-5 qualification. */
export function ioExit(common: CommonFields, port: number, size: 1 | 2 | 4, isIn: boolean, immediatePort: boolean): VmExit {
  const qualification = encodeIo({ size, isIn, isString: false, isRep: false, immediatePort, port });
  return { ...instructionFields(common), reason: ExitReason.IoInstruction, qualification };
}

/** A control-register access (reason 28) with its Table 28-3 qualification. */
export function crAccessExit(common: CommonFields, accessType: CrAccessType, controlRegister: number, gpr: number): VmExit {
  const qualification = encodeCrAccess({ controlRegister, accessType, lmswMemoryOperand: false, gpr, lmswSourceData: 0 });
  return { ...instructionFields(common), reason: ExitReason.CrAccess, qualification };
}

/** A paravirtual hypercall, routed as VMCALL (reason 18). */
export function hypercallExit(common: CommonFields, hypercall: number): VmExit {
  return { ...instructionFields(common), reason: ExitReason.Vmcall, qualification: 0, hypercall };
}

/** Any other instruction exit (HLT, CPUID, RDTSC, LGDT…). */
export function instructionExit(common: CommonFields, reason: number, qualification = 0): VmExit {
  return { ...instructionFields(common), reason, qualification };
}

/** A physical interrupt taken while the guest ran (reason 1). */
export function externalInterruptExit(cpl: number, vector: number): VmExit {
  return { reason: ExitReason.ExternalInterrupt, source: 'interrupt', qualification: 0, vector, instructionLength: 0, cpl, eventType: 'external-interrupt' };
}

/** A software interrupt (int n) that entered the VMM because the VMM owns the real IDT (reason 0). */
export function softwareInterruptExit(common: CommonFields, vector: number): VmExit {
  return { ...instructionFields(common), reason: ExitReason.ExceptionOrNmi, qualification: 0, vector, eventType: 'software-interrupt' };
}
