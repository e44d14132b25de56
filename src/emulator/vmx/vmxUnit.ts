// VMX operation of the IA-32 CPU (Intel SDM Vol. 3C chapters 24-27, instruction reference chapter 30):
// VMXON/VMXOFF, VMCLEAR, VMPTRLD/VMPTRST, VMREAD/VMWRITE, VMLAUNCH/VMRESUME, VMCALL and INVEPT in VMX root
// operation; VM entry (checks in entryChecks.ts, state in guestState.ts, event injection 26.6); VMX
// non-root operation (which instructions and events exit: nonRootExits.ts); and VM exits (27). The CPU
// reaches this unit through its `vmx` hooks: VMX instructions with CR4.VMXE set, and — in non-root
// operation — every instruction form that may exit and every exception, external interrupt and triple fault.
// The host is either code on the same CPU (a VMM written in assembly: host state is loaded on exit) or a
// software host (the built-in hardware-assisted engine: the CPU stops with 'exit' and keeps guest state).
// With "enable EPT" the CPU's MMU translates guest-physical addresses through EPT (../cpu/ept.ts); its
// violations and misconfigurations come back here as exits 48/49 (memoryExit). INVEPT: invept.ts.

import type { Cpu } from '../cpu/cpu';
import { EptWalker } from '../cpu/ept';
import { Vector } from '../cpu/faults';
import type { Insn } from '../cpu/insn';
import { deliverException, softwareInterrupt } from '../cpu/interrupts';
import { CPL, CR, CpuMode, EIP, Flag, MODE, MSR, MSR_SLOTS } from '../cpu/stateLayout';
import { INSTRUCTION_FORMS } from '../isa/table';
import { ExitReason } from '../vmm/exitReasons';
import { EventType, ExitControl, F, PinControl, Proc2Control, ProcControl, VmInstructionError } from './controls';
import { checkControls, checkGuestState, checkHostState, type EntryCheck } from './entryChecks';
import { loadGuestState, loadHostState, saveGuestState } from './guestState';
import { invept } from './invept';
import { ApicVirtualization } from './apicVirtualization';
import { instructionExit, mayExitForm, memoryOperandInfo, type ExitDecision } from './nonRootExits';
import { fieldAccess, Vmcs } from './vmcs';
import { loadVmxState, saveVmxState, type VmxSnapshot } from './vmxState';
import { ea, readE, writeE } from '../cpu/exec/operands';

/** Everything a VM exit records (mirrors the VMCS exit-information fields, SDM 25.9). */
export interface VmExitRecord {
  readonly reason: number;
  readonly qualification: number;
  readonly instructionLength: number;
  readonly instructionInfo: number;
  readonly interruptionInfo: number;
  readonly interruptionErrorCode: number;
  readonly guestLinearAddress: number;
  readonly guestPhysicalAddress: number;
  /** IDT-vectoring information (SDM 28.2.4): the event whose delivery the exit interrupted, 0 if none. */
  readonly idtVectoringInfo: number;
  readonly idtVectoringError: number;
  readonly guestRip: number;
  readonly entryFailure: boolean;
}

const NO_VMCS = -1;

export class VmxUnit {
  /** In VMX operation (after VMXON). */
  inVmxOperation = false;
  /** In VMX non-root operation (between a VM entry and the next VM exit). */
  nonRoot = false;
  vmxonPointer = NO_VMCS;
  current: Vmcs | null = null;
  /** VMCS regions seen by VMCLEAR/VMPTRLD, keyed by physical address. */
  readonly regions = new Map<number, Vmcs>();
  /** Software host (built-in VMM): exits stop the CPU with 'exit' and keep guest state in the registers. */
  softwareHost = false;
  /** The last VM exit (for the software host, the debugger and tests). */
  lastExit: VmExitRecord | null = null;
  /** VM exits by basic reason since the unit was created. */
  readonly exitCounts = new Map<number, number>();
  /** Entries performed (VMLAUNCH/VMRESUME that reached non-root operation). */
  entries = 0;
  /** Why the last VM entry failed (diagnostic text), '' after a successful one. */
  lastEntryFailure = '';
  /** True while an event injected by VM entry is delivered (it never exits through the exception bitmap). */
  private injecting = false;
  /** The EPT walker the MMU uses while a guest runs with "enable EPT" (its counters live across entries). */
  readonly ept: EptWalker;
  /** INVEPT executions by type (1 single-context, 2 all-context). */
  readonly inveptCounts = { singleContext: 0, allContext: 0 };
  /** "Use TPR shadow" and "virtualize APIC accesses" (apicVirtualization.ts), armed while a guest runs. */
  readonly apic: ApicVirtualization;

