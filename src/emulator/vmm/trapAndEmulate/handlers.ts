// The trap-and-emulate engine's VMM handlers, one per SDM exit reason, each a sequence of named steps
// (save guest state → decode faulting instruction → check → emulate on the virtual CPU → advance guest EIP →
// resume, or → reflect through the guest's virtual IDT). The engine classifies every #GP the deprivileged
// kernel takes by the instruction that caused it (vmExit.ts exitReasonForMnemonic): `out` → 30, `hlt` → 12,
// `mov cr0, eax` → 28, `lidt` → 46, `ltr` → 47, `cli` (no VT-x exit) stays 0. Privileged-instruction semantics:
// SDM Vol. 2 (each instruction's Operation section) applied to the virtual CPU; why they trap at CPL 1:
// SDM Vol. 3A 5.9 "Privileged Instructions" and the IOPL rule for IN/OUT/CLI/STI (Vol. 1 18.2.1, Vol. 2 CLI).

import type { AccessSize } from '../../hw/contracts';
import { ExitDispatcher } from '../exitDispatcher';
import { ExitReason } from '../exitReasons';
import { step, type HandlerDefinition, type HandlerStep, type StepDelegate, type StepResult } from '../handlerSteps';
import { encodeIo } from '../exitQualification';
import { crAccessExit, exceptionExit, exitReasonForMnemonic, instructionExit, ioExit, softwareInterruptExit, type VmExit } from '../vmExit';
import { EflagsBit, SegmentRegister, type GuestCpuAccess, type GuestInstruction } from './guestAccess';
import { pageFaultHandler, type RealPageFault, type ShadowPagingHooks } from './memoryHandlers';
import { compressedSelector, deliverToGuest } from './reflect';
import { emulateLocalApicAccess, isLocalApicAccess } from '../localApicAccess';
import type { VirtualCpu } from './virtualCpu';

/** What every trap-and-emulate handler works on. */
export interface TrapContext {
  readonly guest: GuestCpuAccess;
  readonly vcpu: VirtualCpu;
  /** The faulting instruction, decoded by the engine when the exit was classified. */
  readonly instruction?: GuestInstruction;
  /** What the handler did, in words, for the debugger's VMM frame ("virtual IF ← 0"). */
  readonly notes: string[];
  /** Shadow paging (memory virtualization); absent for an engine without it. */
  readonly memory?: ShadowPagingHooks;
  /** The real #PF (CR2, error code) when the trap is a page fault. */
  readonly pageFault?: RealPageFault;
}

const GP = 13;
const UD = 6;
const CR0_PG = 0x80000000;
const CR0_TS = 0x8;
const PF = 14;

const reflect = (vector: number, errorCode = -1): StepResult => ({ finish: { kind: 'reflect', vector, ...(errorCode >= 0 ? { errorCode } : {}) } });

// ---- the common steps ----

const saveGuestState: HandlerStep<TrapContext> = step(
  'save guest state',
  (c) => {
    c.vcpu.cpl = c.guest.cpl === 3 ? 3 : 0; // real CPL 1 is virtual ring 0
    c.notes.push(`guest trapped at EIP 0x${(c.guest.getEip() >>> 0).toString(16)}, virtual CPL ${c.vcpu.cpl}`);
  },
  'vmmEntry',
);

const decodeFaultingInstruction: HandlerStep<TrapContext> = step(
  'decode faulting instruction',
  (c) => {
    if (c.instruction === undefined) return { finish: { kind: 'stop', message: `the VMM cannot decode the instruction at 0x${(c.guest.getEip() >>> 0).toString(16)}` } };
    c.notes.push(`decoded: ${c.instruction.text}`);
    return undefined;
  },
  'emulationStep',
);

/** Privileged instructions are emulated only for the virtual kernel; from virtual ring 3 they fault as on bare metal. */
const checkVirtualPrivilege: HandlerStep<TrapContext> = step(
  'check',
  (c) => {
    if (c.vcpu.cpl !== 0) {
      c.notes.push(`${c.instruction?.text ?? 'instruction'} at virtual CPL ${c.vcpu.cpl}: a real #GP for the guest`);
      return { goto: 'reflect #GP through the guest IDT' };
    }
    return undefined;
  },
  'emulationStep',
);

