// The hardware-assisted engine (issue 6, technique `hardware-assisted`): a root-mode client of the CPU's own
// VMX implementation (src/emulator/vmx). The unmodified ring-0 guest runs in VMX non-root operation under a
// VMCS this VMM fills from the booted state; the launch option `vmxControls` (controls.ts) chooses the
// VM-execution controls. Every VM exit is counted and handled through the ExitDispatcher keyed by SDM
// reasons (handlers.ts), recorded as vm-exit / handler / vm-entry transitions and charged to the ledger.
// With EPT (the default, SDM Vol. 3C 29.3) the guest keeps its own CR0/CR3/CR4 and page tables ("unrestricted
// guest"; only CR0.NE and CR4.VMXE are host-owned), CR3 accesses do not exit unless the CR3 controls ask for
// it, #PF goes straight to the guest, and the VMM builds the EPT lazily (lazyEpt.ts: one exit 48 per first
// touch of a guest page). Without EPT the VMM owns CR0.PG/NE and CR4.VMXE/PSE (guest/host masks, read shadows)
// and runs the guest on its own 4-MiB identity page directory, so CR3 accesses exit and are kept virtual
// (SDM 26.3, 27.2.1); a guest that enables paging then runs on shadow page tables (shadowAssist.ts).
// Page layout and control fields: vmcsSetup.ts (with TPR shadow and the APIC-access page, SDM Vol. 3C ch. 29).

import type { Cpu } from '../../cpu/cpu';
import {
  CR, CPL, EIP, GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, LDTR_SELECTOR, MODE, CpuMode, SEG_ACCESS, SEG_RIGHTS, SegmentRight, TR_ACCESS, TR_LIMIT, TR_SELECTOR,
} from '../../cpu/stateLayout';
import { readEflags } from '../../cpu/lazyFlags';
import { Ia32CpuAdapter } from '../../machine/cpuAdapter';
import type { Machine, MachineStop } from '../../machine/machine';
import { F } from '../../vmx/controls';
import { saveGuestState } from '../../vmx/guestState';
import type { Vmcs } from '../../vmx/vmcs';
import { VmxUnit } from '../../vmx/vmxUnit';
import { DevicePath } from '../io/devicePath';
import { CostLedger } from '../costLedger';
import type { CostModel, CostParameter } from '../costModel';
import type { EngineState, EngineStop, ExecutionEngine, VirtualCpuState } from '../engine';
import type { ExitCount } from '../exitDispatcher';
import type { HandlerExecution, HandlerExecutionState } from '../handlerSteps';
import { exitReasonName, ExitReason } from '../exitReasons';
import type { Architecture, Layer, Technique } from '../layers';
import { LayerStack } from '../layerStack';
import { TransitionLog, type TransitionKind } from '../transitions';
import type { VmExit } from '../vmExit';
import { DEFAULT_CONTROLS, type HardwareAssistControls } from './controls';
import { hardwareAssistDispatcher, type HardwareAssistContext } from './handlers';
import { LazyEpt } from './lazyEpt';
import { ShadowAssist } from './shadowAssist';
import { describeVmcs } from './vmcsView';
import { APIC_ACCESS_ADDRESS, prepareVmmPages, REGION_SIZE, VMCS_OFFSET, writeControls } from './vmcsSetup';
import type { MemoryVirtualizationStats, VmcsInfo } from '../inspection';

export interface HardwareAssistOptions {
  readonly architecture: Architecture;
  readonly costModel: CostModel;
  readonly controls?: HardwareAssistControls;
}

/** Ledger reason of the EPT references of 2-D TLB-miss walks. */
export const EPT_WALK_REASON = 'EPT references of 2-D TLB-miss walks';

