// Instructions in VMX non-root operation (Intel SDM Vol. 3C 26.1-26.3): which ones cause VM exits under the
// current VM-execution controls, with the exit reason (Appendix C), exit qualification (27.2.1: Table 27-3
// control-register accesses, 27-4 MOV DR, 27-5 I/O) and VM-exit instruction information (27.2.5). Also the
// changed behaviour of instructions that do not exit: MOV from CR0/CR4 read the read shadows for bits the
// guest/host masks own, and MOV to CR0/CR4 leave those bits unchanged (26.3).

import type { Cpu } from '../cpu/cpu';
import { handlerFor } from '../cpu/dispatch';
import type { Insn } from '../cpu/insn';
import { readE } from '../cpu/exec/operands';
import { CR, SEG_BASE } from '../cpu/stateLayout';
import { INSTRUCTION_FORMS } from '../isa/table';
import { ExitReason } from '../vmm/exitReasons';
import { encodeCrAccess, encodeIo, encodeMovDr } from '../vmm/exitQualification';
import { F, Proc2Control, ProcControl } from './controls';
import type { Vmcs } from './vmcs';

export type ExitDecision = 'run' | 'done' | 'exit';

export type InstructionOutcome =
  | { readonly kind: 'run' | 'done' }
  | { readonly kind: 'exit'; readonly reason: number; readonly qualification: number; readonly instructionInfo: number; readonly guestLinearAddress: number };

const RUN: InstructionOutcome = { kind: 'run' };
const DONE: InstructionOutcome = { kind: 'done' };

/** Mnemonics whose behaviour VMX non-root operation may change (decode-time filter). */
const CONTROLLED = new Set([
  'hlt', 'cpuid', 'invd', 'wbinvd', 'rdtsc', 'rdmsr', 'wrmsr', 'in', 'out', 'insb', 'insw', 'insd', 'outsb', 'outsw', 'outsd',
  'mov', 'clts', 'lmsw', 'smsw', 'invlpg', 'lgdt', 'lidt', 'sgdt', 'sidt', 'lldt', 'ltr', 'sldt', 'str',
]);

export function mayExitForm(mnemonic: string, category: string, opcodeText: string): boolean {
  if (mnemonic === 'mov') return opcodeText.startsWith('0F 2'); // only MOV CR / MOV DR
  return category === 'vmx' || CONTROLLED.has(mnemonic);
}

function exit(reason: number, qualification = 0, instructionInfo = 0, guestLinearAddress = 0): InstructionOutcome {
  return { kind: 'exit', reason, qualification: qualification >>> 0, instructionInfo: instructionInfo >>> 0, guestLinearAddress: guestLinearAddress >>> 0 };
}

/**
 * VM-exit instruction information for a memory or register operand (SDM 27.2.5, Tables 27-10..27-14):
 * scaling 1:0, reg1 6:3, address size 9:7, mem/reg 10, segment 17:15, index 21:18 (+22 invalid),
 * base 26:23 (+27 invalid), reg2 31:28.
 */
export function memoryOperandInfo(insn: Insn): number {
  let info = (insn.asize === 4 ? 1 : 0) << 7;
  if (insn.mod === 3) return info | (1 << 10) | (insn.rm << 3) | (insn.reg << 28);
  info |= insn.scale | (insn.seg << 15) | (insn.reg << 28);
  info |= insn.index >= 0 ? insn.index << 18 : 1 << 22;
  info |= insn.base >= 0 ? insn.base << 23 : 1 << 27;
  return info;
}

/** I/O bitmap A covers ports 0-7FFF, B 8000-FFFF; any set bit (or wrap past FFFF) exits (SDM 26.1.3). */
function ioBitmapExits(cpu: Cpu, vmcs: Vmcs, port: number, size: number): boolean {
  for (let p = port; p < port + size; p++) {
    if (p > 0xffff) return true;
    const base = p < 0x8000 ? vmcs.read(F.IO_BITMAP_A) : vmcs.read(F.IO_BITMAP_B);
    const bit = p & 0x7fff;
    if (((cpu.peekPhysical(base + (bit >>> 3)) ?? 0xff) & (1 << (bit & 7))) !== 0) return true;
  }
  return false;
}

/** MSR bitmap: read-low 0, read-high 1024, write-low 2048, write-high 3072 (SDM 25.6.9). */
function msrBitmapExits(cpu: Cpu, vmcs: Vmcs, msr: number, write: boolean): boolean {
  let offset: number;
  if (msr >= 0 && msr <= 0x1fff) offset = 0;
  else if (msr >= 0xc0000000 && msr <= 0xc0001fff) offset = 1024;
  else return true;
  const bit = msr & 0x1fff;
  const byte = cpu.peekPhysical(vmcs.read(F.MSR_BITMAP) + offset + (write ? 2048 : 0) + (bit >>> 3)) ?? 0xff;
  return (byte & (1 << (bit & 7))) !== 0;
}

function segBase(cpu: Cpu, seg: number): number {
  return cpu.s[SEG_BASE + seg]!;
}