const advanceEip: HandlerStep<TrapContext> = step(
  'advance guest EIP',
  (c) => c.guest.setEip((c.guest.getEip() + (c.instruction?.length ?? 0)) | 0),
  'emulationStep',
);

const resume: HandlerStep<TrapContext> = step('resume', () => ({ finish: { kind: 'resume' } }), 'vmmExit');

const reflectGp: HandlerStep<TrapContext> = step('reflect #GP through the guest IDT', () => reflect(GP, 0), 'interruptInjection');

function emulationHandler(name: string, emulate: (c: TrapContext) => StepResult, delegate?: StepDelegate<TrapContext>): HandlerDefinition<TrapContext> {
  return {
    name,
    layer: 'vmm',
    steps: [saveGuestState, decodeFaultingInstruction, checkVirtualPrivilege, step('emulate on the virtual CPU', emulate, 'emulationStep', delegate), advanceEip, resume, reflectGp],
  };
}

/**
 * A port access goes through the architecture's path (../io/devicePath.ts): the emulation step hands it to the
 * hop handlers (in-VMM device model, management OS, host OS), whose device step performs it; the VMM then
 * advances EIP and resumes.
 */
const forwardIo: StepDelegate<TrapContext> = (c, run, caller) => c.guest.devicePath?.start(c.instruction?.text ?? 'port access', run, caller);

// ---- emulation of each privileged instruction on the virtual CPU ----

/** Iterations of a REP INS/OUTS emulated per trap; a longer string re-traps (the instruction is restartable). */
const MAX_STRING_IO_ITERATIONS = 4096;
const EFLAGS_DF = 1 << 10;

/**
 * INS/OUTS with or without REP (SDM Vol. 2A INS/INSB, Vol. 2B OUTS/OUTSB): one element per iteration between
 * port DX and ES:EDI (INS) or DS:ESI (OUTS, segment overridable), EDI/ESI stepping by the element size
 * (backwards with EFLAGS.DF), ECX counting down under REP. 32-bit address size.
 */
function emulateStringIo(c: TrapContext, io: NonNullable<GuestInstruction['stringIo']>): StepResult {
  const g = c.guest;
  const port = g.getGpr(2) & 0xffff;
  const step = (g.getEflags() & EFLAGS_DF) !== 0 ? -io.size : io.size;
  let count = io.rep ? g.getGpr(1) >>> 0 : 1;
  let done = 0;
  while (count > 0 && done < MAX_STRING_IO_ITERATIONS) {
    if (io.isIn) {
      const value = g.ports.read(port, io.size);
      const edi = g.getGpr(7);
      if (!g.writeLinear((g.getSegmentBase(SegmentRegister.ES) + edi) >>> 0, io.size, value)) return reflect(GP, 0);
      g.setGpr(7, (edi + step) | 0);
    } else {
      const esi = g.getGpr(6);
      const value = g.readLinear((g.getSegmentBase(io.segment) + esi) >>> 0, io.size);
      if (value === undefined) return reflect(GP, 0);
      g.ports.write(port, io.size, value);
      g.setGpr(6, (esi + step) | 0);
    }
    count--;
    done++;
    if (io.rep) g.setGpr(1, count | 0);
  }
  c.notes.push(`${c.instruction?.text}: ${done} ${sizeName(io.size)}${done === 1 ? '' : 's'} ${io.isIn ? 'from' : 'to'} port 0x${port.toString(16)}${count > 0 ? `, ${count} left (the instruction traps again)` : ''}`);
  return count > 0 ? { goto: 'resume' } : undefined;
}

function emulateIo(c: TrapContext): StepResult {
  if (c.instruction?.stringIo !== undefined) return emulateStringIo(c, c.instruction.stringIo);
  const io = c.instruction?.io;
  if (io === undefined) return { finish: { kind: 'stop', message: `string or unknown I/O form "${c.instruction?.text}" is not emulated yet` } };
  const port = io.port === 'dx' ? c.guest.getGpr(2) & 0xffff : io.port;
  const eax = c.guest.getGpr(0);
  const mask = io.size === 1 ? 0xff : io.size === 2 ? 0xffff : 0xffffffff;
  if (io.isIn) {
    const value = c.guest.ports.read(port, io.size) & mask;
    c.guest.setGpr(0, io.size === 4 ? value : (eax & ~mask) | value);
    c.notes.push(`port 0x${port.toString(16)} → ${sizeName(io.size)} 0x${value.toString(16)}`);
  } else {
    c.guest.ports.write(port, io.size, (eax & mask) >>> 0);
    c.notes.push(`${sizeName(io.size)} 0x${((eax & mask) >>> 0).toString(16)} → port 0x${port.toString(16)}`);
  }
  return undefined;
}