/** Host-owned CR0/CR4 bits (guest/host masks): with EPT only the VMX fixed-1 bits NE and VMXE. */
const CR0_OWNED_EPT = 0x20;
const CR4_OWNED_EPT = 0x2000;
const CR0_OWNED_IDENTITY = 0x80010020; // PG, WP (write-protected guest tables in the shadows), NE
const CR4_OWNED_IDENTITY = 0x2010;

export class HardwareAssistEngine implements ExecutionEngine {
  readonly technique: Technique = 'hardware-assisted';
  readonly log = new TransitionLog();
  readonly ledger = new CostLedger();
  readonly controls: HardwareAssistControls;
  readonly unit: VmxUnit;
  private layerStack = new LayerStack('guest-kernel');
  private readonly dispatcher = hardwareAssistDispatcher();
  private readonly cpu: Cpu;
  private readonly vmmBase: number;
  private vmcs: Vmcs | null = null;
  private guestCr3 = 0;
  /** The lazily built EPT (null with EPT off). */
  private ept: LazyEpt | null = null;
  /** Shadow page tables (EPT off). */
  private shadowAssist: ShadowAssist | null = null;
  /**
   * Under shadow paging: the guest's CR2 (the address of the last #PF delivered to it). VMX does not virtualise
   * CR2, so every #PF the VMM handles itself (hidden, tracing) overwrites the real one: the VMM puts the
   * guest's back before resuming, as KVM does.
   */
  private guestCr2 = 0;
  private readonly cr0Owned: number;
  private readonly cr4Owned: number;
  private launched = false;
  private attached = false;
  /** A VM exit whose handler has not started: the machine stop that carried it was held back (noteHeldExit). */
  private exitPending = false;
  /** EPT walk references already charged to the ledger (chargeWalkReferences). */
  private chargedWalkReferences = 0;
  /** The exit handler in progress while the debugger steps through its named steps. */
  private active: { execution: HandlerExecution<HardwareAssistContext>; context: HardwareAssistContext } | null = null;

  constructor(private readonly machine: Machine, private readonly options: HardwareAssistOptions) {
    if (!(machine.cpu instanceof Ia32CpuAdapter)) throw new TypeError('hardware assist needs the IA-32 core (createPcMachine)');
    this.cpu = machine.cpu.core;
    this.controls = options.controls ?? DEFAULT_CONTROLS;
    const ramBytes = machine.memory.ram.length;
    const eptBytes = this.controls.ept ? LazyEpt.bytesFor(ramBytes) : 0;
    if (this.controls.ept) {
      this.vmmBase = (ramBytes - REGION_SIZE - eptBytes) & ~0xfff;
    } else {
      // Shadow paging: the engine's fixed pages sit in the fixed area of the VMM region the shadows use.
      this.shadowAssist = new ShadowAssist(this.cpu, machine.memory.ram, () => this.vmmBase);
      this.vmmBase = this.shadowAssist.region.base;
    }
    this.cr0Owned = this.controls.ept ? CR0_OWNED_EPT : CR0_OWNED_IDENTITY;
    this.cr4Owned = this.controls.ept ? CR4_OWNED_EPT : CR4_OWNED_IDENTITY;
    // The CPU's VMX unit: the machine's own if the recipe enables VMX, otherwise one attached for the VMM.
    if (this.cpu.vmx === null) this.cpu.vmx = new VmxUnit(this.cpu);
    this.unit = this.cpu.vmx as VmxUnit;
  }

  get stack(): LayerStack {
    return this.layerStack;
  }