  constructor(readonly cpu: Cpu) {
    this.ept = new EptWalker(cpu.mmu.ram, cpu.fault);
    this.apic = new ApicVirtualization({ cpu, pending: this.ept.pending, exit: (fields) => this.exit(fields) });
  }

  /** Plain-data VMX state for CPU snapshots (vmxState.ts). */
  saveState(): VmxSnapshot {
    return saveVmxState(this);
  }

  loadState(snapshot: unknown): void {
    loadVmxState(this, snapshot as VmxSnapshot | undefined);
  }

  // ---- CPU hooks ---------------------------------------------------------------------------------

  /** RESET leaves VMX operation; VMCS data in memory regions survives (SDM Vol. 3C 23.8, 25.11.1). */
  reset(): void {
    this.inVmxOperation = false;
    this.nonRoot = false;
    this.vmxonPointer = NO_VMCS;
    this.current = null;
    this.softwareHost = false;
    this.apic.disarm();
    if (this.cpu.mmu.ept !== null) this.cpu.mmu.setEpt(null);
  }

  /** Decode-time filter: can this form exit in non-root operation (SDM 26.1)? */
  mayExit(formIndex: number): boolean {
    const form = INSTRUCTION_FORMS[formIndex];
    return form !== undefined && mayExitForm(form.mnemonic, form.category, form.opcodeText);
  }

  /**
   * Non-root: decides whether `insn` exits under the current controls. 'exit' performed the VM exit;
   * 'done' means the unit completed the instruction itself (shadowed CR0/CR4 accesses); 'run' lets it run.
   */
  instructionExits(cpu: Cpu, insn: Insn): ExitDecision {
    const vmcs = this.current;
    if (vmcs === null) return 'run';
    const decision = instructionExit(cpu, vmcs, insn);
    if (decision.kind !== 'exit') return decision.kind;
    this.exit({
      reason: decision.reason, qualification: decision.qualification, instructionLength: insn.length,
      instructionInfo: decision.instructionInfo, guestLinearAddress: decision.guestLinearAddress, rip: cpu.insnStart,
    });
    return 'exit';
  }

  /** Non-root: an exception (exception bitmap, SDM 25.2), external interrupt (25.6.1) or triple fault. */
  eventExits(kind: 'exception' | 'external-interrupt' | 'triple-fault', vector: number, errorCode: number, idtVectoring = 0, idtVectoringError = 0): boolean {
    const vmcs = this.current;
    // The injected event itself never exits through the exception bitmap; a fault while delivering it may (26.6).
    if (vmcs === null || (this.injecting && idtVectoring === 0)) return false;
    const s = this.cpu.s;
    if (kind === 'triple-fault') {
      this.exit({ reason: ExitReason.TripleFault, rip: s[EIP]! });
      return true;
    }
    if (kind === 'external-interrupt') {
      if ((vmcs.read(F.PIN_CONTROLS) & PinControl.ExternalInterruptExiting) === 0) return false;
      let info = 0;
      if ((vmcs.read(F.EXIT_CONTROLS) & ExitControl.AcknowledgeInterruptOnExit) !== 0) {
        info = 0x80000000 | (EventType.External << 8) | (this.cpu.interrupts.acknowledge() & 0xff);
      }
      s[MODE] = s[MODE]! & ~CpuMode.Halted;
      this.exit({ reason: ExitReason.ExternalInterrupt, interruptionInfo: info, rip: s[EIP]! });
      return true;
    }
    const bitmap = vmcs.read(F.EXCEPTION_BITMAP);
    let exits = (bitmap & (1 << vector)) !== 0;
    if (vector === Vector.PF) {
      const matches = ((errorCode & vmcs.read(F.PF_ERROR_MASK)) >>> 0) === vmcs.read(F.PF_ERROR_MATCH);
      exits = exits ? matches : !matches; // bit 14 selects whether a match or a mismatch exits (SDM 25.2)
    }
    if (!exits) return false;
    const hasError = errorCode >= 0;
    const type = vector === Vector.BP || vector === Vector.OF ? EventType.SoftwareException : EventType.HardwareException;
    this.exit({
      reason: ExitReason.ExceptionOrNmi,
      qualification: vector === Vector.PF ? s[CR + 2]! >>> 0 : 0,
      interruptionInfo: 0x80000000 | (hasError ? 0x800 : 0) | (type << 8) | vector,
      interruptionErrorCode: hasError ? errorCode : 0,
      idtVectoringInfo: idtVectoring, idtVectoringError,
      rip: s[EIP]!,
    });
    return true;
  }