function sizeName(size: AccessSize): string {
  return size === 1 ? 'byte' : size === 2 ? 'word' : 'dword';
}

function emulateDescriptorTableLoad(c: TrapContext): StepResult {
  const insn = c.instruction!;
  if (insn.memoryAddress === undefined) return reflect(UD);
  const limit = c.guest.readLinear(insn.memoryAddress, 2);
  const base = c.guest.readLinear(insn.memoryAddress + 2, 4);
  if (limit === undefined || base === undefined) return reflect(GP, 0);
  if (insn.mnemonic === 'lgdt') {
    c.vcpu.gdtr = { base, limit };
    c.vcpu.tablesDirty = true;
    c.notes.push(`virtual GDTR ← base 0x${base.toString(16)} limit 0x${limit.toString(16)} (the real GDTR keeps the VMM's table)`);
  } else if (insn.mnemonic === 'lidt') {
    c.vcpu.idtr = { base, limit };
    c.notes.push(`virtual IDTR ← base 0x${base.toString(16)} limit 0x${limit.toString(16)} (the real IDTR keeps the VMM's table)`);
  } else {
    return { finish: { kind: 'stop', message: `${insn.text}: reading GDTR/IDTR does not trap at CPL 1, so it cannot reach this handler` } };
  }
  return undefined;
}

function emulateSelectorLoad(c: TrapContext): StepResult {
  const insn = c.instruction!;
  const selector =
    insn.register !== undefined ? c.guest.getGpr(insn.register) & 0xffff : insn.memoryAddress !== undefined ? c.guest.readLinear(insn.memoryAddress, 2) : undefined;
  if (selector === undefined) return reflect(GP, 0);
  if (insn.mnemonic === 'ltr') c.vcpu.tr = selector;
  else if (insn.mnemonic === 'lldt') c.vcpu.ldtr = selector;
  else return { finish: { kind: 'stop', message: `${insn.text} is not emulated` } };
  c.vcpu.tablesDirty = true;
  c.notes.push(`virtual ${insn.mnemonic === 'ltr' ? 'TR' : 'LDTR'} ← 0x${selector.toString(16)}`);
  return undefined;
}

function emulateControlRegister(c: TrapContext): StepResult {
  const insn = c.instruction!;
  if (insn.mnemonic === 'clts') {
    c.vcpu.cr0 = (c.vcpu.cr0 & ~CR0_TS) >>> 0;
    c.notes.push('virtual CR0.TS ← 0');
    return undefined;
  }
  if (insn.mnemonic === 'lmsw') return emulateLmsw(c, insn);
  const cr = insn.controlRegister;
  const register = insn.register;
  if (cr === undefined || register === undefined || cr === 1 || cr > 4) return reflect(UD);
  const names = ['cr0', 'cr1', 'cr2', 'cr3', 'cr4'] as const;
  if (insn.toControlRegister) {
    const value = c.guest.getGpr(register) >>> 0;
    if (cr === 0 && (value & CR0_PG) !== 0 && c.memory === undefined) {
      return { finish: { kind: 'stop', message: 'the guest enables paging (CR0.PG): this needs memory virtualization (shadow page tables), which this engine does not have' } };
    }
    c.vcpu[names[cr] as 'cr0' | 'cr2' | 'cr3' | 'cr4'] = value;
    c.notes.push(`virtual ${names[cr]} ← 0x${value.toString(16)}`);
    if (cr !== 2 && c.memory !== undefined) {
      c.memory.controlRegistersChanged(cr === 3);
      const real = c.memory.shadow.realCr3;
      if (real !== undefined) c.notes.push(`${cr === 3 ? 'shadow switch: ' : ''}real CR3 ← shadow page directory 0x${real.toString(16)}`);
    }
  } else {
    c.guest.setGpr(register, c.vcpu[names[cr] as 'cr0' | 'cr2' | 'cr3' | 'cr4']);
    c.notes.push(`${insn.text}: the guest reads its virtual ${names[cr]}`);
  }
  return undefined;
}