  /** VMXON (software host), VMCS from the booted state, controls from the launch option. */
  attach(): EngineStop | undefined {
    const s = this.cpu.s;
    const ram = this.machine.memory.ram;
    prepareVmmPages(ram, this.vmmBase, this.controls.exitingPorts);
    const unit = this.unit;
    unit.softwareHost = true;
    unit.inVmxOperation = true;
    const vmcs = unit.regionAt(this.vmmBase + VMCS_OFFSET);
    unit.current = vmcs;
    this.vmcs = vmcs;
    // Shadows hold what the guest believes; the real registers get the host-owned bits (fixed-1 bits, identity paging).
    vmcs.write(F.CR0_MASK, this.cr0Owned);
    vmcs.write(F.CR0_SHADOW, s[CR]!);
    vmcs.write(F.CR4_MASK, this.cr4Owned);
    vmcs.write(F.CR4_SHADOW, s[CR + 4]!);
    this.guestCr3 = s[CR + 3]! >>> 0;
    this.guestCr2 = s[CR + 2]! >>> 0;
    s[CR] = s[CR]! | this.cr0Owned;
    s[CR + 4] = s[CR + 4]! | this.cr4Owned;
    if (this.controls.ept) {
      this.ept = new LazyEpt(ram, this.vmmBase + REGION_SIZE, this.vmmBase);
      this.ept.build();
      // The debugger shows guest memory the guest has not touched yet as it will be mapped (identity).
      const guestBytes = this.ept.guestBytes;
      unit.ept.peekFallback = (gpa) => (gpa < guestBytes ? gpa : -1);
      this.ept.mapApicAccessPage(APIC_ACCESS_ADDRESS);
      vmcs.write(F.EPT_POINTER, this.ept.pointer);
      vmcs.write(F.EPT_POINTER + 1, 0);
    } else {
      s[CR + 3] = this.vmmBase;
      // Shadow paging: every #PF exits; a guest already paging gets its shadow now.
      this.shadowAssist!.apply(vmcs.read(F.CR0_SHADOW), this.guestCr3, vmcs.read(F.CR4_SHADOW), true);
    }
    // A guest that never loaded TR still needs a busy TSS in the guest-state area (SDM 26.3.1.2).
    if ((s[TR_ACCESS]! & 0x1f) !== 0x0b) { s[TR_ACCESS] = 0x8b; s[TR_LIMIT] = 0x67; }
    for (let seg = 0; seg < 6; seg++) if ((s[SEG_RIGHTS + seg]! & SegmentRight.Usable) !== 0) s[SEG_ACCESS + seg] = s[SEG_ACCESS + seg]! | 1; // accessed
    writeControls(this.cpu, vmcs, this.controls, this.vmmBase);
    this.attached = true;
    return undefined;
  }