  /**
   * An EPT violation (48) or misconfiguration (49) thrown by the MMU's 2-D walk (SDM 29.3.3, 28.2.1), or a
   * fault-like APIC-access exit (44) thrown by the APIC-access page (apicVirtualization.ts).
   */
  memoryExit(idtVectoring: number, idtVectoringError: number): void {
    const pending = this.ept.pending;
    if (this.current === null || !this.nonRoot) return;
    this.exit({
      reason: pending.reason, qualification: pending.qualification, guestPhysicalAddress: pending.guestPhysical,
      guestLinearAddress: pending.guestLinear, idtVectoringInfo: idtVectoring, idtVectoringError, rip: this.cpu.s[EIP]!,
    });
  }

  /** Whether the current VMCS enables EPT (secondary control 1 with the secondary controls active). */
  eptEnabled(vmcs: Vmcs): boolean {
    return (vmcs.read(F.PROC_CONTROLS) & ProcControl.ActivateSecondaryControls) !== 0 && (vmcs.read(F.PROC2_CONTROLS) & Proc2Control.EnableEpt) !== 0;
  }

  // ---- VMX instructions in root operation (SDM Vol. 3C chapter 30) -----------------------------------

  execute(cpu: Cpu, insn: Insn): void {
    const form = INSTRUCTION_FORMS[insn.formIndex]!;
    const mnemonic = form.mnemonic;
    if (mnemonic === 'vmxon') return this.vmxon(cpu, insn);
    if (!this.inVmxOperation) cpu.raise(Vector.UD, -1, `${mnemonic} outside VMX operation`);
    if (mnemonic !== 'vmcall' && cpu.s[CPL] !== 0) cpu.raise(Vector.GP, 0);
    switch (mnemonic) {
      case 'vmxoff':
        this.inVmxOperation = false;
        this.vmxonPointer = NO_VMCS;
        this.current = null;
        return this.succeed();
      case 'vmclear': return this.vmclear(cpu, insn);
      case 'vmptrld': return this.vmptrld(cpu, insn);
      case 'vmptrst':
        writeE(cpu, insn, 4, this.current === null ? -1 : this.current.address);
        cpu.writeSized(insn.seg, (ea(cpu, insn) + 4) | 0, 4, this.current === null ? -1 : 0); // FFFFFFFF_FFFFFFFF when invalid
        return this.succeed();
      case 'vmread': return this.vmread(cpu, insn);
      case 'vmwrite': return this.vmwrite(cpu, insn);
      case 'vmlaunch': return this.enterFromInstruction(true);
      case 'vmresume': return this.enterFromInstruction(false);
      case 'vmcall': return this.fail(VmInstructionError.VmcallInRoot);
      case 'invept': {
        const error = invept(this, cpu, insn);
        return error === 0 ? this.succeed() : this.fail(error);
      }
      default: cpu.raise(Vector.UD, -1, `${mnemonic} is not implemented`);
    }
  }