/**
 * LMSW (SDM Vol. 2A LMSW): loads CR0 bits 3:0 (PE, MP, EM, TS) from a 16-bit register or memory operand on
 * the virtual CPU; PE can be set but never cleared by LMSW.
 */
function emulateLmsw(c: TrapContext, insn: GuestInstruction): StepResult {
  const source = insn.register !== undefined ? c.guest.getGpr(insn.register) & 0xffff : insn.memoryAddress !== undefined ? c.guest.readLinear(insn.memoryAddress, 2) : undefined;
  if (source === undefined) return reflect(GP, 0);
  const old = c.vcpu.cr0;
  c.vcpu.cr0 = ((old & ~0xe) | (source & 0xf) | (old & 1)) >>> 0;
  c.notes.push(`virtual CR0 bits 3:0 ← 0x${(c.vcpu.cr0 & 0xf).toString(16)} (lmsw 0x${source.toString(16)}; PE cannot be cleared)`);
  return undefined;
}

/**
 * MOV to CR3 while the guest pages (shadow paging): the virtual CR3 takes the value, then the VMM switches the
 * real CR3 to the shadow of that guest directory (cached or built empty) - a step of its own in the debugger.
 */
function cr3SwitchHandler(text: string): HandlerDefinition<TrapContext> {
  const steps = [
    saveGuestState,
    decodeFaultingInstruction,
    checkVirtualPrivilege,
    step<TrapContext>('emulate on the virtual CPU', (c) => {
      const register = c.instruction?.register;
      if (register === undefined) return reflect(UD);
      c.vcpu.cr3 = c.guest.getGpr(register) >>> 0;
      c.notes.push(`virtual cr3 ← 0x${c.vcpu.cr3.toString(16)}`);
      return undefined;
    }, 'emulationStep'),
    step<TrapContext>('switch the shadow page table', (c) => {
      const switchesBefore = c.memory!.shadow.counters.shadowPageDirectoriesBuilt;
      c.memory!.controlRegistersChanged(true);
      const built = c.memory!.shadow.counters.shadowPageDirectoriesBuilt !== switchesBefore;
      c.notes.push(`real CR3 ← ${built ? 'a new, empty' : 'the cached'} shadow page directory 0x${(c.memory!.shadow.realCr3 ?? 0).toString(16)}; real TLB flushed`);
    }, 'emulationStep'),
    advanceEip,
    resume,
    reflectGp,
  ];
  return { name: `CR3 switch: ${text}`, layer: 'vmm', steps };
}

function emulateInvlpg(c: TrapContext): StepResult {
  const address = c.instruction?.memoryAddress;
  if (address === undefined) return reflect(UD);
  if (c.memory === undefined) {
    c.notes.push('nothing to flush without paging');
    return undefined;
  }
  c.memory.shadow.invalidatePage(address);
  c.notes.push(`shadow entry and real TLB entry for 0x${(address >>> 0).toString(16)} dropped`);
  return undefined;
}

/** CLI, STI, IRET and segment loads: the #GP causes VT-x has no dedicated exit for (reason 0). */
function emulateException(c: TrapContext): StepResult {
  const insn = c.instruction!;
  switch (insn.mnemonic) {
    case 'cli':
      c.vcpu.interruptFlag = false;
      c.notes.push('virtual IF ← 0 (the real IF stays 1: the VMM still takes every physical interrupt)');
      return undefined;
    case 'sti':
      c.vcpu.interruptFlag = true;
      c.notes.push('virtual IF ← 1');
      return undefined;
    case 'mov-sreg':
    case 'pop-sreg':
      return emulateStackSegmentLoad(c, insn);
    case 'iret':
    case 'iretd':
      return emulateIretToKernel(c);
    default:
      return { finish: { kind: 'stop', message: `#GP on "${insn.text}" at virtual CPL 0 is not emulated by this VMM` } };
  }
}

/**
 * MOV SS / POP SS with a ring-0 selector at CPL 1 fault (SS needs RPL = DPL = CPL, SDM Vol. 2 MOV "Operation"):
 * load it with ring compression (RPL 1). Register, memory and stack (POP SS) sources.
 */
