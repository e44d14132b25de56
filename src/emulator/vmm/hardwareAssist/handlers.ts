// Exit handlers of the built-in hardware-assisted VMM, one per SDM basic exit reason, registered on the VMM's
// ExitDispatcher (the same dispatcher shape every technique uses). They run in VMX root operation with the
// guest's registers still in the CPU (a software host, see vmx/vmxUnit.ts) and the VMCS holding the rest;
// the engine writes the registers back to the VMCS guest-state area before VMRESUME.

import type { AccessSize } from '../../hw/contracts';
import type { Cpu } from '../../cpu/cpu';
import { cpuid } from '../../cpu/identity';
import { readEflags } from '../../cpu/lazyFlags';
import { CR, CpuMode, EIP, Flag, MODE, SEG_BASE, Seg } from '../../cpu/stateLayout';
import type { PortBus } from '../../hw/contracts';
import { F } from '../../vmx/controls';
import type { Vmcs } from '../../vmx/vmcs';
import type { VmExitRecord } from '../../vmx/vmxUnit';
import { ExitDispatcher } from '../exitDispatcher';
import { decodeCrAccess, decodeIo } from '../exitQualification';
import { ExitReason } from '../exitReasons';
import type { HandlerDefinition, StepResult } from '../handlerSteps';
import { hypercallByName, HypercallError } from '../hypercalls';
import type { LazyEpt } from './lazyEpt';
import { shadowPageFaultHandler, type ShadowAssist } from './shadowAssist';

export interface HardwareAssistContext {
  readonly cpu: Cpu;
  readonly vmcs: Vmcs;
  readonly exit: VmExitRecord;
  readonly ports: PortBus;
  /** The CR3 the guest believes it loaded (the real CR3 is the VMM's identity page directory). */
  guestCr3: number;
  /** The VMM's lazily built EPT (null with EPT off: identity paging, virtual CR3). */
  readonly ept: LazyEpt | null;
  /** Host-owned CR0 / CR4 bits (the guest/host masks). */
  readonly cr0Owned: number;
  readonly cr4Owned: number;
  /** Shadow page tables (EPT off), null with EPT. */
  readonly shadow: ShadowAssist | null;
  /** The exception bitmap the launch options asked for (shadow paging adds #PF to the real one). */
  readonly exceptionBitmap: number;
  /** Inject #PF with this error code on the next VM entry (CR2 already holds the address). */
  injectPageFault(errorCode: number): void;
  /** Inject again the event named by the exit's IDT-vectoring information, if valid (SDM 28.2.4). */
  reinjectVectoredEvent(): void;
  /** Shadow paging: put the guest's CR2 back into the real CR2 (a VMM-handled #PF overwrote it). */
  restoreGuestCr2(): void;
  /** Shadow paging: a #PF with this CR2 is being reflected to the guest. */
  setGuestCr2(address: number): void;
  /** Execute the exiting instruction once in root operation on the guest's registers (same effect as bare metal). */
  executeInRoot(): StepResult;
  readonly notes: string[];
}


function advance(c: HardwareAssistContext): StepResult {
  c.cpu.s[EIP] = (c.exit.guestRip + c.exit.instructionLength) | 0;
  return undefined;
}

function handler(name: string, steps: readonly [string, (c: HardwareAssistContext) => StepResult, string?][]): HandlerDefinition<HardwareAssistContext> {
  return {
    name,
    layer: 'vmm',
    steps: [
      { name: 'read exit reason and qualification (VMREAD)', run: () => undefined },
      ...steps.map(([stepName, run, cost]) => (cost === undefined ? { name: stepName, run } : { name: stepName, run, cost })),
    ],
  };
}

function emulateCpuid(c: HardwareAssistContext): StepResult {
  const leaf = c.cpu.s[0]! >>> 0;
  cpuid(c.cpu);
  if (leaf === 1) c.cpu.s[1] &= ~(1 << 5); // no nested VMX for the guest
  return undefined;
}

function emulateHlt(c: HardwareAssistContext): StepResult {
  c.cpu.s[MODE] |= CpuMode.Halted; // resume in the HLT activity state (SDM 25.4.2)
  c.notes.push('guest halts: VM entry with activity state HLT');
  return undefined;
}

