// The trap-and-emulate engine on the real machine (issue 5, technique 1): the guest kernel is deprivileged to
// ring 1 under VMM-owned GDT/IDT/TSS (shadowTables.ts), every exception, software interrupt and external
// interrupt is intercepted through the CPU's event hook, classified by SDM exit reason and handled by the
// named-step handlers (handlers.ts); guest faults and interrupts are reflected through the guest's virtual IDT
// (reflect.ts). Sensitive-but-unprivileged instructions (POPF, PUSHF, SGDT, SIDT, STR, SMSW, MOV from CS/SS)
// are not intercepted and show the real state, which is the lesson of samples/vmm/popf-demo.asm and redpill.asm.
// Every VMM entry and exit is recorded as Transitions and charged to the cost ledger per layer and reason.
// Guests that page run on shadow page tables (../memory/shadowPaging.ts, memoryHandlers.ts; while they page the
// VMM's tables move to the top of the linear space, realTables.ts); VMM pages come from vmmRegion.ts.

import type { Cpu, CpuEventKind } from '../../cpu/cpu';
import { CPL, CR, CpuMode, GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, LDTR_SELECTOR, MODE, TR_SELECTOR } from '../../cpu/stateLayout';
import { Ia32CpuAdapter } from '../../machine/cpuAdapter';
import type { Machine, MachineStop } from '../../machine/machine';
import { DevicePath } from '../io/devicePath';
import { DetachedRequest } from '../io/detachedRequest';
import { CostLedger } from '../costLedger';
import type { CostModel, CostParameter } from '../costModel';
import type { EngineState, EngineStop, ExecutionEngine, VirtualCpuState } from '../engine';
import type { ExitCount } from '../exitDispatcher';
import { exitReasonName, ExitReason } from '../exitReasons';
import type { HandlerExecution, HandlerExecutionState } from '../handlerSteps';
import type { VmExit } from '../vmExit';
import { guestLayerAtCpl, type Architecture, type Layer, type Technique } from '../layers';
import { LayerStack, type LayerFrame } from '../layerStack';
import { faultReason, injectionReason, softwareInterruptReason, TransitionLog, type TransitionInput, type TransitionKind } from '../transitions';
import { CpuGuestAccess } from './cpuGuestAccess';
import { EflagsBit, SegmentRegister, type GuestInstruction } from './guestAccess';
import { classifyTrap, reflectOutcome, trapAndEmulateDispatcher, type TrapContext } from './handlers';
import { compressedSelector, deliverToGuest } from './reflect';
import { buildShadowGdt, VMM_REGION_SIZE, type MemoryWriter } from './shadowTables';
import { installVmmTables, loadRealLdt, reloadSegments, type VmmPlacement } from './realTables';
import { VirtualCpu, type VirtualCpuSnapshot } from './virtualCpu';
import { VmmRegion } from './vmmRegion';
import { IretScanner } from './iretScan';
import { KernelSlicer } from './slicing';
import { DescriptorTableTracer } from './descriptorTracing';
import { ShadowPageTables, vmmLinearWindow } from '../memory/shadowPaging';
import type { MemoryVirtualizationStats } from '../inspection';
import { shadowFaultReason, type ShadowPagingHooks } from './memoryHandlers';

export interface TrapAndEmulateOptions {
  readonly architecture: Architecture;
  readonly costModel: CostModel;
  readonly log?: TransitionLog;
  readonly ledger?: CostLedger;
  /**
   * Bytes of VMM-owned memory at the top of RAM (whole 4 KiB pages; default VMM_REGION_SIZE, 64 KiB). The
   * first VMM_FIXED_AREA_SIZE bytes hold the fixed tables, the rest is handed out by `vmmRegion.allocatePage()`
   * (shadow page tables, a translation cache…).
   */
  readonly vmmRegionSize?: number;
}

interface ActiveHandler {
  readonly execution: HandlerExecution<TrapContext>;
  readonly context: TrapContext;
  readonly exit: VmExit;
  readonly reason: string;
  readonly softwareInterrupt: boolean;
  readonly guestLayer: Layer;
  readonly instruction?: GuestInstruction;
}

/** Consecutive re-faults of one traced write before the VMM gives up with a stop. */
const MAX_TRACED_RETRIES = 16;

interface PendingEvent {
  kind: CpuEventKind;
  code: number;
  errorCode: number;
}