function emulateStackSegmentLoad(c: TrapContext, insn: GuestInstruction): StepResult {
  if (insn.segmentRegister !== SegmentRegister.SS) return { finish: { kind: 'stop', message: `"${insn.text}" is not emulated` } };
  const g = c.guest;
  let selector: number | undefined;
  let popped = false;
  if (insn.mnemonic === 'pop-sreg') {
    selector = g.readLinear((g.getSegmentBase(SegmentRegister.SS) + g.getGpr(4)) >>> 0, 2);
    popped = true;
  } else if (insn.register !== undefined) {
    selector = g.getGpr(insn.register) & 0xffff;
  } else if (insn.memoryAddress !== undefined) {
    selector = g.readLinear(insn.memoryAddress, 2);
  }
  if (selector === undefined) return reflect(GP, 0);
  if (!g.loadSegment(SegmentRegister.SS, compressedSelector(selector))) return reflect(GP, selector & ~3);
  if (popped) g.setGpr(4, (g.getGpr(4) + 4) | 0);
  c.notes.push(`SS ← 0x${compressedSelector(selector).toString(16)} (guest asked for 0x${selector.toString(16)}; RPL 1 after ring compression)`);
  return undefined;
}

/** IRET from the virtual kernel back to the virtual kernel (target RPL 0 < real CPL 1 faults): pop EIP, CS, EFLAGS. */
function emulateIretToKernel(c: TrapContext): StepResult {
  const g = c.guest;
  const ssBase = g.getSegmentBase(SegmentRegister.SS);
  const esp = g.getGpr(4);
  const eip = g.readLinear((ssBase + esp) >>> 0, 4);
  const cs = g.readLinear((ssBase + esp + 4) >>> 0, 4);
  const eflags = g.readLinear((ssBase + esp + 8) >>> 0, 4);
  if (eip === undefined || cs === undefined || eflags === undefined) return reflect(GP, 0);
  if ((cs & 3) !== 0) return { finish: { kind: 'stop', message: `iret to RPL ${cs & 3} trapped unexpectedly` } };
  if (!g.loadSegment(SegmentRegister.CS, compressedSelector(cs & 0xffff))) return reflect(GP, cs & 0xfffc);
  g.setGpr(4, (esp + 12) | 0);
  g.setEflags(((eflags & ~(EflagsBit.IF | EflagsBit.IOPL | EflagsBit.VM)) | EflagsBit.IF) >>> 0);
  c.vcpu.interruptFlag = (eflags & EflagsBit.IF) !== 0;
  g.setEip(eip);
  c.notes.push(`iret to the virtual kernel at 0x${eip.toString(16)}, virtual IF ← ${c.vcpu.interruptFlag ? 1 : 0}`);
  return { goto: 'resume' }; // EIP is already the return address: skip "advance guest EIP"
}

function emulateHalt(c: TrapContext): StepResult {
  if (!c.vcpu.interruptFlag && c.vcpu.pendingVectors.length === 0) {
    return { finish: { kind: 'stop', message: 'HLT with virtual interrupts disabled: the guest is stopped for good' } };
  }
  c.vcpu.halted = true;
  c.notes.push('the virtual CPU halts until the next virtual interrupt');
  return undefined;
}

// ---- reflection of guest exceptions and interrupts ----

function reflectionHandler(exit: VmExit): HandlerDefinition<TrapContext> {
  const vector = exit.vector ?? 0;
  return {
    name: exit.eventType === 'software-interrupt' ? `int 0x${vector.toString(16)}: reflect to the guest` : `reflect vector ${vector} to the guest`,
    layer: 'vmm',
    steps: [
      saveGuestState,
      step('reflect through the guest IDT', () => reflect(vector, exit.errorCode ?? -1), 'interruptInjection'),
    ],
  };
}