  private readPointer(cpu: Cpu, insn: Insn): number {
    const offset = ea(cpu, insn);
    const low = cpu.readSized(insn.seg, offset, 4) >>> 0;
    const high = cpu.readSized(insn.seg, (offset + 4) | 0, 4);
    // 4-KiB aligned and within the 32-bit physical-address width (IA32_VMX_BASIC[48], SDM A.1).
    return high !== 0 || (low & 0xfff) !== 0 ? -2 : low;
  }

  private revisionId(): number {
    return this.cpu.s[MSR + 2 * MSR_SLOTS.get(0x480)!]! & 0x7fffffff;
  }

  private regionRevision(address: number): number {
    let value = 0;
    for (let i = 3; i >= 0; i--) value = (value << 8) | (this.cpu.peekPhysical(address + i) ?? 0);
    return value & 0x7fffffff;
  }

  /** VMXON (SDM 30.3): CR0/CR4 fixed bits, IA32_FEATURE_CONTROL locked with "VMXON outside SMX" (bit 2). */
  private vmxon(cpu: Cpu, insn: Insn): void {
    const s = cpu.s;
    if (this.inVmxOperation) {
      if (s[CPL] !== 0) cpu.raise(Vector.GP, 0);
      return this.fail(VmInstructionError.VmxonInRoot);
    }
    const featureControl = s[MSR + 2 * MSR_SLOTS.get(0x3a)!]!;
    const cr0Fixed0 = s[MSR + 2 * MSR_SLOTS.get(0x486)!]!;
    if (s[CPL] !== 0 || (s[CR]! & cr0Fixed0) !== cr0Fixed0 || (featureControl & 5) !== 5) {
      cpu.raise(Vector.GP, 0, (featureControl & 5) !== 5 ? 'IA32_FEATURE_CONTROL must be locked with VMXON outside SMX enabled' : '');
    }
    const address = this.readPointer(cpu, insn);
    if (address < 0 || this.regionRevision(address) !== this.revisionId()) return this.failInvalid();
    this.inVmxOperation = true;
    this.vmxonPointer = address;
    this.current = null;
    this.succeed();
  }

  private vmclear(cpu: Cpu, insn: Insn): void {
    const address = this.readPointer(cpu, insn);
    if (address < 0) return this.fail(VmInstructionError.VmclearInvalidAddress);
    if (address === this.vmxonPointer) return this.fail(VmInstructionError.VmclearVmxonPointer);
    const vmcs = this.regionAt(address);
    vmcs.launchState = 'clear';
    if (this.current === vmcs) this.current = null;
    this.succeed();
  }

  private vmptrld(cpu: Cpu, insn: Insn): void {
    const address = this.readPointer(cpu, insn);
    if (address < 0) return this.fail(VmInstructionError.VmptrldInvalidAddress);
    if (address === this.vmxonPointer) return this.fail(VmInstructionError.VmptrldVmxonPointer);
    if (this.regionRevision(address) !== this.revisionId()) return this.fail(VmInstructionError.VmptrldWrongRevision);
    this.current = this.regionAt(address);
    this.succeed();
  }

  regionAt(address: number): Vmcs {
    let vmcs = this.regions.get(address);
    if (vmcs === undefined) {
      vmcs = new Vmcs(address);
      this.regions.set(address, vmcs);
    }
    return vmcs;
  }

  /** VMREAD r/m32, r32: the register operand holds the field encoding (SDM 30.3 VMREAD). */
  private vmread(cpu: Cpu, insn: Insn): void {
    if (this.current === null) return this.failInvalid();
    const encoding = cpu.s[insn.reg]! >>> 0;
    if (fieldAccess(encoding) === 'unsupported') return this.fail(VmInstructionError.UnsupportedVmcsComponent);
    writeE(cpu, insn, 4, this.current.read(encoding));
    this.succeed();
  }