/** The guest's view of CR0 or CR4: host-owned bits from the read shadow (SDM 26.3). */
function virtualCr(c: HardwareAssistContext, cr: 0 | 4): number {
  const owned = cr === 0 ? c.cr0Owned : c.cr4Owned;
  return ((c.cpu.s[CR + cr]! & ~owned) | (c.vmcs.read(cr === 0 ? F.CR0_SHADOW : F.CR4_SHADOW) & owned)) >>> 0;
}

/** Control-register exits (Table 27-3): CR3 is virtual; CR0/CR4 writes update the read shadows. */
function emulateCrAccess(c: HardwareAssistContext): StepResult {
  const q = decodeCrAccess(c.exit.qualification);
  const s = c.cpu.s;
  if (q.accessType === 'mov-from-cr') {
    s[q.gpr] = q.controlRegister === 3 ? c.guestCr3 : s[CR + q.controlRegister]!;
    return undefined;
  }
  if (q.accessType === 'clts') {
    c.vmcs.write(F.CR0_SHADOW, c.vmcs.read(F.CR0_SHADOW) & ~8);
    s[CR] &= ~8;
    return undefined;
  }
  const value = q.accessType === 'lmsw' ? (c.vmcs.read(F.CR0_SHADOW) & ~0xf) | (q.lmswSourceData & 0xf) : s[q.gpr]! >>> 0;
  switch (q.controlRegister) {
    case 3:
      c.guestCr3 = value;
      if (c.shadow !== null) {
        c.shadow.apply(virtualCr(c, 0), value, virtualCr(c, 4), true);
        c.notes.push(`guest CR3 ← 0x${value.toString(16)}: switch to its shadow page directory`);
      } else if (c.ept !== null) {
        s[CR + 3] = value; // with EPT the guest's CR3 is the real one (the exit only shows the control at work)
        c.notes.push(`guest CR3 ← 0x${value.toString(16)} (loaded for the guest: CR3-load exiting is on)`);
      } else {
        c.notes.push(`guest CR3 ← 0x${value.toString(16)} (kept virtual: the guest runs without paging)`);
      }
      return undefined;
    case 0:
      c.vmcs.write(F.CR0_SHADOW, value);
      s[CR] = value | c.cr0Owned;
      c.shadow?.apply(value, c.guestCr3, virtualCr(c, 4), false);
      return undefined;
    case 4:
      c.vmcs.write(F.CR4_SHADOW, value);
      s[CR + 4] = value | c.cr4Owned;
      c.shadow?.apply(virtualCr(c, 0), c.guestCr3, value, false);
      return undefined;
    default:
      return { finish: { kind: 'stop', message: `unexpected control-register exit for CR${q.controlRegister}` } };
  }
}

/** I/O exits (Table 27-5) performed on the machine's port bus, including INS/OUTS with REP. */
function emulateIo(c: HardwareAssistContext): StepResult {
  const q = decodeIo(c.exit.qualification);
  if (q === undefined) return { finish: { kind: 'stop', message: 'malformed I/O exit qualification' } };
  const s = c.cpu.s;
  const size = q.size as AccessSize;
  const mask = size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff;
  if (!q.isString) {
    if (q.isIn) {
      const value = c.ports.read(q.port, size) & mask;
      s[0] = size === 4 ? value : (s[0]! & ~mask) | value;
    } else {
      c.ports.write(q.port, size, (s[0]! & mask) >>> 0);
    }
    c.notes.push(`${q.isIn ? 'in' : 'out'} port 0x${q.port.toString(16)}`);
    return undefined;
  }
  const step = (readEflags(s) & Flag.DF) !== 0 ? -size : size;
  let count = q.isRep ? s[1]! >>> 0 : 1;
  while (count > 0) {
    if (q.isIn) {
      const value = c.ports.read(q.port, size);
      for (let i = 0; i < size; i++) c.cpu.pokeLinear((s[SEG_BASE + Seg.ES]! + s[7]! + i) | 0, (value >>> (8 * i)) & 0xff);
      s[7] = (s[7]! + step) | 0;
    } else {
      let value = 0;
      for (let i = size - 1; i >= 0; i--) value = (value << 8) | (c.cpu.peekLinear((s[SEG_BASE + Seg.DS]! + s[6]! + i) | 0) ?? 0xff);
      c.ports.write(q.port, size, value >>> 0);
      s[6] = (s[6]! + step) | 0;
    }
    count--;
    if (q.isRep) s[1] = count;
  }
  return undefined;
}