/** Delivers an outcome's reflection on the guest (used by the engine after a handler finished with 'reflect'). */
export function reflectOutcome(c: TrapContext, vector: number, errorCode: number | undefined, softwareInterrupt: boolean): string | undefined {
  const result = deliverToGuest(c.guest, c.vcpu, vector, errorCode ?? -1, softwareInterrupt ? 'software-interrupt' : 'hardware-exception');
  if (result.ok) return undefined;
  if (result.redirectTo !== undefined) {
    // The exception raised while delivering: handled serially, or a double fault (SDM Vol. 3A 6.15 Table 6-5).
    const next = softwareInterrupt ? result.redirectTo.vector : secondException(vector, result.redirectTo.vector);
    const second = deliverToGuest(c.guest, c.vcpu, next, next === DF ? 0 : result.redirectTo.errorCode, 'hardware-exception');
    if (second.ok) return undefined;
    if (next === DF || vector === DF) return `triple fault: vector ${vector} could not be delivered (${result.problem}), nor the double fault (${second.problem})`;
  }
  return `cannot deliver vector ${vector} to the guest: ${result.problem}`;
}

const DF = 8;
/** #DE, #TS, #NP, #SS, #GP: the contributory exceptions of SDM Vol. 3A Table 6-4. */
const isContributory = (vector: number): boolean => vector === 0 || (vector >= 10 && vector <= 13);

/** The exception delivered when `second` arises while delivering `first` (SDM Vol. 3A Table 6-5). */
function secondException(first: number, second: number): number {
  if (isContributory(first) && isContributory(second)) return DF;
  if (first === 14 && (isContributory(second) || second === 14)) return DF;
  return second;
}

/** Builds the dispatcher of the trap-and-emulate engine: one handler per SDM exit reason. */
export function trapAndEmulateDispatcher(): ExitDispatcher<TrapContext> {
  return new ExitDispatcher<TrapContext>()
    .on(ExitReason.ExceptionOrNmi, 'emulate cli/sti/iret/mov ss, or reflect the exception through the guest IDT', (exit, c) =>
      exit.vector === PF && exit.eventType === 'hardware-exception' && c.memory?.shadow.active === true && c.pageFault !== undefined
        ? pageFaultHandler(c.memory, c.pageFault)
        : exit.vector === GP && exit.eventType === 'hardware-exception' && c.instruction !== undefined && isEmulatedException(c.instruction)
          ? emulationHandler(`#GP: ${c.instruction.text}`, emulateException)
          : exit.vector === GP && exit.eventType === 'hardware-exception' && c.vcpu.cpl === 0 && c.instruction !== undefined && isLocalApicAccess(c.instruction)
            ? emulationHandler(`#GP: ${c.instruction.text} (local APIC MMIO)`, (x) => emulateLocalApicAccess(x.guest, x.instruction!, x.notes))
          : exit.vector === GP && exit.eventType === 'hardware-exception' && c.vcpu.cpl === 0 && taskSwitchTarget(c) !== undefined
            ? stopHandler(`#GP: ${c.instruction?.text}`, `${c.instruction?.text} targets ${taskSwitchTarget(c)} (selector 0x${(c.instruction?.farSelector ?? 0).toString(16)}): hardware task switches are not virtualized by this VMM`)
            : reflectionHandler(exit),
    )
    .on(ExitReason.Hlt, 'halt the virtual CPU until a virtual interrupt', () => emulationHandler('HLT', emulateHalt))
    .on(ExitReason.CrAccess, 'emulate MOV CRn / CLTS on the virtual CPU (a CR3 load switches shadow page tables)', (_exit, c) =>
      c.memory?.shadow.active === true && c.instruction?.controlRegister === 3 && c.instruction.toControlRegister === true
        ? cr3SwitchHandler(c.instruction.text)
        : emulationHandler(`CR access: ${c.instruction?.text}`, emulateControlRegister))
    .on(ExitReason.IoInstruction, 'perform the port access through the architecture\'s device path', (_exit, c) => emulationHandler(`I/O: ${c.instruction?.text}`, emulateIo, forwardIo))
    .on(ExitReason.GdtrIdtrAccess, 'load the virtual GDTR/IDTR', (_exit, c) => emulationHandler(`${c.instruction?.text}`, emulateDescriptorTableLoad))
    .on(ExitReason.LdtrTrAccess, 'load the virtual TR/LDTR', (_exit, c) => emulationHandler(`${c.instruction?.text}`, emulateSelectorLoad))
    .on(ExitReason.Invlpg, 'drop the shadow entry and the real TLB entry of the page', () => emulationHandler('INVLPG', emulateInvlpg))
    .on(ExitReason.Wbinvd, 'caches are not modelled', () => emulationHandler('WBINVD', () => undefined))
    .on(ExitReason.Invd, 'caches are not modelled', () => emulationHandler('INVD', () => undefined));
}