  run(budget: number): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    if (this.exitPending) this.startHandler(this.guestLayer());
    if (this.active !== null) {
      const finished = this.completeHandler();
      if (finished !== undefined) return finished;
    }
    let remaining = budget;
    while (remaining > 0) {
      if (!this.unit.nonRoot) {
        const problem = this.enterGuest();
        if (problem !== undefined) return problem;
      }
      const before = this.cpu.retired;
      const layer: Layer = this.cpu.s[CPL] === 3 ? 'guest-user' : 'guest-kernel';
      const stop = this.machine.run(remaining);
      const ran = this.cpu.retired - before;
      this.ledger.chargeInstructions(layer, ran, this.options.costModel.cycles('instruction'));
      this.chargeWalkReferences(layer);
      remaining -= Math.max(ran, 1);
      if (stop.reason === 'cpu-event' && !this.unit.nonRoot) {
        this.startHandler(layer);
        const problem = this.completeHandler();
        if (problem !== undefined) return problem;
        continue;
      }
      this.noteHeldExit(stop);
      if (stop.reason !== 'budget') return this.machineStop(stop);
    }
    return { kind: 'budget' };
  }

  private guestLayer(): Layer {
    return this.cpu.s[CPL] === 3 ? 'guest-user' : 'guest-kernel';
  }

  /**
   * A VM exit happened but the machine reported another stop: the debugger's watched run (runtime.ts
   * runWatchedFast) holds the 'cpu-event' back and hands it to step(), which must then start this exit's handler
   * instead of entering the guest again. The guest registers are still the exit's (software host).
   */
  private noteHeldExit(stop: MachineStop): void {
    if (stop.reason !== 'cpu-event' && this.attached && this.launched && !this.unit.nonRoot && this.active === null) this.exitPending = true;
  }

  /**
   * Runs the active handler's remaining steps, offering the machine's embedding (the debug adapter) an empty
   * run after each one: a stop it answers (a filter matched a transition the step recorded) ends the run with the
   * handler still active at the next step, exactly where debugger steps would stop. Then finishes the handler.
   */
  private completeHandler(): EngineStop | undefined {
    const active = this.active!;
    while (!active.execution.finished) {
      active.execution.step();
      if (active.execution.finished) break;
      const held = this.machine.run(0);
      if (held.reason !== 'budget' && held.reason !== 'breakpoint') {
        this.layerStack.setHandler(active.execution.snapshot());
        return this.machineStop(held);
      }
    }
    return this.finishHandler();
  }

  /**
   * Debugger step: one guest instruction; if it exits, the step ends at the start of the exit handler, and the
   * next steps run the handler's named steps ("read exit reason…", "perform the port access", "advance guest
   * RIP") one at a time, then VMRESUME.
   */
  step(): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    if (this.exitPending) { // an exit the debugger held back (noteHeldExit): its handler starts, no step runs
      this.startHandler(this.guestLayer());
      return { kind: 'step-done' };
    }
    if (this.active !== null) {
      this.active.execution.step();
      this.layerStack.setHandler(this.active.execution.snapshot());
      if (!this.active.execution.finished) return { kind: 'step-done' };
      // The handler's last step is its VMRESUME: enter the guest now, so the debugger sees the guest frame again
      // (and the vm-entry transition) at the end of this step, as a run(1) replay of the same position does.
      return this.finishHandler() ?? this.enterGuest() ?? { kind: 'step-done' };
    }
    if (!this.unit.nonRoot) {
      const problem = this.enterGuest();
      if (problem !== undefined) return problem;
    }
    const layer: Layer = this.cpu.s[CPL] === 3 ? 'guest-user' : 'guest-kernel';
    const before = this.cpu.retired;
    const stop = this.machine.run(1);
    this.ledger.chargeInstructions(layer, this.cpu.retired - before, this.options.costModel.cycles('instruction'));
    this.chargeWalkReferences(layer);
    if (stop.reason === 'cpu-event' && !this.unit.nonRoot) {
      this.startHandler(layer);
      return { kind: 'step-done' };
    }
    this.noteHeldExit(stop);
    return stop.reason === 'budget' ? { kind: 'step-done' } : this.machineStop(stop);
  }

  /** Writes the guest registers back to the VMCS and performs VMLAUNCH (first time) or VMRESUME. */
  private enterGuest(): EngineStop | undefined {
    const vmcs = this.vmcs!;
    saveGuestState(this.cpu, vmcs);
    const launch = !this.launched;
    const injected = vmcs.read(F.ENTRY_INTR_INFO);
    const result = this.unit.enter(launch);
    if (!result.ok) return { kind: 'stop', message: `${launch ? 'VMLAUNCH' : 'VMRESUME'} failed: ${result.detail}${result.error !== 0 ? ` (VM-instruction error ${result.error})` : ' (VM exit 33)'}` };
    this.launched = true;
    this.record('vmm', this.cpu.s[CPL] === 3 ? 'guest-user' : 'guest-kernel', 'vm-entry', launch ? 'VMLAUNCH' : 'VMRESUME', ['vmEntry'], {});
    if ((injected & 0x80000700) === (0x80000000 | (3 << 8))) this.chargeInjectedException(injected & 0xff);
    return undefined;
  }

  /**
   * An exception injected by VM entry (SDM Vol. 3C 26.6) is delivered by the CPU through the guest IDT, and the
   * guest's handler and its IRET then run natively: that is the native round trip the guest would have paid on
   * bare metal (A&A's native pgfault 1,093 / divzero 889 cycles), charged to the guest kernel on top of the exit,
   * the VMM's work and the entry. This is what first-generation VT pays for a reflected #PF under shadow paging
   * beyond the exit/entry pair: A&A Fig. 4 pgfault 11,242 cycles against BT's 3,927.
   */
  private chargeInjectedException(vector: number): void {
    const parameter: CostParameter = vector === 14 ? 'pageFaultDelivery' : 'exceptionDelivery';
    const cycles = this.options.costModel.cycles(parameter);
    this.ledger.charge('guest-kernel', `injected ${vector === 14 ? '#PF' : `vector ${vector}`}: delivery through the guest IDT, handler and IRET`, cycles);
    this.machine.addCycles(cycles);
  }

  /** A VM exit arrived: record it, build the VmExit record and start its handler (no step run yet). */
  private startHandler(guestLayer: Layer): void {
    this.exitPending = false;
    const record = this.unit.lastExit!;
    const vmcs = this.vmcs!;
    const name = exitReasonName(record.reason);
    const memory = record.reason === ExitReason.EptViolation || record.reason === ExitReason.EptMisconfiguration;
    this.record(guestLayer, 'vmm', 'vm-exit', `VM exit ${record.reason} (${name})`, ['vmExit'], {
      exitReason: record.reason, qualification: record.qualification, ...(memory ? { guestPhysicalAddress: record.guestPhysicalAddress } : {}),
    });
    const exit: VmExit = {
      reason: record.reason, source: 'vmx', qualification: record.qualification, instructionLength: record.instructionLength,
      cpl: guestLayer === 'guest-user' ? 3 : 0, guestLinearAddress: record.guestLinearAddress,
      ...((record.interruptionInfo & 0x80000000) !== 0 ? { vector: record.interruptionInfo & 0xff } : {}),
    };
    const context: HardwareAssistContext = {
      cpu: this.cpu, vmcs, exit: record, ports: this.machine.ports, guestCr3: this.guestCr3, notes: [], ept: this.ept,
      cr0Owned: this.cr0Owned, cr4Owned: this.cr4Owned, shadow: this.shadowAssist,
      exceptionBitmap: this.controls.exceptionBitmap,
      reinjectVectoredEvent: () => {
        const vectoring = record.idtVectoringInfo;
        if ((vectoring & 0x80000000) === 0) return;
        vmcs.write(F.ENTRY_INTR_INFO, (vectoring & ~0x1000) >>> 0);
        vmcs.write(F.ENTRY_EXCEPTION_ERROR_CODE, record.idtVectoringError);
        // The nested #PF overwrote CR2; a retried #PF the VMM injected must carry its own address again.
        if (this.shadowAssist !== null && (vectoring & 0x7ff) === 0x30e) this.cpu.s[CR + 2] = this.guestCr2;
        context.notes.push(`re-inject vector ${vectoring & 0xff}, whose delivery the exit interrupted`);
      },
      restoreGuestCr2: () => {
        if (this.shadowAssist !== null) this.cpu.s[CR + 2] = this.guestCr2;
      },
      setGuestCr2: (address) => {
        this.guestCr2 = address >>> 0;
      },
      injectPageFault: (errorCode) => {
        this.guestCr2 = record.qualification >>> 0;
        vmcs.write(F.ENTRY_INTR_INFO, (0x80000000 | 0x800 | (3 << 8) | 14) >>> 0); // hardware exception #PF (SDM 25.8.3)
        vmcs.write(F.ENTRY_EXCEPTION_ERROR_CODE, errorCode);
      },
      executeInRoot: () => {
        this.cpu.run(1); // same instruction, same registers, root operation: the bare-metal effect
        return undefined;
      },
    };
    const execution = this.dispatcher.dispatch(exit, context, (parameter, stepName) => this.charge(`${name}: ${stepName}`, parameter as CostParameter));
    // A port access goes through the architecture's I/O path as steppable hop handlers (../io/devicePath.ts).
    if (record.reason === ExitReason.IoInstruction) execution.delegateAt('perform the port access', (_c, perform, caller) => new DevicePath(this.options.architecture, { record: (hop) => this.record(hop.from, hop.to, hop.kind, hop.reason, hop.costs, {}), stack: () => this.layerStack }).start(`port 0x${(record.qualification >>> 16).toString(16)}`, perform, caller));
    this.active = { execution, context };
    this.layerStack.setHandler(execution.snapshot());
  }

  /** The handler finished: keep its effects, leave the handler frame; a stop outcome ends the run. */
  private finishHandler(): EngineStop | undefined {
    const active = this.active!;
    this.active = null;
    this.layerStack.setHandler(undefined);
    this.guestCr3 = active.context.guestCr3 >>> 0;
    const outcome = active.execution.outcome;
    if (outcome !== undefined && outcome.kind === 'stop') return { kind: 'stop', message: outcome.message };
    return undefined;
  }

  private record(from: Layer, to: Layer, kind: TransitionKind, reason: string, costs: readonly CostParameter[], details: Record<string, string | number | boolean>): void {
    const cost = this.options.costModel.pathCycles(costs);
    const transition = this.log.record({ cycle: this.machine.now(), from, to, kind, reason, details, cost });
    if (!this.layerStack.apply(transition).ok) this.layerStack = new LayerStack(to);
    if (cost > 0) {
      this.ledger.charge(to === 'guest-kernel' || to === 'guest-user' ? from : to, reason, cost);
      this.machine.addCycles(cost);
    }
  }

  /**
   * The EPT references of the 2-D walks since the last charge (cpu/ept.ts counts them per TLB miss), priced per
   * reference and charged to the guest layer whose accesses missed the TLB: what nested paging adds to a native
   * walk (virtualization.md §7). Ledger only: like bulk-charged instructions, they do not move virtual time.
   */
  private chargeWalkReferences(layer: Layer): void {
    const references = this.unit.ept.counters.eptReferences;
    const added = references - this.chargedWalkReferences;
    this.chargedWalkReferences = references; // (a restored CPU snapshot may have moved the counter back)
    if (added <= 0) return;
    this.ledger.charge(layer, EPT_WALK_REASON, added * this.options.costModel.cycles('eptWalkReference'), added);
  }

  private charge(reason: string, parameter: CostParameter): void {
    const cycles = this.options.costModel.cycles(parameter);
    this.ledger.charge('vmm', reason, cycles);
    this.machine.addCycles(cycles);
  }

  private machineStop(stop: MachineStop): EngineStop {
    switch (stop.reason) {
      case 'guest-exit': return { kind: 'guest-exit', status: stop.exitStatus ?? 0 };
      case 'shutdown': return { kind: 'shutdown', reason: stop.detail };
      case 'halt': return { kind: 'halt' };
      case 'breakpoint': return { kind: 'breakpoint', address: this.cpu.s[EIP]! >>> 0 };
      default: return { kind: 'stop', message: stop.detail };
    }
  }

  activeHandler(): HandlerExecutionState | undefined {
    return this.active?.execution.snapshot();
  }

  /** What the guest believes: shadows for host-owned CR bits, the virtual CR3. */
  virtualCpu(): VirtualCpuState {
    const s = this.cpu.s;
    const vmcs = this.vmcs;
    const cr0 = vmcs === null ? s[CR]! : (s[CR]! & ~this.cr0Owned) | (vmcs.read(F.CR0_SHADOW) & this.cr0Owned);
    const cr4 = vmcs === null ? s[CR + 4]! : (s[CR + 4]! & ~this.cr4Owned) | (vmcs.read(F.CR4_SHADOW) & this.cr4Owned);
    const eflags = readEflags(s);
    return {
      cpl: s[CPL]!, interruptFlag: (eflags & 0x200) !== 0, iopl: (eflags >>> 12) & 3, cr0: cr0 >>> 0, cr2: s[CR + 2]! >>> 0,
      cr3: (this.ept !== null ? s[CR + 3]! : this.guestCr3) >>> 0, cr4: cr4 >>> 0, gdtr: { base: s[GDTR_BASE]! >>> 0, limit: s[GDTR_LIMIT]! & 0xffff },
      idtr: { base: s[IDTR_BASE]! >>> 0, limit: s[IDTR_LIMIT]! & 0xffff }, ldtr: s[LDTR_SELECTOR]! & 0xffff, tr: s[TR_SELECTOR]! & 0xffff,
      pendingVectors: [],
    };
  }

  exitCounts(): readonly ExitCount[] {
    return this.dispatcher.exitCounts();
  }

  saveState(): EngineState {
    return {
      technique: this.technique, stack: this.layerStack.toJSON(),
      extra: {
        vmcs: this.vmcs?.toJSON(), guestCr3: this.guestCr3, launched: this.launched, nonRoot: this.unit.nonRoot, eptFills: this.ept?.fills ?? 0,
        shadow: this.shadowAssist?.shadow.toJSON(), shadowPages: this.shadowAssist?.region.allocatedPages(), guestCr2: this.guestCr2,
        chargedWalkReferences: this.chargedWalkReferences, exitPending: this.exitPending,
      },
    };
  }

  loadState(state: EngineState): void {
    this.layerStack = LayerStack.fromJSON(state.stack);
    const extra = state.extra as { guestCr3?: number; launched?: boolean; eptFills?: number; shadow?: unknown; shadowPages?: number[]; guestCr2?: number; chargedWalkReferences?: number; exitPending?: boolean } | undefined;
    // The shadow tables' pages (older snapshots without the list keep the current allocation).
    if (this.shadowAssist !== null && extra?.shadowPages !== undefined) this.shadowAssist.region.restoreAllocation(extra.shadowPages);
    if (this.shadowAssist !== null && extra?.shadow !== undefined) this.shadowAssist.shadow.restore(extra.shadow);
    this.guestCr2 = extra?.guestCr2 ?? this.guestCr2;
    this.chargedWalkReferences = extra?.chargedWalkReferences ?? this.unit.ept.counters.eptReferences;
    this.exitPending = extra?.exitPending ?? false;
    this.guestCr3 = extra?.guestCr3 ?? this.guestCr3;
    this.launched = extra?.launched ?? this.launched;
    if (this.ept !== null) this.ept.fills = extra?.eptFills ?? this.ept.fills;
  }

  /** The current VMCS grouped as SDM Vol. 3C 25.3-25.9 groups it, decoded where the SDM gives meaning. */
  vmcsInfo(): VmcsInfo | undefined {
    return this.vmcs === null ? undefined : describeVmcs(this.vmcs);
  }

  /** Nested paging (EPT) counters: 2-D walks, references per TLB miss, violations that filled the EPT. */
  memoryStats(): MemoryVirtualizationStats {
    const ept = this.ept;
    if (this.shadowAssist !== null) {
      const shadow = this.shadowAssist.shadow;
      return { scheme: 'shadow-paging', counters: { ...shadow.counters, vmmPagesInUse: this.shadowAssist.region.pagesInUse } };
    }
    if (ept === null) return { scheme: 'none', counters: {} };
    return {
      scheme: 'nested-paging',
      counters: { ...this.unit.ept.counters, eptFills: ept.fills, mappedGuestPages: ept.mappedPages(), guestRamBytes: ept.guestBytes },
    };
  }

  /** Whether the guest is halted in non-root operation (HLT without HLT exiting, or resumed after an HLT exit). */
  get guestHalted(): boolean {
    return (this.cpu.s[MODE]! & CpuMode.Halted) !== 0;
  }
}