function runNormally(cpu: Cpu, insn: Insn): void {
  handlerFor(INSTRUCTION_FORMS[insn.formIndex]!, insn)(cpu, insn);
}

/** The non-root decision for one instruction (SDM 26.1.2 unconditional, 26.1.3 control-dependent). */
export function instructionExit(cpu: Cpu, vmcs: Vmcs, insn: Insn): InstructionOutcome {
  const form = INSTRUCTION_FORMS[insn.formIndex]!;
  const mnemonic = form.mnemonic;
  const proc = vmcs.read(F.PROC_CONTROLS);
  const proc2 = (proc & ProcControl.ActivateSecondaryControls) !== 0 ? vmcs.read(F.PROC2_CONTROLS) : 0;
  const s = cpu.s;
  switch (mnemonic) {
    case 'vmcall': return exit(ExitReason.Vmcall);
    case 'vmclear': return exit(19, insn.disp, memoryOperandInfo(insn));
    case 'vmlaunch': return exit(20);
    case 'vmptrld': return exit(21, insn.disp, memoryOperandInfo(insn));
    case 'vmptrst': return exit(22, insn.disp, memoryOperandInfo(insn));
    case 'vmread': return exit(23, insn.mod === 3 ? 0 : insn.disp, memoryOperandInfo(insn));
    case 'vmresume': return exit(24);
    case 'vmwrite': return exit(25, insn.mod === 3 ? 0 : insn.disp, memoryOperandInfo(insn));
    case 'vmxoff': return exit(26);
    case 'vmxon': return exit(27, insn.disp, memoryOperandInfo(insn));
    case 'invept': return exit(ExitReason.Invept, insn.disp, memoryOperandInfo(insn));
    case 'invvpid': return exit(ExitReason.Invvpid, insn.disp, memoryOperandInfo(insn));
    case 'cpuid': return exit(ExitReason.Cpuid);
    case 'invd': return exit(ExitReason.Invd);
    case 'wbinvd': return (proc2 & Proc2Control.WbinvdExiting) !== 0 ? exit(ExitReason.Wbinvd) : RUN;
    case 'hlt': return (proc & ProcControl.HltExiting) !== 0 ? exit(ExitReason.Hlt) : RUN;
    case 'rdtsc': return (proc & ProcControl.RdtscExiting) !== 0 ? exit(ExitReason.Rdtsc) : RUN;
    case 'invlpg': {
      if ((proc & ProcControl.InvlpgExiting) === 0) return RUN;
      const offset = (insn.disp + (insn.base >= 0 ? s[insn.base]! : 0) + (insn.index >= 0 ? s[insn.index]! << insn.scale : 0)) | 0;
      return exit(ExitReason.Invlpg, segBase(cpu, insn.seg) + offset);
    }
    case 'rdmsr':
    case 'wrmsr': {
      const write = mnemonic === 'wrmsr';
      const exits = (proc & ProcControl.UseMsrBitmaps) === 0 || msrBitmapExits(cpu, vmcs, s[1]! >>> 0, write);
      return exits ? exit(write ? ExitReason.Wrmsr : ExitReason.Rdmsr) : RUN;
    }
    case 'in': case 'out': case 'insb': case 'insw': case 'insd': case 'outsb': case 'outsw': case 'outsd': {
      const string = mnemonic.startsWith('ins') || mnemonic.startsWith('outs');
      const immediate = form.operands.includes('Ib');
      const port = immediate ? insn.imm & 0xff : s[2]! & 0xffff;
      const size = mnemonic.endsWith('b') || form.opcode === 0xe4 || form.opcode === 0xe6 || form.opcode === 0xec || form.opcode === 0xee ? 1 : insn.osize;
      const exits = (proc & ProcControl.UseIoBitmaps) !== 0 ? ioBitmapExits(cpu, vmcs, port, size) : (proc & ProcControl.UnconditionalIoExiting) !== 0;
      if (!exits) return RUN;
      const isIn = mnemonic.startsWith('in');
      const qualification = encodeIo({ size: size as 1 | 2 | 4, isIn, isString: string, isRep: insn.rep !== 0, immediatePort: immediate, port });
      // INS/OUTS: instruction information carries address size and segment (Table 27-8).
      const info = string ? ((insn.asize === 4 ? 1 : 0) << 7) | ((isIn ? 0 : insn.seg) << 15) : 0;
      const linear = string ? (isIn ? segBase(cpu, 0) + s[7]! : segBase(cpu, insn.seg) + s[6]!) : 0;
      return exit(ExitReason.IoInstruction, qualification, info, linear);
    }
    case 'clts': {
      const mask = vmcs.read(F.CR0_MASK);
      if ((mask & 8) !== 0 && (vmcs.read(F.CR0_SHADOW) & 8) !== 0) return exit(ExitReason.CrAccess, encodeCrAccess({ controlRegister: 0, accessType: 'clts', lmswMemoryOperand: false, gpr: 0, lmswSourceData: 0 }));
      if ((mask & 8) !== 0) return DONE; // TS owned by the host, shadow clear: nothing changes
      return RUN;
    }
    case 'lmsw': {
      const source = readE(cpu, insn, 2) & 0xffff;
      const mask = vmcs.read(F.CR0_MASK);
      const shadow = vmcs.read(F.CR0_SHADOW);
      const peExits = (mask & 1) !== 0 && (shadow & 1) === 0 && (source & 1) !== 0;
      if (peExits || ((mask & 0xe) & (shadow ^ source)) !== 0) {
        return exit(ExitReason.CrAccess, encodeCrAccess({ controlRegister: 0, accessType: 'lmsw', lmswMemoryOperand: insn.mod !== 3, gpr: 0, lmswSourceData: source }), 0, insn.mod !== 3 ? segBase(cpu, insn.seg) + insn.disp : 0);
      }
      return RUN;
    }
    case 'lgdt': case 'lidt': case 'sgdt': case 'sidt': {
      if ((proc2 & Proc2Control.DescriptorTableExiting) === 0) return RUN;
      const identity = ['sgdt', 'sidt', 'lgdt', 'lidt'].indexOf(mnemonic);
      return exit(ExitReason.GdtrIdtrAccess, insn.disp, memoryOperandInfo(insn) | (identity << 28) | (1 << 11));
    }
    case 'lldt': case 'ltr': case 'sldt': case 'str': {
      if ((proc2 & Proc2Control.DescriptorTableExiting) === 0) return RUN;
      const identity = ['sldt', 'str', 'lldt', 'ltr'].indexOf(mnemonic);
      return exit(ExitReason.LdtrTrAccess, insn.mod === 3 ? 0 : insn.disp, (memoryOperandInfo(insn) & ~0xf0000000) | (identity << 28));
    }
    case 'mov': return movControlOrDebug(cpu, vmcs, insn, form.opcodeText, proc);
    case 'smsw': {
      // SMSW reads host-owned CR0 bits from the read shadow (SDM 26.3): run it on the shadowed value.
      const mask = vmcs.read(F.CR0_MASK);
      if (mask === 0) return RUN;
      const real = s[CR]!;
      s[CR] = (real & ~mask) | (vmcs.read(F.CR0_SHADOW) & mask);
      try {
        runNormally(cpu, insn);
      } finally {
        s[CR] = real;
      }
      return DONE;
    }
    default: return RUN;
  }
}