  /** VMWRITE r32, r/m32: the register operand holds the encoding, r/m the value (SDM 30.3 VMWRITE). */
  private vmwrite(cpu: Cpu, insn: Insn): void {
    if (this.current === null) return this.failInvalid();
    const encoding = cpu.s[insn.reg]! >>> 0;
    const access = fieldAccess(encoding);
    if (access === 'unsupported') return this.fail(VmInstructionError.UnsupportedVmcsComponent);
    if (access === 'read-only') return this.fail(VmInstructionError.VmwriteReadOnlyComponent);
    this.current.write(encoding, readE(cpu, insn, 4));
    this.succeed();
  }

  // ---- VMsucceed / VMfail (SDM 30.2) -----------------------------------------------------------------

  private succeed(): void {
    this.cpu.setArithFlags(0);
  }

  private failInvalid(): void {
    this.cpu.setArithFlags(Flag.CF);
  }

  private fail(error: number): void {
    if (this.current === null) return this.failInvalid();
    this.current.write(F.VM_INSTRUCTION_ERROR, error);
    this.cpu.setArithFlags(Flag.ZF);
  }

  // ---- VM entry (SDM chapter 26) ---------------------------------------------------------------------

  private enterFromInstruction(launch: boolean): void {
    const vmcs = this.current;
    if (vmcs === null) return this.failInvalid();
    const result = this.enter(launch);
    if (!result.ok && result.error !== 0) this.fail(result.error);
  }

  /**
   * VMLAUNCH (launch) or VMRESUME: launch-state checks, control/host checks (VMfailValid), guest checks
   * (entry-failure exit 33), then guest-state load and event injection. Returns the check outcome.
   */
  enter(launch: boolean): EntryCheck {
    const cpu = this.cpu;
    const vmcs = this.current;
    if (vmcs === null) return { ok: false, error: VmInstructionError.EntryInvalidControlFields, detail: 'no current VMCS' };
    const state: EntryCheck = launch
      ? vmcs.launchState !== 'clear' ? { ok: false, error: VmInstructionError.VmlaunchNonClearVmcs, detail: 'VMLAUNCH with a launched VMCS' } : { ok: true }
      : vmcs.launchState !== 'launched' ? { ok: false, error: VmInstructionError.VmresumeNonLaunchedVmcs, detail: 'VMRESUME with a non-launched VMCS' } : { ok: true };
    const check = !state.ok ? state : (() => {
      const controls = checkControls(cpu, vmcs);
      if (!controls.ok) return controls;
      return this.softwareHost ? controls : checkHostState(cpu, vmcs);
    })();
    if (!check.ok) {
      this.lastEntryFailure = check.detail;
      return check;
    }
    const guest = checkGuestState(cpu, vmcs);
    if (!guest.ok) {
      this.lastEntryFailure = guest.detail;
      const qualification = 'qualification' in guest ? guest.qualification : 0;
      this.exit({ reason: ExitReason.InvalidGuestState, qualification, entryFailure: true, rip: cpu.s[EIP]! });
      return guest;
    }
    this.lastEntryFailure = '';
    loadGuestState(cpu, vmcs);
    vmcs.launchState = 'launched';
    this.nonRoot = true;
    this.entries++;
    if (this.eptEnabled(vmcs)) {
      this.ept.setPointer(vmcs.read(F.EPT_POINTER));
      cpu.mmu.setEpt(this.ept);
    }
    this.apic.arm(vmcs);
    this.invalidateTranslations();
    this.injectEvent(vmcs);
    return { ok: true };
  }