export class TrapAndEmulateEngine implements ExecutionEngine {
  readonly technique: Technique = 'trap-and-emulate';
  readonly vcpu = new VirtualCpu();
  readonly log: TransitionLog;
  readonly ledger: CostLedger;
  readonly vmmBase: number;
  /** The VMM-owned region and its page allocator (vmmRegion.ts). */
  readonly vmmRegion: VmmRegion;
  protected layerStack = new LayerStack('guest-kernel');
  protected readonly dispatcher = trapAndEmulateDispatcher();
  protected readonly cpu: Cpu;
  protected readonly guest: CpuGuestAccess;
  protected readonly memory: MemoryWriter;
  protected pending: PendingEvent | null = null;
  /** The VMM handler in progress while the debugger steps through it. */
  protected active: ActiveHandler | null = null;
  protected attached = false;
  /** Shadow page tables for guests that enable paging (../memory/shadowPaging.ts). */
  readonly shadowPaging: ShadowPageTables;
  /** The real CR3 the guest booted with (restored while guest paging is off). */
  protected bootCr3 = 0;
  /** Where the CPU currently sees the VMM region: `vmmBase` (identity) or, while the guest pages, the top
   * of the linear space (vmmLinearWindow), so the guest keeps every linear address below it. */
  protected vmmLinear = 0;
  private shadowHooks: ShadowPagingHooks | undefined;
  /** The guest has run ring-3 code: kernel slices are chunked (slicing.ts). */
  protected userModeSeen = false;
  private readonly slicer: KernelSlicer;
  private lastTracedEip = -1;
  private tracedRetries = 0;
  /** The architecture's I/O path (../io/devicePath.ts); the I/O handler delegates its port access to it. */
  protected readonly devicePath: DevicePath;
  /** Inside step(): a request forwarded without a VMM handler (PV console_io) is walked hop by hop. */
  private debuggerStepping = false;
  /** A PV request's hops while the debugger steps through them (../io/detachedRequest.ts). */
  private detached: DetachedRequest | null = null;
  /** Watches the guest's GDT/LDT pages (descriptorTracing.ts); armed once the guest was deprivileged. */
  protected readonly tableTracer: DescriptorTableTracer;
  private tracingArmed = false;

  constructor(protected readonly machine: Machine, protected readonly options: TrapAndEmulateOptions) {
    if (!(machine.cpu instanceof Ia32CpuAdapter)) throw new TypeError('trap-and-emulate needs the IA-32 core (createPcMachine)');
    this.cpu = machine.cpu.core;
    this.guest = new CpuGuestAccess(this.cpu, machine.ports);
    this.slicer = new KernelSlicer(new IretScanner(this.cpu), () => (this.guest.getSegmentBase(SegmentRegister.CS) + this.guest.getEip()) >>> 0);
    this.log = options.log ?? new TransitionLog();
    this.ledger = options.ledger ?? new CostLedger();
    const ram = machine.memory.ram;
    this.vmmRegion = new VmmRegion(ram, options.vmmRegionSize ?? VMM_REGION_SIZE);
    this.vmmBase = this.vmmRegion.base;
    const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
    this.memory = {
      read32: (address) => (address >= 0 && address + 4 <= ram.length ? view.getUint32(address, true) : undefined),
      write32: (address, value) => view.setUint32(address, value >>> 0, true),
    };
    const mmu = this.cpu.mmu;
    this.shadowPaging = new ShadowPageTables(
      // Guest-table writes go through the CPU's physical write so pages holding decoded code are invalidated.
      { read32: this.memory.read32, write32: (address, value) => (address >= 0 && address + 4 <= ram.length ? this.guest.asVmm(() => mmu.writePhysical(address, 4, value | 0)) : undefined) },
      this.vmmRegion,
      {
        invalidatePage: (linear) => mmu.invalidatePage(linear | 0),
        flushAll: () => mmu.flush(true),
        rootChanged: (directory) => void (this.cpu.s[CR + 3] = directory | 0),
      },
      { vmmLinearBase: vmmLinearWindow(this.vmmRegion.size) },
    );
    this.vmmLinear = this.vmmBase;
    this.guest.pagingTranslator = this.shadowPaging;
    this.devicePath = new DevicePath(options.architecture, {
      record: (hop) => this.recordTransition(hop.from, hop.to, hop.kind, hop.reason, hop.costs, undefined, {}),
      stack: () => this.layerStack,
    });
    this.guest.devicePath = this.devicePath;
    this.tableTracer = new DescriptorTableTracer({
      cpu: this.cpu,
      ram,
      vcpu: this.vcpu,
      physicalOf: (linear) => (this.shadowPaging.active ? this.shadowPaging.peek(linear) : linear),
      readLinear32: (linear) => this.guest.readLinear(linear, 4),
      vmmWriting: () => this.guest.vmmWriting,
    });
    // ExecutionEngine.memoryStats: assigned rather than declared, so subclasses that already define their own
    // memoryStats (the paravirtual engine's direct paging) keep it without an `override` clash.
    const asEngine = this as ExecutionEngine;
    asEngine.memoryStats ??= () => this.shadowMemoryStats();
  }

  get stack(): LayerStack {
    return this.layerStack;
  }