/** MOV to/from CR0/CR3/CR4 and MOV DR (SDM 26.1.3; qualifications Tables 27-3 and 27-4). */
function movControlOrDebug(cpu: Cpu, vmcs: Vmcs, insn: Insn, opcodeText: string, proc: number): InstructionOutcome {
  const s = cpu.s;
  const cr = insn.reg;
  const gpr = insn.rm;
  if (opcodeText.startsWith('0F 21') || opcodeText.startsWith('0F 23')) {
    if ((proc & ProcControl.MovDrExiting) === 0) return RUN;
    return exit(ExitReason.MovDr, encodeMovDr({ debugRegister: insn.reg, fromDr: opcodeText.startsWith('0F 21'), gpr }));
  }
  const toCr = opcodeText.startsWith('0F 22');
  if (!toCr && !opcodeText.startsWith('0F 20')) return RUN; // MOV r/m, Sreg etc.
  const qualification = encodeCrAccess({ controlRegister: cr, accessType: toCr ? 'mov-to-cr' : 'mov-from-cr', lmswMemoryOperand: false, gpr, lmswSourceData: 0 });
  if (cr === 3) {
    if (!toCr) return (proc & ProcControl.Cr3StoreExiting) !== 0 ? exit(ExitReason.CrAccess, qualification) : RUN;
    if ((proc & ProcControl.Cr3LoadExiting) === 0) return RUN;
    const value = s[gpr]! >>> 0;
    const count = vmcs.read(F.CR3_TARGET_COUNT);
    for (let i = 0; i < count && i < 4; i++) if (vmcs.read(F.CR3_TARGET0 + 2 * i) === value) return RUN;
    return exit(ExitReason.CrAccess, qualification);
  }
  if (cr !== 0 && cr !== 4) return RUN;
  const mask = vmcs.read(cr === 0 ? F.CR0_MASK : F.CR4_MASK);
  const shadow = vmcs.read(cr === 0 ? F.CR0_SHADOW : F.CR4_SHADOW);
  if (mask === 0) return RUN;
  if (!toCr) {
    s[gpr] = (s[CR + cr]! & ~mask) | (shadow & mask); // the guest reads the shadow for host-owned bits
    return DONE;
  }
  const value = s[gpr]!;
  if (((value ^ shadow) & mask) !== 0) return exit(ExitReason.CrAccess, qualification);
  // Host-owned bits keep their real values; the rest is an ordinary MOV to CR.
  s[gpr] = (value & ~mask) | (s[CR + cr]! & mask);
  try {
    runNormally(cpu, insn);
  } finally {
    s[gpr] = value;
  }
  return DONE;
}