  /** Event injection through the guest IDT (SDM 26.6): never subject to the exception bitmap. */
  private injectEvent(vmcs: Vmcs): void {
    const info = vmcs.read(F.ENTRY_INTR_INFO);
    if ((info & 0x80000000) === 0) return;
    const cpu = this.cpu;
    const s = cpu.s;
    const vector = info & 0xff;
    const type = (info >>> 8) & 7;
    s[MODE] = s[MODE]! & ~CpuMode.Halted;
    this.injecting = true;
    try {
      cpu.insnStart = s[EIP]!;
      if (type === EventType.SoftwareInterrupt || type === EventType.SoftwareException || type === EventType.PrivilegedSoftwareException) {
        s[EIP] = (s[EIP]! + vmcs.read(F.ENTRY_INSTRUCTION_LEN)) | 0;
        softwareInterrupt(cpu, vector);
      } else {
        deliverException(cpu, vector, (info & 0x800) !== 0 ? vmcs.read(F.ENTRY_EXCEPTION_ERROR_CODE) : -1);
      }
    } catch (e) {
      if (e !== cpu.fault) throw e;
      deliverException(cpu, cpu.fault.vector, cpu.fault.hasErrorCode ? cpu.fault.errorCode : -1);
    } finally {
      this.injecting = false;
    }
  }

  // ---- VM exit (SDM chapter 27) ----------------------------------------------------------------------

  exit(fields: {
    reason: number; rip: number; qualification?: number; instructionLength?: number; instructionInfo?: number;
    interruptionInfo?: number; interruptionErrorCode?: number; guestLinearAddress?: number; guestPhysicalAddress?: number; entryFailure?: boolean;
    idtVectoringInfo?: number; idtVectoringError?: number;
  }): void {
    const cpu = this.cpu;
    const vmcs = this.current!;
    const entryFailure = fields.entryFailure === true;
    const record: VmExitRecord = {
      reason: fields.reason, qualification: fields.qualification ?? 0, instructionLength: fields.instructionLength ?? 0,
      instructionInfo: fields.instructionInfo ?? 0, interruptionInfo: fields.interruptionInfo ?? 0,
      interruptionErrorCode: fields.interruptionErrorCode ?? 0, guestLinearAddress: fields.guestLinearAddress ?? 0,
      guestPhysicalAddress: fields.guestPhysicalAddress ?? 0, idtVectoringInfo: fields.idtVectoringInfo ?? 0,
      idtVectoringError: fields.idtVectoringError ?? 0, guestRip: fields.rip, entryFailure,
    };
    if (!entryFailure) {
      cpu.s[EIP] = fields.rip;
      saveGuestState(cpu, vmcs);
    }
    vmcs.write(F.EXIT_REASON, ((entryFailure ? 0x80000000 : 0) | fields.reason) >>> 0);
    vmcs.write(F.EXIT_QUALIFICATION, record.qualification);
    vmcs.write(F.EXIT_INSTRUCTION_LEN, record.instructionLength);
    vmcs.write(F.VMX_INSTRUCTION_INFO, record.instructionInfo);
    vmcs.write(F.EXIT_INTR_INFO, record.interruptionInfo);
    vmcs.write(F.EXIT_INTR_ERROR_CODE, record.interruptionErrorCode);
    vmcs.write(F.GUEST_LINEAR_ADDRESS, record.guestLinearAddress);
    vmcs.write(F.GUEST_PHYSICAL_ADDRESS, record.guestPhysicalAddress);
    vmcs.write(F.IDT_VECTORING_INFO, record.idtVectoringInfo);
    vmcs.write(F.IDT_VECTORING_ERROR, record.idtVectoringError);
    vmcs.write(F.ENTRY_INTR_INFO, vmcs.read(F.ENTRY_INTR_INFO) & 0x7fffffff); // 27.2.? valid bit cleared
    this.nonRoot = false;
    this.apic.disarm();
    if (cpu.mmu.ept !== null) cpu.mmu.setEpt(null); // host state is addressed physically again
    this.lastExit = record;
    this.exitCounts.set(fields.reason, (this.exitCounts.get(fields.reason) ?? 0) + 1);
    if (this.softwareHost) {
      cpu.stopRequest = 'exit';
    } else {
      loadHostState(cpu, vmcs);
    }
    cpu.blockBreak = true;
    this.invalidateTranslations();
  }

  /** Non-root and root code must never share decoded blocks or translations (handlers differ per mode). */
  private invalidateTranslations(): void {
    this.cpu.blocks.clear();
    this.cpu.mmu.flush(true);
  }
}

export { memoryOperandInfo };