/** VMCALL: the hypercall path of hardware assist (EAX = number, Xen-style console_io write on EBX/ECX/EDX). */
function emulateVmcall(c: HardwareAssistContext): StepResult {
  const s = c.cpu.s;
  const consoleIo = hypercallByName('console_io');
  if (consoleIo !== undefined && s[0] === consoleIo.number && s[3] === 0) {
    const count = s[1]! >>> 0;
    for (let i = 0; i < count && i < 4096; i++) c.ports.write(0x3f8, 1, c.cpu.peekLinear((s[2]! + i) | 0) ?? 0);
    c.notes.push(`console_io: ${count} bytes to COM1`);
    s[0] = 0;
  } else {
    s[0] = HypercallError.ENOSYS;
  }
  return undefined;
}

/** Exceptions (exception bitmap) and external interrupts are reflected / injected on the next VM entry (26.6). */
function injectEvent(c: HardwareAssistContext): StepResult {
  const info = c.exit.interruptionInfo;
  if (c.exit.reason === ExitReason.ExternalInterrupt) {
    const vector = (info & 0x80000000) !== 0 ? info & 0xff : c.cpu.interrupts.acknowledge() & 0xff;
    c.vmcs.write(F.ENTRY_INTR_INFO, 0x80000000 | vector);
    c.notes.push(`inject external interrupt vector 0x${vector.toString(16)}`);
    return undefined;
  }
  c.vmcs.write(F.ENTRY_INTR_INFO, info >>> 0);
  c.vmcs.write(F.ENTRY_EXCEPTION_ERROR_CODE, c.exit.interruptionErrorCode);
  if ((info & 0xff) === 14) c.setGuestCr2(c.exit.qualification); // the reflected #PF's CR2 is the guest's now
  c.vmcs.write(F.ENTRY_INSTRUCTION_LEN, c.exit.instructionLength);
  c.notes.push(`reflect vector ${info & 0xff} into the guest`);
  return undefined;
}

/**
 * EPT violation (exit 48, SDM Vol. 3C 29.3.3.2): the first touch of a guest page fills its EPT entry; the guest
 * retries the same instruction. An event whose delivery the violation interrupted (IDT-vectoring information,
 * 28.2.4) is injected again on the next entry (27.2.4 guidance to VMMs).
 */
function fillEpt(c: HardwareAssistContext): StepResult {
  const gpa = c.exit.guestPhysicalAddress >>> 0;
  if (c.ept === null) return { finish: { kind: 'stop', message: `EPT violation at guest-physical 0x${gpa.toString(16)} without EPT` } };
  if (!c.ept.fill(gpa)) {
    return { finish: { kind: 'stop', message: `the guest accessed guest-physical 0x${gpa.toString(16)}, outside its RAM (0-0x${(c.ept.guestBytes - 1).toString(16)}; the VMM owns the pages above)` } };
  }
  c.notes.push(`EPT: map guest page 0x${(gpa & ~0xfff).toString(16)} (fill ${c.ept.fills})`);
  c.reinjectVectoredEvent();
  return undefined;
}

/** INVLPG under shadow paging: the exit qualification is the linear address (SDM Table 28-1). */
function invalidateShadow(c: HardwareAssistContext): StepResult {
  c.shadow!.shadow.invalidatePage(c.exit.qualification >>> 0);
  c.notes.push(`INVLPG 0x${(c.exit.qualification >>> 0).toString(16)}: shadow entry dropped`);
  return undefined;
}