  /** Deprivileges the booted guest: virtual CPU from the real state, VMM tables, ring-1 segments, IF = 1, IOPL 0. */
  attach(): EngineStop | undefined {
    const s = this.cpu.s;
    const v = this.vcpu;
    v.gdtr = { base: s[GDTR_BASE]! >>> 0, limit: s[GDTR_LIMIT]! & 0xffff };
    v.idtr = { base: s[IDTR_BASE]! >>> 0, limit: s[IDTR_LIMIT]! & 0xffff };
    v.cr0 = s[CR]! >>> 0;
    v.cr3 = s[CR + 3]! >>> 0;
    v.cr4 = s[CR + 4]! >>> 0;
    v.tr = s[TR_SELECTOR]! & 0xffff;
    v.ldtr = s[LDTR_SELECTOR]! & 0xffff;
    v.interruptFlag = (this.guest.getEflags() & EflagsBit.IF) !== 0;
    v.cpl = 0;
    this.bootCr3 = v.cr3;
    installVmmTables(s, this.memory, this.memory, this.placement(), v.gdtr);
    this.loadShadowLdt();
    // A guest booted with paging on gets its shadow (and the VMM window at the top) before any segment load.
    if ((v.cr0 & 0x80000000) !== 0) this.applyShadowControls(true);
    const refused = reloadSegments(s, this.guest, compressedSelector);
    if (refused !== undefined) return { kind: 'stop', message: `cannot deprivilege segment selector 0x${refused.toString(16)}` };
    this.guest.setEflags((this.guest.getEflags() & ~EflagsBit.IOPL) | EflagsBit.IF);
    this.cpu.blocks.clear();
    this.installHook();
    this.layerStack = new LayerStack('guest-kernel');
    this.attached = true;
    this.tracingArmed = true;
    this.tableTracer.arm();
    return undefined;
  }

  /**
   * Installs the VMM's CPU event hook. A hook already present (e.g. the debug adapter observing interrupt
   * frames) keeps seeing every event first, but only as an observer: the VMM decides what is intercepted.
   */
  protected installHook(): void {
    const observer = this.cpu.eventHook;
    this.cpu.eventHook = (kind, code, errorCode) => {
      if (observer !== null) observer(kind, code, errorCode);
      return this.intercept(kind, code, errorCode);
    };
  }