/**
 * A far JMP/CALL whose selector names a TSS or a task gate asks for a hardware task switch (SDM Vol. 3A 7.3),
 * which this VMM does not virtualize: the guest is stopped with that reason instead of misbehaving.
 */
function taskSwitchTarget(c: TrapContext): string | undefined {
  const selector = c.instruction?.farSelector;
  if (selector === undefined || (selector & 4) !== 0 || (selector & 0xfff8) === 0 || (selector | 7) > c.vcpu.gdtr.limit) return undefined;
  const high = c.guest.readLinear((c.vcpu.gdtr.base + (selector & 0xfff8) + 4) >>> 0, 4);
  if (high === undefined || (high & 0x1000) !== 0) return undefined; // code/data: an ordinary far transfer
  const type = (high >>> 8) & 0xf;
  if (type === 5) return 'a task gate';
  if (type === 1 || type === 3 || type === 9 || type === 11) return 'a TSS';
  return undefined;
}

function stopHandler(name: string, message: string): HandlerDefinition<TrapContext> {
  return { name, layer: 'vmm', steps: [saveGuestState, decodeFaultingInstruction, step('check', () => ({ finish: { kind: 'stop', message } }), 'emulationStep')] };
}

/**
 * The #GP causes the VMM emulates. Segment loads only for SS (a ring-0 SS faults at CPL 1 however valid); a #GP
 * on a DS/ES/FS/GS load is the guest's own (valid selectors do not fault there: the shadow GDT raised DPL 0
 * to 1), e.g. a selector beyond the GDT limit, and is reflected with the real CPU's error code, as on bare metal.
 */
function isEmulatedException(instruction: GuestInstruction): boolean {
  if (instruction.mnemonic === 'mov-sreg' || instruction.mnemonic === 'pop-sreg') return instruction.segmentRegister === SegmentRegister.SS;
  return ['cli', 'sti', 'iret', 'iretd'].includes(instruction.mnemonic);
}

/**
 * Classifies a trap the deprivileged guest took into a VmExit keyed by SDM exit reason: a #GP caused by a
 * privileged instruction becomes that instruction's VT-x exit (with a Table 28-3/28-5 qualification where the
 * SDM defines one); anything else stays reason 0 with its vector.
 */
export function classifyTrap(guest: GuestCpuAccess, instruction: GuestInstruction | undefined, vector: number, errorCode: number, softwareInterrupt: boolean): VmExit {
  const common = instruction === undefined ? { source: 'trap' as const, cpl: guest.cpl } : { source: 'trap' as const, cpl: guest.cpl, instruction };
  if (softwareInterrupt) return softwareInterruptExit(common, vector);
  if (vector !== GP || instruction === undefined || guest.cpl === 3) return exceptionExit(common, vector, errorCode >= 0 ? errorCode : undefined);
  const stringIo = instruction.stringIo;
  if (stringIo !== undefined) {
    const port = guest.getGpr(2) & 0xffff;
    const exit = ioExit(common, port, stringIo.size, stringIo.isIn, false);
    return { ...exit, qualification: encodeIo({ size: stringIo.size, isIn: stringIo.isIn, isString: true, isRep: stringIo.rep, immediatePort: false, port }) };
  }
  const reason = exitReasonForMnemonic(instruction.mnemonic);
  if (reason === ExitReason.IoInstruction && instruction.io !== undefined) {
    const port = instruction.io.port === 'dx' ? guest.getGpr(2) & 0xffff : instruction.io.port;
    return ioExit(common, port, instruction.io.size, instruction.io.isIn, instruction.io.port !== 'dx');
  }
  if (reason === ExitReason.CrAccess && instruction.controlRegister !== undefined && instruction.register !== undefined) {
    return crAccessExit(common, instruction.toControlRegister ? 'mov-to-cr' : 'mov-from-cr', instruction.controlRegister, instruction.register);
  }
  if (reason === ExitReason.ExceptionOrNmi) return exceptionExit(common, vector, errorCode >= 0 ? errorCode : 0);
  return instructionExit(common, reason);
}