export function hardwareAssistDispatcher(): ExitDispatcher<HardwareAssistContext> {
  const native = (what: string) => (_exit: unknown, _c: HardwareAssistContext) => handler(what, [['execute the instruction for the guest in root operation', (c) => c.executeInRoot(), 'emulationStep']]);
  return new ExitDispatcher<HardwareAssistContext>()
    .on(ExitReason.ExceptionOrNmi, 'reflect the exception through the guest IDT (event injection); #PF under shadow paging', (exit, c) => {
      // Under shadow paging every #PF exits; unless the launch options also asked for #PF exits, classify it.
      if (c.shadow !== null && exit.vector === 14 && (c.exceptionBitmap & (1 << 14)) === 0) {
        return shadowPageFaultHandler<HardwareAssistContext>(c.shadow, exit.qualification >>> 0, c.exit.interruptionErrorCode);
      }
      return handler('exception (reason 0)', [['set VM-entry interruption information', injectEvent, 'interruptInjection']]);
    })
    .on(ExitReason.ExternalInterrupt, 'acknowledge and inject the interrupt', () => handler('external interrupt (reason 1)', [['inject through VM-entry interruption information', injectEvent, 'interruptInjection']]))
    .on(ExitReason.TripleFault, 'the guest shut down', () => handler('triple fault (reason 2)', [['stop the guest', () => ({ finish: { kind: 'stop', message: 'the guest triple-faulted (VM exit 2)' } })]]))
    .on(ExitReason.Cpuid, 'CPUID of the host model without VMX', () => handler('CPUID (reason 10)', [['execute CPUID, hide VMX', emulateCpuid, 'emulationStep'], ['advance guest RIP', advance]]))
    .on(ExitReason.Hlt, 'enter the HLT activity state', () => handler('HLT (reason 12)', [['advance guest RIP', advance], ['set activity state HLT', emulateHlt, 'emulationStep']]))
    .on(ExitReason.Invd, 'caches are not modelled', () => handler('INVD (reason 13)', [['advance guest RIP', advance]]))
    .on(ExitReason.Invlpg, 'INVLPG', (_exit, c) => c.shadow === null ? handler('INVLPG (reason 14)', [['execute the instruction for the guest in root operation', (x) => x.executeInRoot(), 'emulationStep']]) :
      handler('INVLPG (reason 14)', [['drop the shadow entry for the page', invalidateShadow, 'emulationStep'], ['advance guest RIP', advance]]))
    .on(ExitReason.Rdtsc, 'RDTSC', native('RDTSC (reason 16)'))
    .on(ExitReason.Vmcall, 'hypercall', () => handler('VMCALL (reason 18)', [['dispatch the hypercall', emulateVmcall, 'hypercall'], ['advance guest RIP', advance]]))
    .on(ExitReason.CrAccess, 'control-register access', () => handler('CR access (reason 28)', [['emulate on the virtual control registers', emulateCrAccess, 'emulationStep'], ['advance guest RIP', advance]]))
    .on(ExitReason.MovDr, 'MOV DR', native('MOV DR (reason 29)'))
    .on(ExitReason.IoInstruction, "perform the port access through the architecture's device path", () => handler('I/O instruction (reason 30)', [['perform the port access', emulateIo, 'deviceAccess'], ['advance guest RIP', advance]]))
    .on(ExitReason.Rdmsr, 'RDMSR', native('RDMSR (reason 31)'))
    .on(ExitReason.Wrmsr, 'WRMSR', native('WRMSR (reason 32)'))
    .on(ExitReason.InvalidGuestState, 'VM entry failed', () => handler('VM-entry failure (reason 33)', [['stop', () => ({ finish: { kind: 'stop', message: 'VM entry failed: invalid guest state' } })]]))
    .on(ExitReason.TprBelowThreshold, 'the virtual TPR fell below the TPR threshold', () => handler('TPR below threshold (reason 43)', [
      ['no virtual interrupt is pending: TPR threshold ← 0', (c) => {
        c.vmcs.write(F.TPR_THRESHOLD, 0);
        return undefined;
      }, 'emulationStep'],
    ]))
    .on(ExitReason.ApicAccess, 'an APIC register other than the TPR: performed on the local APIC', () => handler('APIC access (reason 44)', [
      ['perform the access on the local APIC in root operation', (c) => {
        c.notes.push(`APIC ${(c.exit.qualification & 0xf000) === 0x1000 ? 'write' : 'read'} at offset 0x${(c.exit.qualification & 0xfff).toString(16)}`);
        return c.executeInRoot();
      }, 'apicAccess'],
    ]))
    .on(ExitReason.GdtrIdtrAccess, 'LGDT/LIDT/SGDT/SIDT', native('GDTR/IDTR access (reason 46)'))
    .on(ExitReason.LdtrTrAccess, 'LLDT/LTR/SLDT/STR', native('LDTR/TR access (reason 47)'))
    .on(ExitReason.EptViolation, 'map the guest page in the EPT (lazy nested paging)', () => handler('EPT violation (reason 48)', [['fill the EPT entry for the guest-physical address', fillEpt, 'emulationStep']]))
    .on(ExitReason.EptMisconfiguration, 'malformed EPT entry', () => handler('EPT misconfiguration (reason 49)', [['stop', (c) => ({ finish: { kind: 'stop', message: `EPT misconfiguration at guest-physical 0x${(c.exit.guestPhysicalAddress >>> 0).toString(16)} (a VMM bug)` } })]]))
    .on(ExitReason.Wbinvd, 'caches are not modelled', () => handler('WBINVD (reason 54)', [['advance guest RIP', advance]]));
}