  run(budget: number): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    this.finishDetachedHops();
    if (this.active !== null) {
      const finished = this.completeActive();
      if (finished !== undefined) return finished;
    }
    let remaining = budget;
    while (remaining > 0) {
      // While a virtual interrupt waits for a virtual IF the guest can raise without entering the VMM, return
      // to the VMM after every instruction (the software analogue of VT-x interrupt-window exiting, exit
      // reason 7) so it is injected on time. See virtualIfChangesWithoutExit().
      const idle = this.idle();
      if (idle !== 'no') {
        if (idle !== 'yes') return idle;
        continue;
      }
      const window = this.vcpu.pendingVectors.length > 0 && !this.vcpu.halted;
      const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
      let limit = Math.min(remaining, this.sliceLimit());
      if (layer === 'guest-user') {
        this.userModeSeen = true;
      } else if (this.userModeSeen) {
        limit = Math.min(limit, this.slicer.kernelSliceLimit());
      }
      if (window) limit = Math.min(limit, this.slicer.interruptWindowSlice(layer, this.virtualIfChangesWithoutExit()));
      const before = this.cpu.retired;
      const stop = this.machine.run(Math.max(1, limit));
      const ran = this.cpu.retired - before;
      this.ledger.chargeInstructions(layer, ran, this.options.costModel.cycles('instruction'));
      if (this.cpu.s[CPL] === 3) this.userModeSeen = true; // entered ring 3 inside the slice (an IRET)
      remaining -= Math.max(ran, 1);
      if (stop.reason === 'cpu-event') {
        this.slicer.reset();
        const problem = this.handlePending();
        if (problem !== undefined) return problem;
        continue;
      }
      const timed = this.afterSlice();
      if (timed !== undefined) return timed;
      if (window && stop.reason === 'budget') {
        this.syncFromRealCpu();
        const problem = this.injectPending('interrupt window opened');
        if (problem !== undefined) return problem;
        continue;
      }
      if (stop.reason !== 'budget') return this.machineStop(stop);
    }
    return { kind: 'budget' };
  }

  /**
   * Whether the guest can set its virtual IF without a VMM entry, so a pending virtual interrupt needs an
   * interrupt window. Under trap-and-emulate it cannot: at CPL 1 with IOPL 0, cli, sti and iret trap (#GP) and
   * POPF leaves IF unchanged (SDM Vol. 2B POPF; the lesson of popf-demo), at CPL 3 IF cannot change at all, and
   * every handler ends by injecting what has become deliverable — so the guest runs full slices while the
   * interrupt waits. A paravirtual guest unmasks events with a plain store to shared info and overrides this.
   */
  protected virtualIfChangesWithoutExit(): boolean {
    return false;
  }

  /** Instructions the next slice may run (a technique with its own timers stops the guest at their deadlines). */
  protected sliceLimit(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** Called after every slice (timer expiry, event delivery); a stop ends the run. */
  protected afterSlice(): EngineStop | undefined {
    return undefined;
  }

  /**
   * 'no' when the guest can run; 'yes' after the engine idled (time skipped), or a stop. Before every slice: a
   * traced descriptor-table write is handled, and the watched table pages are marked again (a block-cache
   * flush clears the marks).
   */
  protected idle(): 'no' | 'yes' | EngineStop {
    if (this.tracingArmed) {
      if (this.tableTracer.guestWrite !== null) {
        const stop = this.traceDescriptorWrite();
        if (stop !== undefined) return stop;
      }
      this.tableTracer.rearm();
    }
    return 'no';
  }

  /**
   * One debugger step: while a VMM handler is active, exactly one of its named steps; otherwise one guest
   * instruction — and if that instruction traps into the VMM, the step ends at the start of the handler, so
   * the next steps walk through "save guest state", "decode faulting instruction", … one at a time.
   */
  step(): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    if (this.detached !== null) {
      this.detached.step();
      if (this.detached.finished) this.finishDetachedHops();
      else this.layerStack.setHandler(this.detached.snapshot());
      return { kind: 'step-done' };
    }
    this.debuggerStepping = true;
    try {
      return this.stepOnce();
    } finally {
      this.debuggerStepping = false;
    }
  }

  private stepOnce(): EngineStop {
    if (this.active !== null) {
      this.active.execution.step();
      this.layerStack.setHandler(this.active.execution.snapshot());
      if (this.active.execution.finished) return this.finishActive() ?? { kind: 'step-done' };
      return { kind: 'step-done' };
    }
    const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
    if (this.tracingArmed) this.tableTracer.rearm();
    const before = this.cpu.retired;
    const stop = this.machine.run(1);
    this.ledger.chargeInstructions(layer, this.cpu.retired - before, this.options.costModel.cycles('instruction'));
    if (this.tableTracer.guestWrite !== null && this.pending === null) return this.traceDescriptorWrite() ?? { kind: 'step-done' };
    if (stop.reason === 'cpu-event') {
      if (this.pending?.kind === 'exception' || (this.pending?.kind === 'software-interrupt' && !this.handlesItself(this.pending.code))) {
        return this.startPending() ?? { kind: 'step-done' };
      }
      return this.handlePending() ?? { kind: 'step-done' };
    }
    if (stop.reason !== 'budget') return this.machineStop(stop);
    return { kind: 'step-done' };
  }

  /** Software interrupts a technique handles without named steps (the paravirtual hypercall). */
  protected handlesItself(vector: number): boolean {
    void vector;
    return false;
  }

  activeHandler(): HandlerExecutionState | undefined {
    return this.detached !== null ? this.detached.snapshot() : this.active?.execution.snapshot();
  }

  virtualCpu(): VirtualCpuState {
    return this.vcpu.snapshot();
  }

  exitCounts(): readonly ExitCount[] {
    return this.dispatcher.exitCounts();
  }

  saveState(): EngineState {
    const handler = this.active?.execution.snapshot();
    const extra = { shadowPaging: this.shadowPaging.toJSON(), vmmPages: this.vmmRegion.allocatedPages(), bootCr3: this.bootCr3, vmmLinear: this.vmmLinear };
    return { technique: this.technique, virtualCpu: this.vcpu.snapshot(), stack: this.layerStack.toJSON(), extra, ...(handler === undefined ? {} : { activeHandler: handler }) };
  }

  loadState(state: EngineState): void {
    if (state.virtualCpu !== undefined) this.vcpu.restore(state.virtualCpu as VirtualCpuSnapshot);
    this.layerStack = LayerStack.fromJSON(state.stack as readonly LayerFrame[]);
    const extra = state.extra as { shadowPaging?: unknown; vmmPages?: number[]; bootCr3?: number; vmmLinear?: number } | undefined;
    if (extra?.vmmLinear !== undefined) this.vmmLinear = extra.vmmLinear;
    if (extra?.vmmPages !== undefined) this.vmmRegion.restoreAllocation(extra.vmmPages);
    if (extra?.shadowPaging !== undefined) this.shadowPaging.restore(extra.shadowPaging);
    if (extra?.bootCr3 !== undefined) this.bootCr3 = extra.bootCr3;
  }

  // ---- VMM entries -------------------------------------------------------------------------------------

  protected intercept(kind: CpuEventKind, code: number, errorCode: number): boolean {
    if (kind !== 'exception' && kind !== 'software-interrupt' && kind !== 'external-interrupt') return false;
    this.pending = { kind, code, errorCode };
    return true;
  }

  /** The virtual CPL follows the real one (1 → 0); code at real CPL 3 always runs with the real IF, 1. */
  protected syncFromRealCpu(): void {
    const cpl = this.cpu.s[CPL]!;
    this.vcpu.cpl = cpl === 3 ? 3 : 0;
    if (cpl === 3) this.vcpu.interruptFlag = (this.guest.getEflags() & EflagsBit.IF) !== 0;
  }

  /** Handles the intercepted event completely (free-running). */
  protected handlePending(): EngineStop | undefined {
    if (this.pending === null && this.tableTracer.guestWrite !== null) return this.traceDescriptorWrite();
    const started = this.startPending();
    if (started !== undefined) return started;
    return this.completeActive();
  }

  /**
   * Records the VMM entry and starts its handler without running any step (the debugger then steps through
   * it). External interrupts are handled at once. Returns a stop, or undefined.
   */
  protected startPending(): EngineStop | undefined {
    const event = this.pending;
    this.pending = null;
    if (event === null) return { kind: 'stop', message: 'the CPU stopped for the VMM without an event' };
    this.syncFromRealCpu();
    const guestLayer = guestLayerAtCpl(this.cpu.s[CPL]!);
    this.reconcileStack(guestLayer);
    if (event.kind === 'external-interrupt') return this.handleExternalInterrupt(event.code, guestLayer);

    const softwareInterrupt = event.kind === 'software-interrupt';
    const vector = event.code;
    const instruction = this.faultingInstruction(softwareInterrupt);
    const exit = classifyTrap(this.guest, instruction, vector, event.errorCode, softwareInterrupt);
    const realCpl = this.cpu.s[CPL]!;
    const hooks = this.memoryHooks();
    const pageFault = !softwareInterrupt && vector === 14 && hooks?.shadow.active === true ? { linear: this.cpu.s[CR + 2]! >>> 0, errorCode: event.errorCode } : undefined;
    let kind: TransitionKind = 'trap';
    let reason = softwareInterrupt
      ? softwareInterruptReason(vector, realCpl, vector === 0x80 ? 'system call' : undefined)
      : faultReason(vector, instruction?.text ?? 'instruction', realCpl);
    if (pageFault !== undefined && hooks !== undefined) {
      const preview = hooks.shadow.classify(pageFault.linear, pageFault.errorCode, false);
      reason = shadowFaultReason(preview, pageFault.linear, pageFault.errorCode);
      if (preview.kind === 'hidden' || preview.kind === 'tracing') kind = 'shadow-paging';
    } else if (hooks?.shadow.active === true && exit.reason === ExitReason.CrAccess && instruction?.controlRegister === 3 && instruction.toControlRegister === true) {
      kind = 'shadow-paging';
      reason = `CR3 switch: ${instruction.text} at CPL${realCpl} (the VMM switches shadow page tables)`;
    }
    this.record(guestLayer, 'vmm', kind, reason, ['exceptionDelivery'], instruction, {
      exitReason: exit.reason,
      exitName: exitReasonName(exit.reason),
      vector,
      ...(event.errorCode >= 0 ? { errorCode: event.errorCode } : {}),
      ...(exit.qualification !== 0 ? { qualification: exit.qualification } : {}),
    });
    const context: TrapContext = {
      guest: this.guest,
      vcpu: this.vcpu,
      notes: [],
      ...(instruction === undefined ? {} : { instruction }),
      ...(hooks === undefined ? {} : { memory: hooks }),
      ...(pageFault === undefined ? {} : { pageFault }),
    };
    const execution = this.dispatcher.dispatch(exit, context, (parameter) => this.charge('vmm', reason, parameter as CostParameter));
    this.active = { execution, context, exit, reason, softwareInterrupt, guestLayer, ...(instruction === undefined ? {} : { instruction }) };
    this.layerStack.setHandler(execution.snapshot());
    return undefined;
  }

  /** Runs the active handler's remaining steps and applies its outcome. */
  protected completeActive(): EngineStop | undefined {
    const active = this.active;
    if (active === null) return undefined;
    active.execution.runToCompletion();
    return this.finishActive();
  }

  /** Applies the finished handler's outcome: resume, reflect through the guest IDT, or stop. */
  protected finishActive(): EngineStop | undefined {
    const active = this.active;
    if (active === null) return undefined;
    this.active = null;
    this.layerStack.setHandler(undefined);
    const { execution, context, exit, reason, softwareInterrupt, guestLayer, instruction } = active;
    const outcome = execution.outcome ?? { kind: 'stop', message: 'a VMM handler ended without an outcome' };
    switch (outcome.kind) {
      case 'stop':
        return { kind: 'stop', message: outcome.message };
      case 'reflect': {
        const problem = reflectOutcome(context, outcome.vector, outcome.errorCode, softwareInterrupt);
        if (problem !== undefined) return { kind: 'stop', message: problem };
        this.record('vmm', 'guest-kernel', 'fault-reflection', `reflect ${softwareInterrupt ? `int 0x${(exit.vector ?? 0).toString(16)}` : reason} through the guest's virtual IDT`, [], undefined, { vector: outcome.vector });
        this.charge('vmm', reason, 'vmmExit'); // leaving the VMM into the guest's handler
        return undefined;
      }
      default:
        // A port access already went through the architecture's path: the I/O handler's emulation step
        // delegated it to the hop handlers (handlers.ts forwardIo).
        if (this.tableTracer.vmmWrote) this.vcpu.tablesDirty = true;
        this.tableTracer.vmmWrote = false;
        if (this.vcpu.tablesDirty) this.rebuildShadowGdt();
        if (this.vcpu.halted) this.cpu.s[MODE] |= CpuMode.Halted;
        this.record('vmm', guestLayer, 'resume', `resume after ${reason}`, [], undefined, {});
        if (instruction?.mnemonic === 'iretd' || instruction?.mnemonic === 'iret') this.popHandlerFrame();
        // An event that stopped the guest instruction a handler executed (tracing fault) is handled now.
        if (this.pending !== null) return this.handlePending();
        return this.injectPending('virtual IF is 1');
    }
  }

  protected handleExternalInterrupt(vector: number, guestLayer: Layer): EngineStop | undefined {
    const reason = `IRQ vector 0x${vector.toString(16)} arrives in the VMM`;
    this.record(guestLayer, 'vmm', 'trap', reason, ['exceptionDelivery'], undefined, { exitReason: ExitReason.ExternalInterrupt, vector });
    if (this.options.architecture === 'hosted') {
      // Sugerman et al. 2001: a physical interrupt in the VMM world is re-raised in the host world.
      this.record('vmm', 'host-os-kernel', 'world-switch', 'world switch VMM→host (re-raise the physical interrupt)', ['worldSwitch'], undefined, {});
      this.record('host-os-kernel', 'vmm', 'world-switch', 'world switch host→VMM', ['worldSwitch'], undefined, {});
    }
    if (!this.vcpu.raise(vector)) return { kind: 'stop', message: 'interrupt flood: more than 256 virtual interrupts wait for the guest' };
    const problem = this.injectPending('virtual IF is 1');
    if (problem !== undefined) return problem;
    if (this.layerStack.current === 'vmm') this.record('vmm', guestLayer, 'resume', 'resume: virtual IF is 0, the interrupt stays pending', [], undefined, {});
    return undefined;
  }

  /** Injects the next deliverable virtual interrupt through the guest's virtual IDT. */
  protected injectPending(why: string): EngineStop | undefined {
    const vector = this.vcpu.takeDeliverable();
    if (vector === undefined) return undefined;
    this.cpu.s[MODE] &= ~CpuMode.Halted;
    const from = this.layerStack.current;
    if (from !== 'vmm') this.record(from, 'vmm', 'trap', `VMM regains control: ${why}`, [], undefined, { exitReason: ExitReason.InterruptWindow });
    const result = deliverToGuest(this.guest, this.vcpu, vector, -1, 'external-interrupt');
    if (!result.ok) return { kind: 'stop', message: `cannot inject vector ${vector}: ${result.problem}` };
    this.record('vmm', 'guest-kernel', 'interrupt-injection', injectionReason(vector, vector === 0x20 ? 'virtual IRQ0, timer' : 'virtual IRQ'), ['interruptInjection'], undefined, { vector });
    return undefined;
  }

  // ---- memory virtualization (shadow paging) -----------------------------------------------------------

  /** The shadow-paging hooks handlers use; a technique without shadow paging overrides this to return undefined. */
  protected memoryHooks(): ShadowPagingHooks | undefined {
    this.shadowHooks ??= {
      shadow: this.shadowPaging,
      controlRegistersChanged: (cr3Loaded) => this.applyShadowControls(cr3Loaded),
      executeGuestInstruction: () => this.executeGuestInstruction(),
    };
    return this.shadowHooks;
  }

  /**
   * The guest loaded CR0, CR3 or CR4: the shadow follows the virtual values, and the REAL CR0/CR3 follow the
   * shadow (real CR0.PG with WP forced on so guest-table pages are write-protected against ring 1 too).
   */
  protected applyShadowControls(cr3Loaded: boolean): void {
    const s = this.cpu.s;
    const v = this.vcpu;
    this.shadowPaging.setControls(v.cr0, v.cr3, v.cr4, cr3Loaded);
    const shadowDirectory = this.shadowPaging.realCr3;
    if (shadowDirectory !== undefined) {
      s[CR] = (s[CR]! | 0x80010000) | 0;
      s[CR + 3] = shadowDirectory | 0;
    } else {
      s[CR] = (s[CR]! & ~0x80000000) | 0;
      s[CR + 3] = this.bootCr3 | 0;
    }
    this.cpu.mmu.flush(true);
    const linear = shadowDirectory !== undefined ? vmmLinearWindow(this.vmmRegion.size) : this.vmmBase;
    if (linear !== this.vmmLinear) this.relocateVmmWindow(linear);
    this.cpu.blocks.clear();
    if (this.tracingArmed) this.tableTracer.arm(); // the tables' physical pages follow the guest's mapping
  }

  /**
   * Moves the CPU's view of the VMM region (GDT, IDT, TSS, LDT) to `linear`: the tables are rebuilt with the
   * guest's segments truncated below it, the real GDTR/IDTR/TR point there, and the loaded segment registers
   * are reloaded so their cached limits follow (SDM Vol. 3A 3.4.3: the hidden part changes only on a load).
   */
  protected relocateVmmWindow(linear: number): void {
    this.vmmLinear = linear >>> 0;
    installVmmTables(this.cpu.s, this.memory, this.guestTableMemory(), this.placement(), this.vcpu.gdtr);
    this.vcpu.tablesDirty = false;
    this.loadShadowLdt();
    reloadSegments(this.cpu.s, this.guest);
  }

  /** Runs the guest instruction at EIP once on the real CPU (tracing faults); charges it to the guest layer. */
  protected executeGuestInstruction(): 'executed' | 'interrupted' | 'stuck' {
    const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
    const eip = this.guest.getEip();
    const progressBefore = this.guest.getGpr(1) ^ (this.guest.getGpr(6) * 3) ^ (this.guest.getGpr(7) * 7); // ECX, ESI, EDI (string progress)
    const before = this.cpu.retired;
    this.machine.run(1);
    // A store straddling two guest tables faults on the second inside the window: open one there too, retry.
    while (this.cpu.retired === before && this.pending?.kind === 'exception' && this.pending.code === 14 &&
      this.shadowPaging.extendTracedWrite(this.cpu.s[CR + 2]! >>> 0, this.pending.errorCode)) {
      this.pending = null;
      this.machine.run(1);
    }
    const ran = this.cpu.retired - before;
    this.ledger.chargeInstructions(layer, ran, this.options.costModel.cycles('instruction'));
    if (ran > 0 && this.pending === null) {
      this.tracedRetries = 0;
      return 'executed';
    }
    // The same instruction faulting again in its window, over and over, never completes.
    const progressed = (this.guest.getGpr(1) ^ (this.guest.getGpr(6) * 3) ^ (this.guest.getGpr(7) * 7)) !== progressBefore;
    const refaulted = this.pending?.kind === 'exception' && this.pending.code === 14 && eip === this.lastTracedEip && !progressed;
    this.lastTracedEip = eip;
    this.tracedRetries = refaulted ? this.tracedRetries + 1 : 0;
    if (this.tracedRetries > MAX_TRACED_RETRIES) {
      this.pending = null;
      return 'stuck';
    }
    return 'interrupted';
  }

  /** Shadow-paging counters; served as ExecutionEngine.memoryStats unless a subclass defines its own. */
  shadowMemoryStats(): MemoryVirtualizationStats {
    return this.shadowPaging.stats({ vmmPagesInUse: this.vmmRegion.pagesInUse, vmmPagesFree: this.vmmRegion.pagesFree, descriptorTableTraces: this.tableTracer.traces });
  }

  protected faultingInstruction(softwareInterrupt: boolean): GuestInstruction | undefined {
    const csBase = this.guest.getSegmentBase(SegmentRegister.CS);
    const eip = this.guest.getEip();
    if (!softwareInterrupt) return this.guest.decodeAt((csBase + eip) >>> 0);
    const intN = this.guest.readLinear((csBase + eip - 2) >>> 0, 1) === 0xcd;
    return this.guest.decodeAt((csBase + eip - (intN ? 2 : 1)) >>> 0);
  }

  /**
   * Sends one device access the VMM forwards outside a handler (a paravirtual console_io) through the
   * architecture's path (../io/devicePath.ts); `perform` is the access, run at the hop that performs it. At
   * full speed the whole path runs now; during a debugger step the hops become the active handlers, stepped
   * one named step at a time, and what the caller records or charges meanwhile waits until they are done.
   */
  protected recordIoPath(what: string, perform?: () => void): void {
    const access = () => {
      perform?.();
      return undefined;
    };
    if (this.debuggerStepping && this.active === null && this.detached === null) {
      const chain = this.devicePath.start(what, access);
      if (!chain.finished) {
        this.detached = new DetachedRequest(chain, what);
        this.layerStack.setHandler(this.detached.snapshot());
        return;
      }
    }
    this.devicePath.runAll(what, access);
  }

  /** Runs what is left of detached hops, then what their caller recorded and charged meanwhile. */
  private finishDetachedHops(): void {
    const detached = this.detached;
    if (detached === null) return;
    this.detached = null; // the deferred records and charges run for real now
    this.layerStack.setHandler(undefined);
    detached.finish();
  }

  protected rebuildShadowGdt(): void {
    buildShadowGdt(this.guestTableMemory(), this.vmmBase, this.vcpu.gdtr.base, this.vcpu.gdtr.limit, this.vmmLinear);
    this.vcpu.tablesDirty = false;
    this.loadShadowLdt();
    this.cpu.blocks.clear();
    if (this.tracingArmed) this.tableTracer.arm();
  }

  /**
   * The guest wrote its live GDT or LDT (descriptorTracing.ts): record the trace (a VMM entry as for a
   * write-protection fault), rebuild the shadow tables from the guest's, resume. The store itself already ran on
   * the real CPU; the next segment load sees the new descriptor, as natively.
   */
  protected traceDescriptorWrite(): EngineStop | undefined {
    const write = this.tableTracer.guestWrite;
    if (write === null) return undefined;
    this.tableTracer.guestWrite = null;
    this.tableTracer.withdrawStop();
    this.tableTracer.traces++;
    this.syncFromRealCpu();
    const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
    this.reconcileStack(layer);
    // Under binary translation the store ran in the translation cache: name the guest instruction it came from.
    let linear = (this.guest.getSegmentBase(SegmentRegister.CS) + write.eip) >>> 0;
    if (((linear - this.vmmLinear) >>> 0) < this.vmmRegion.size) linear = (this.vmmBase + (linear - this.vmmLinear)) >>> 0; // TC in the VMM window
    const instruction = this.guest.decodeAt((this as ExecutionEngine).guestAddressOf?.(linear) ?? linear);
    const table = write.table;
    const reason = `tracing: ${instruction?.text ?? 'a store'} wrote the guest ${table} (page 0x${(write.page * 4096).toString(16)})`;
    this.record(layer, 'vmm', 'trap', reason, ['exceptionDelivery'], instruction, { tracing: table, page: write.page * 4096, traces: this.tableTracer.traces });
    this.charge('vmm', reason, 'vmmEntry');
    this.charge('vmm', reason, 'emulationStep');
    this.rebuildShadowGdt();
    this.charge('vmm', reason, 'vmmExit');
    this.record('vmm', layer, 'resume', `resume after ${reason}: shadow ${table} rebuilt`, [], undefined, {});
    return this.injectPending('virtual IF is 1');
  }

  /** Guest descriptor tables are read at their guest-LINEAR addresses (through the guest's page tables). */
  protected guestTableMemory(): MemoryWriter {
    return { read32: (address) => this.guest.readLinear(address >>> 0, 4), write32: this.memory.write32 };
  }

  /**
   * The virtual LDTR → the real one: a null selector clears it; otherwise the guest LDT is shadowed into the
   * VMM region (shadowTables.ts buildShadowLdt). A bad selector leaves the real LDTR null (a TI=1 load then
   * faults, and the guest gets the #GP it would have got from its own LLDT).
   */
  protected loadShadowLdt(): void {
    loadRealLdt(this.cpu.s, this.memory, this.guest, this.placement(), this.vcpu.gdtr, this.vcpu.ldtr);
  }

  /** Where the VMM region is in physical memory and where the CPU sees it now. */
  protected placement(): VmmPlacement {
    return { vmmBase: this.vmmBase, vmmLinear: this.vmmLinear };
  }

  /** The linear address at which the CPU currently sees VMM-owned physical address `physical`. */
  protected vmmLinearAddress(physical: number): number {
    return (this.vmmLinear + (physical - this.vmmBase)) >>> 0;
  }

  /** After a handler's IRET: the handler frame returns to the frame it interrupted. */
  protected popHandlerFrame(): void {
    const frames = this.layerStack.bottomFirst();
    const top = frames[frames.length - 1];
    const below = frames[frames.length - 2];
    if (top !== undefined && below !== undefined && top.layer === below.layer) this.layerStack = LayerStack.fromJSON(frames.slice(0, -1));
  }

  /** Brings the layer stack in line with where the guest actually is (native IRETs leave no transition). */
  protected reconcileStack(guestLayer: Layer): void {
    if (this.layerStack.current === guestLayer) return;
    const transition = this.log.record({ cycle: this.machine.now(), from: this.layerStack.current, to: guestLayer, kind: 'resume', reason: 'iret (ran on the real CPU, no trap)', details: {}, cost: 0 });
    if (!this.layerStack.apply(transition).ok) this.layerStack = new LayerStack(guestLayer);
  }

  protected record(from: Layer, to: Layer, kind: TransitionKind, reason: string, costs: readonly CostParameter[], instruction: GuestInstruction | undefined, details: Record<string, string | number | boolean>): void {
    if (this.detached !== null) {
      this.detached.defer(() => this.recordTransition(from, to, kind, reason, costs, instruction, details));
      return;
    }
    this.recordTransition(from, to, kind, reason, costs, instruction, details);
  }

  private recordTransition(from: Layer, to: Layer, kind: TransitionKind, reason: string, costs: readonly CostParameter[], instruction: GuestInstruction | undefined, details: Record<string, string | number | boolean>): void {
    const cost = this.options.costModel.pathCycles(costs);
    const input: TransitionInput = { cycle: this.machine.now(), from, to, kind, reason, details, cost, ...(instruction === undefined ? {} : { instruction: { address: instruction.address, bytes: instruction.bytes, text: instruction.text } }) };
    const transition = this.log.record(input);
    if (!this.layerStack.apply(transition).ok) this.layerStack = new LayerStack(to);
    if (cost > 0) {
      this.ledger.charge(to === 'guest-kernel' || to === 'guest-user' ? from : to, reason, cost);
      this.machine.addCycles(cost);
    }
  }

  /** Charges a handler step: to the ledger, and to virtual time (the guest sees time pass while the VMM works). */
  protected charge(layer: Layer, reason: string, parameter: CostParameter): void {
    if (this.detached !== null) {
      this.detached.defer(() => this.charge(layer, reason, parameter));
      return;
    }
    const cycles = this.options.costModel.cycles(parameter);
    this.ledger.charge(layer, reason, cycles);
    this.machine.addCycles(cycles);
  }

  protected machineStop(stop: MachineStop): EngineStop {
    switch (stop.reason) {
      case 'guest-exit':
        return { kind: 'guest-exit', status: stop.exitStatus ?? 0 };
      case 'shutdown':
        return { kind: 'shutdown', reason: stop.detail };
      case 'halt':
        return { kind: 'halt' };
      case 'breakpoint':
        return { kind: 'breakpoint', address: this.guest.getEip() };
      default:
        return { kind: 'stop', message: stop.detail };
    }
  }
}
