// SPDX-License-Identifier: MIT
// The debug runtime: owns one emulated PC running a guest natively, and knows nothing of DAP or VS Code.
// A command-driven state machine (idle → stopped ⇄ running → ended): launch loads and boots the program,
// continue/step/pause arrive as commands, and execution happens in time slices of SLICE_INSTRUCTIONS that
// yield to the host's event loop through an injected scheduler, so pause, breakpoint changes and every
// other request are served while the guest runs. Domain events (stopped, output, exited) go to listeners.
// A multiprocessor guest (launch `vcpus` > 1, native only) is debugged all-stop, as GDB does: every vCPU stops
// together; inspection and stepping apply to the FOCUSED vCPU (vcpuFocus.ts), which a stop moves to the CPU
// that caused it and a thread-specific request moves to its thread.
import type { Cpu } from '../emulator/cpu/cpu';
import { EIP } from '../emulator/cpu/stateLayout';
import { disassembleOne } from '../emulator/disasm/disassembler';
import type { Machine, MachineStop } from '../emulator/machine/machine';
import { createPcMachine } from '../emulator/machine/pc';
import { defaultRecipe } from '../emulator/machine/recipe';
import { SMP_QUANTUM } from '../emulator/machine/smpScheduler';
import type { VirtualCpuState } from '../emulator/vmm/engine';
import type { LayerFrame } from '../emulator/vmm/layerStack';
import type { ExecutionEngine } from '../emulator/vmm/engine';
import { createVmmEngine } from '../emulator/vmm/index';
import { LayerStack } from '../emulator/vmm/layerStack';
import type { HandlerExecutionState } from '../emulator/vmm/handlerSteps';
import type { TransitionLog } from '../emulator/vmm/transitions';
import { vectorName, type Transition } from '../emulator/vmm/transitions';
import { BreakpointTable, type BreakpointRequest, type ResolvedBreakpoint } from './breakpoints';
import { CallStackTracker, type GuestFrame } from './callStack';
import { CpuRegisters } from './cpuAccess';
import { DataBreakpointTable } from './dataBreakpoints';
import { evaluateExpression, type ExpressionScope } from './expressions';
import type { FileAccess } from './fileAccess';
import type { LaunchConfig } from './launchArgs';
import { assembleProgram, isAssemblySource, loadBinaryProgram, resolveProgramPath, type Program } from './program';
import { type Job, type JobResult, StepJob, ContinueJob, type StepGranularity, type StepKind } from './stepping';
import { ReverseDebugger } from './reverse';
import { explainVmmEvent, matchVmmEvent, type VmmEventFilter, type VmmEventFilterId } from './vmmEvents';
import { HandlerStepJob } from './vmmStepping';
import { VcpuFocus } from './vcpuFocus';

/** Instructions per slice before yielding to the event loop (~a few ms of guest time on this core). */
export const SLICE_INSTRUCTIONS = 100_000;

/** Schedules a callback soon (setImmediate in Node, setTimeout/MessageChannel in a browser). */
export type Scheduler = (callback: () => void) => void;

export const defaultScheduler: Scheduler =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? (cb) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(cb)
    : (cb) => void setTimeout(cb, 0);

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'instruction breakpoint' | 'data breakpoint' | 'pause' | 'exception';

export interface StopInfo {
  readonly reason: StopReason;
  /** One sentence a student can act on. */
  readonly description: string;
  readonly hitBreakpointIds?: readonly number[];
  /** For 'exception' stops: the filter id and a short name (`#GP`, `triple fault`). */
  readonly exception?: { readonly id: string; readonly name: string; readonly details: string };
}

export interface ExitInfo {
  /** The guest's status: debug-exit (v << 1) | 1, or an even RUN_STATUS-style code for other endings. */
  readonly exitCode: number;
  readonly description: string;
}

/** Why a slice of guest execution returned: the machine's reasons, or a diagnosed stop of the VMM. */
export type GuestStop = MachineStop | { readonly reason: 'vmm-stop' | 'vmm-trap'; readonly detail: string };

/** The one line the Debug Console shows when a VMM takes the guest. */
const TECHNIQUE_BANNER: Partial<Record<string, string>> = {
  'trap-and-emulate': 'trap-and-emulate: the guest kernel now runs in ring 1; privileged instructions trap into the VMM',
  paravirtual: 'paravirtual: the guest kernel runs in ring 1 and calls the VMM with hypercalls (int 0x82)',
  'hardware-assisted': 'hardware-assisted (VT-x): the unmodified guest runs in VMX non-root mode; sensitive operations cause VM exits',
};

/** Detail of the machine stop the runtime returns to end an engine run after a filtered VMM trap. */
const VMM_TRAP_MARKER = 'hyperstep-debugger: VMM trap filter';
/** Detail of the machine stop that ends an engine run to hand a held-back VMM entry to engine.step(). */
const DEFER_MARKER = 'hyperstep-debugger: VMM entry held back';
/**
 * Engines whose run() returns on any machine stop it does not know, without touching the guest in between,
 * and whose step() starts the handler of a pending CPU event (trapAndEmulate/engine.ts): watched runs go at
 * full speed. Binary translation also offers an empty machine run before completing a translation, so a
 * translation filter stops at its first step as a debugger step would. Paravirtual's end-of-slice look (timer,
 * upcall) waits while an entry is held back. Hardware assist remembers a VM exit whose stop was held back and
 * its step() starts that exit's handler instead of entering the guest (hardwareAssist/engine.ts noteHeldExit).
 * Exported for tests that compare the two paths.
 */
export const DEFERRING_TECHNIQUES: ReadonlySet<string> = new Set(['trap-and-emulate', 'binary-translation', 'paravirtual', 'hardware-assisted']);

/** A virtualization event a filter matched while the guest ran (vmmEvents.ts). */
interface VmmEventHit {
  readonly transition: Transition;
  readonly filter: VmmEventFilterId;
  /** The layer stack right after the transition (the engine may have moved on within the same step). */
  readonly stack: readonly LayerFrame[];
}

/** Statuses for endings other than the debug-exit port (the same even codes as `hyperstep run`). */
export const END_STATUS = { shutdown: 4, halted: 6, instructionLimit: 8, outputLimit: 12, vmmStop: 14 } as const;

export interface RuntimeListener {
  stopped(info: StopInfo): void;
  output(text: string, category: 'stdout' | 'console' | 'important'): void;
  exited(info: ExitInfo): void;
}

/** Which exception filters are on (ids are the DAP exceptionBreakpointFilters). */
export interface ExceptionFilters {
  /** Vectors to stop on (empty set: every vector 0..31). Undefined: the filter is off. */
  guestException?: ReadonlySet<number>;
  tripleFault: boolean;
  /**
   * Virtualization events to stop on (vmmEvents.ts: VM exits by SDM reason, traps by vector, hypercalls,
   * BT, shadow paging/EPT, I/O hops, interrupt injection), each with its parsed condition.
   */
  vmmEvents?: readonly VmmEventFilter[];
}

type State = 'idle' | 'stopped' | 'running' | 'ended';

export class DebugRuntime implements ExpressionScope {
  private machine: Machine | undefined;
  /** The VMM engine when the technique is not native. */
  private engine: (ExecutionEngine & { readonly log: TransitionLog; readonly stack: LayerStack }) | undefined;
  /** Engine mode: the machine's run loop is asked for the debug loop while this is set (see launch). */
  private debugLoop = false;
  /** Engine mode: a breakpoint at this address was resumed over (the CPU's own rule, across engine slices). */
  private skipBreakpointAt = -1;
  /** Engine mode: a virtualization event matched a filter during a full-speed run. */
  private vmmHit: VmmEventHit | undefined;
  /** Engine mode: filters are watched (set while a continue-like run is in progress). */
  private watchingVmmEvents = false;
  /** Engine mode, fast watched runs: VMM entries (CPU events) are held back so the handler starts stepwise. */
  private deferEvents = false;
  /** A CPU event held back: the engine's next machine.run call returns it without running the CPU. */
  private deferredEvent = false;
  /** Engine mode, stepwise runs: the address the job resumed from (its breakpoint is not hit again). */
  private resumeFrom = -1;
  /** The layer stack to show at this stop when it is not the live one (an I/O hop that has since returned). */
  private frozenLayers: readonly LayerFrame[] | undefined;
  private registers: CpuRegisters | undefined;
  /** Every vCPU's registers and call-stack tracker, and which one inspection and stepping apply to. */
  readonly vcpus: VcpuFocus;
  private programInfo: Program | undefined;
  private state: State = 'idle';
  private job: Job | undefined;
  private pauseRequested = false;
  private serialDecoder = new TextDecoder('utf-8');
  private serialPending: number[] = [];
  private exceptionFilters: ExceptionFilters = { tripleFault: true };
  /** An exception the CPU is about to deliver that a filter intercepted. */
  private interceptedException: { vector: number; errorCode: number; eip: number; cpu: number } | undefined;
  /** Deliver this exception without stopping again (resuming from an exception stop). */
  private deliverOnce: { vector: number; eip: number; cpu: number } | undefined;
  private lastStop: StopInfo | undefined;
  /** The triple-fault stop is reported once; continuing from it ends the session. */
  private shutdownReported = false;
  readonly breakpoints: BreakpointTable;
  /** Data breakpoints on guest memory, armed as watchpoints on every vCPU. */
  readonly dataBreakpoints = new DataBreakpointTable(() => this.vcpus.watchpointSink());
  /** Execution history and the reverse jobs (stepBack, reverseContinue). */
  readonly reverse: ReverseDebugger = new ReverseDebugger(this);

  constructor(
    private readonly files: FileAccess,
    private readonly listener: RuntimeListener,
    private readonly scheduler: Scheduler = defaultScheduler,
  ) {
    // Trackers read memory through the focused vCPU's translation (the runtime focuses a CPU before using its tracker).
    this.vcpus = new VcpuFocus(() => new CallStackTracker({
      peek: (a) => this.registers?.core.peekLinear(a),
      readBlock: (a, length) => this.readBytes(a, length),
      isCodeAddress: (a) => this.isCodeAddress(a),
    }), (registers) => (this.registers = registers));
    this.breakpoints = new BreakpointTable(
      {
        setBreakpoint: (a) => this.machine?.cpus.forEach((c) => c.setBreakpoint(a)),
        clearBreakpoint: (a) => this.machine?.cpus.forEach((c) => c.clearBreakpoint(a)),
      },
      () => this.programInfo,
    );
  }

  // ---- launch --------------------------------------------------------------------------------------

  /** Loads (assembles) and boots the program. Returns an error message, or undefined on success. */
  async launch(config: LaunchConfig): Promise<string | undefined> {
    if (this.state !== 'idle') return 'this session has already launched a guest';
    const path = resolveProgramPath(config.program, config.cwd);
    const includePaths = config.includePaths.map((p) => resolveProgramPath(p, config.cwd));
    const loaded = isAssemblySource(path)
      ? await assembleProgram(path, this.files, { includePaths, defines: config.defines })
      : await loadBinaryProgram(path, this.files);
    if ('error' in loaded) return loaded.error;
    for (const w of loaded.warnings) this.listener.output(`${w}\n`, 'console');
    let machine: Machine;
    try {
      machine = createPcMachine(defaultRecipe({ memoryMiB: config.memoryMB, vcpus: config.vcpus }));
    } catch (e) {
      return `cannot build the machine: ${e instanceof Error ? e.message : String(e)}`;
    }
    const booted = machine.boot(loaded.program.image, { kernelName: config.program, append: '' });
    if ('error' in booted) {
      const hint = isAssemblySource(path) ? ' (a .asm guest must assemble to a flat Multiboot image: org 0x100000 and a Multiboot header with the a.out kludge)' : '';
      return `${config.program}: ${booted.error}${hint}`;
    }
    if (config.instructionLimit > 0) machine.limits.instructionLimit = config.instructionLimit;
    if (config.outputLimitBytes > 0) machine.limits.outputLimit = config.outputLimitBytes;
    machine.onSerialOutput((b) => {
      if (this.reverse.admitSerialByte()) this.serialPending.push(b); // each byte once, replays included
    });
    // The UART paces host input into its receive FIFO as the guest reads it (none lost to overrun).
    if (config.serialInput !== '') machine.serialInput(new TextEncoder().encode(config.serialInput));
    this.machine = machine;
    this.reverse.attach(machine);
    this.vcpus.attach(machine.cpus.map((_, i) => CpuRegisters.ofCpu(machine, i)));
    this.programInfo = loaded.program;
    for (const r of this.vcpus.all) r.core.magicBreakpointsEnabled = true;
    if (config.technique !== 'native') {
      const problem = this.attachEngine(machine, config);
      if (problem !== undefined) return problem;
      if (this.engine !== undefined) this.reverse.engineAttached(this.engine);
    } else {
      this.vcpus.all.forEach(({ core }, index) => {
        core.eventHook = (kind, code, errorCode) => this.onCpuEvent(core, index, kind, code, errorCode);
      });
    }
    this.state = 'stopped';
    return undefined;
  }

  /**
   * Puts the technique's VMM engine (src/emulator/vmm: trap-and-emulate, paravirtual, hardware-assisted)
   * under the guest; it owns the CPU event hook (e.g. trap-and-emulate deprivileges the kernel to ring 1). The engine drives machine.run itself; so that breakpoints
   * and the magic breakpoint work inside its slices, this machine's run is wrapped to select the CPU's debug
   * loop while the debugger asks for it, and to stop at a breakpoint the engine's emulation lands on (the
   * CPU resumes over a breakpoint at the address it starts from, which after an emulated instruction would
   * silently skip it).
   */
  private attachEngine(machine: Machine, config: LaunchConfig): string | undefined {
    const created = createVmmEngine(machine, {
      technique: config.technique, architecture: config.architecture, costModel: config.costPreset, costOverrides: config.costOverrides,
      ...(config.vmxControls !== undefined ? { vmxControls: config.vmxControls } : {}),
    });
    if (!created.ok) return created.errors.join('; ');
    const engine = created.handle.engine as ExecutionEngine & { readonly log: TransitionLog; readonly stack: LayerStack };
    const problem = engine.attach();
    if (problem !== undefined) return `${config.technique} cannot run this guest: ${problem.kind === 'stop' ? problem.message : problem.kind}`;
    const run = machine.run.bind(machine);
    engine.log.onRecord((t) => {
      if (!this.watchingVmmEvents || this.vmmHit !== undefined || this.state !== 'running') return;
      const filter = this.exceptionFilters.vmmEvents?.find((f) => matchVmmEvent(f, t));
      if (filter === undefined) return;
      // The engine applies the transition to its stack right after recording it: show the stack as it is then.
      const stack = LayerStack.fromJSON(engine.stack.bottomFirst());
      stack.apply(t);
      this.vmmHit = { transition: t, filter: filter.id, stack: stack.bottomFirst() };
    });
    machine.run = (budget, options = {}) => {
      // Fast watched runs (runWatchedFast): hand the held-back event to the engine's step(), which starts the
      // handler without running a step; end the engine's run as soon as a filter matched.
      if (this.deferredEvent) {
        this.deferredEvent = false;
        return { reason: 'cpu-event', detail: 'the VMM entry held back by the debugger' };
      }
      if (this.deferEvents && this.vmmHit !== undefined) return { reason: 'watchpoint', detail: VMM_TRAP_MARKER };
      const pc = this.pc();
      if (this.debugLoop && pc !== this.skipBreakpointAt && this.breakpoints.isBreakpointAddress(pc)) {
        return { reason: 'breakpoint', detail: 'execution breakpoint' };
      }
      this.skipBreakpointAt = -1;
      const stop = run(budget, { ...options, debug: this.debugLoop || options.debug === true });
      if (this.deferEvents && stop.reason === 'cpu-event') {
        this.deferredEvent = true;
        return { reason: 'watchpoint', detail: DEFER_MARKER };
      }
      return stop;
    };
    if (config.trace) engine.log.onRecord((t) => !this.reverse.replaying && this.listener.output(`${describeTransition(t)}\n`, 'console'));
    this.engine = engine;
    this.listener.output(`${TECHNIQUE_BANNER[config.technique] ?? config.technique} (${config.architecture} architecture)\n`, 'console');
    return undefined;
  }

  /**
   * Runs guest code for up to `budget` instructions: the machine directly (native) or through the VMM engine.
   * `debug` selects the CPU loop that honours breakpoints.
   */
  runGuest(budget: number, debug: boolean): GuestStop {
    const machine = this.machineInstance;
    const engine = this.engine;
    if (engine === undefined) {
      const stop = machine.run(budget, { debug });
      if (stop.reason !== 'budget' && machine.cpus.length > 1) this.vcpus.focus(machine.smp.current); // the CPU that stopped
      return stop;
    }
    const watch = debug && (this.exceptionFilters.vmmEvents?.length ?? 0) > 0;
    if (watch) return DEFERRING_TECHNIQUES.has(engine.technique) ? this.runWatchedFast(engine, budget) : this.runWatched(engine, budget);
    this.debugLoop = debug;
    this.skipBreakpointAt = this.pc();
    try {
      return this.guestStopOf(engine.run(budget), budget);
    } finally {
      this.debugLoop = false;
      this.vmmHit = undefined;
    }
  }

  /**
   * A full-speed watched run for the trap-and-emulate family: the engine runs at full speed, but every VMM
   * entry (a CPU event the engine intercepted) is held back and handed to engine.step(), which records the
   * entry and starts its handler without running a step; if a filter matched, the guest stops right there,
   * otherwise the next engine.run finishes the handler and goes on. Transitions recorded later (injection,
   * I/O hops) end the engine's run at its next machine slice.
   */
  private runWatchedFast(engine: ExecutionEngine, budget: number): GuestStop {
    this.watchingVmmEvents = true;
    this.deferEvents = true;
    this.debugLoop = true;
    this.skipBreakpointAt = this.pc();
    try {
      let remaining = budget;
      while (remaining > 0) {
        const before = this.retired();
        const stop = engine.run(remaining);
        remaining -= Math.max(1, this.retired() - before);
        if (this.vmmHit !== undefined) return { reason: 'vmm-trap', detail: VMM_TRAP_MARKER };
        if (stop.kind === 'stop' && stop.message === DEFER_MARKER) {
          const entered = engine.step(); // the held-back event: the handler starts (or, without steps, completes)
          this.deferredEvent = false;
          if (this.vmmHit !== undefined) return { reason: 'vmm-trap', detail: VMM_TRAP_MARKER };
          if (entered.kind !== 'step-done') return this.guestStopOf(entered, 1);
          continue;
        }
        return this.guestStopOf(stop, budget);
      }
      return { reason: 'budget', detail: `ran ${budget} instructions` };
    } finally {
      this.watchingVmmEvents = false;
      this.deferEvents = false;
      this.deferredEvent = false;
      this.debugLoop = false;
    }
  }

  /**
   * A full-speed run while virtualization-event filters are on: the engine advances by debugger steps (one
   * guest instruction, or one named step of a VMM handler), so a matching event stops the guest exactly
   * where it happened — at the first step of the VMM handler it entered. Breakpoints are checked before
   * every guest instruction.
   */
  private runWatched(engine: ExecutionEngine, budget: number): GuestStop {
    this.watchingVmmEvents = true;
    // Execution breakpoints are checked here; the CPU's slower debug loop is needed only for data breakpoints.
    this.debugLoop = this.dataBreakpoints.size > 0;
    try {
      for (let n = 0; n < budget; n++) {
        if (engine.activeHandler() === undefined) {
          const pc = this.pc();
          if (pc === this.resumeFrom) this.resumeFrom = -1;
          else if (this.breakpoints.isBreakpointAddress(pc)) return { reason: 'breakpoint', detail: 'execution breakpoint' };
          this.resumeFrom = -1;
          this.skipBreakpointAt = pc; // checked just above
        }
        const stop = this.guestStopOf(this.regs.halted() ? engine.run(1) : engine.step(), 1);
        if (this.vmmHit !== undefined) return { reason: 'vmm-trap', detail: VMM_TRAP_MARKER };
        if (stop.reason !== 'budget') return stop;
      }
      return { reason: 'budget', detail: `ran ${budget} steps` };
    } finally {
      this.watchingVmmEvents = false;
      this.debugLoop = false;
    }
  }

  /**
   * One debugger step of the engine: a guest instruction, or — while a VMM handler is active, or when the
   * instruction traps into the VMM — exactly one named step of the handler (step in on a trapping
   * instruction ends at the start of its handler).
   */
  engineStep(): GuestStop {
    const engine = this.engine;
    if (engine === undefined) return this.stepFocused();
    return this.guestStopOf(this.regs.halted() && engine.activeHandler() === undefined ? engine.run(1) : engine.step(), 1);
  }

  /** The VMM handler the engine is in the middle of (the debugger shows and steps its named steps). */
  activeHandler(): HandlerExecutionState | undefined {
    return this.engine?.activeHandler();
  }

  /** A recorded transition by sequence number, while the log retains it. */
  transition(seq: number): Transition | undefined {
    return this.engine?.log.get(seq);
  }

  /** The consecutive transitions between non-guest layers around `seq` (one I/O request's path). */
  hopPath(seq: number): Transition[] {
    const log = this.engine?.log;
    if (log === undefined) return [];
    const isHop = (t: Transition | undefined): t is Transition => t !== undefined && !isGuestLayer(t.from) && !isGuestLayer(t.to);
    let first = seq;
    while (first > 0 && seq - first < 16 && isHop(log.get(first - 1))) first--;
    const out: Transition[] = [];
    for (let k = first; k < seq + 16; k++) {
      const t = log.get(k);
      if (!isHop(t)) break;
      out.push(t);
    }
    return out;
  }

  private guestStopOf(stop: ReturnType<ExecutionEngine['run']>, budget: number): GuestStop {
    {
      switch (stop.kind) {
        case 'budget':
        case 'step-done':
          return { reason: 'budget', detail: `ran ${budget} instructions` };
        case 'breakpoint':
          return { reason: 'breakpoint', detail: 'execution breakpoint' };
        case 'halt':
          return { reason: 'halt', detail: 'the guest waits for an interrupt that nothing will raise' };
        case 'guest-exit':
          return { reason: 'guest-exit', detail: 'the guest wrote to the debug-exit port', exitStatus: stop.status };
        case 'shutdown':
          return { reason: 'shutdown', detail: stop.reason };
        case 'stop':
          if (/magic breakpoint/.test(stop.message)) return { reason: 'magic-breakpoint', detail: stop.message };
          if (stop.message === 'data breakpoint') return { reason: 'watchpoint', detail: stop.message };
          return { reason: 'vmm-stop', detail: `the VMM stopped the guest: ${stop.message}` };
      }
    }
  }

  /** The layer stack (engine techniques), bottom first; undefined when native. */
  layerFrames(): readonly LayerFrame[] | undefined {
    return this.frozenLayers ?? this.engine?.stack.bottomFirst();
  }


  /** The VMM engine (its transition log, layer stack, ledger and inspection) for the views; undefined when native. */
  get vmmEngine(): (ExecutionEngine & { readonly log: TransitionLog; readonly stack: LayerStack }) | undefined {
    return this.engine;
  }

  /** The virtual CPU the guest believes in (engine techniques); undefined when native. */
  virtualCpu(): VirtualCpuState | undefined {
    return this.engine?.virtualCpu();
  }

  get technique(): string {
    return this.engine?.technique ?? 'native';
  }

  /** After configuration: stop at the entry point or run. */
  start(stopOnEntry: boolean): void {
    if (this.state !== 'stopped') return;
    if (stopOnEntry) this.reportStop({ reason: 'entry', description: `Stopped at the guest entry point 0x${this.pc().toString(16)}` });
    else this.resume();
  }

  get program(): Program | undefined {
    return this.programInfo;
  }

  get isRunning(): boolean {
    return this.state === 'running';
  }

  get hasEnded(): boolean {
    return this.state === 'ended';
  }

  get isLaunched(): boolean {
    return this.state !== 'idle';
  }

  get lastStopInfo(): StopInfo | undefined {
    return this.lastStop;
  }

  /** The register file (throws before launch). */
  get regs(): CpuRegisters {
    if (this.registers === undefined) throw new RuntimeStateError('no guest is running: launch first');
    return this.registers;
  }

  get machineInstance(): Machine {
    if (this.machine === undefined) throw new RuntimeStateError('no guest is running: launch first');
    return this.machine;
  }

  /** Instructions retired since boot (all vCPUs together on a multiprocessor guest). */
  retired(): number {
    return this.machine?.retired() ?? 0;
  }

  // ---- commands ------------------------------------------------------------------------------------

  resume(): void {
    this.requireStopped();
    this.runJob(new ContinueJob(this));
  }

  step(kind: StepKind, granularity: StepGranularity): void {
    this.requireStopped();
    // Inside a VMM handler, stepping walks its named steps; step out finishes it and returns to the guest.
    this.runJob(this.activeHandler() !== undefined ? new HandlerStepJob(this, kind) : new StepJob(this, kind, granularity));
  }

  /** Runs a reverse job (reverse.ts); no intercepted exception is pending delivery at the destination. */
  reverseRun(job: Job): void {
    this.requireStopped();
    this.interceptedException = undefined;
    this.deliverOnce = undefined;
    this.runJob(job);
  }

  /** Asks a running guest to stop at the next slice boundary (a stopped guest: reports 'pause' at once). */
  pause(): void {
    if (this.state === 'running') this.pauseRequested = true;
    else if (this.state === 'stopped') this.reportStop({ reason: 'pause', description: 'Paused' });
  }

  /** Ends the session's guest (terminate/disconnect): no more events. */
  terminate(): void {
    this.state = 'ended';
    this.job = undefined;
  }

  setExceptionFilters(filters: ExceptionFilters): void {
    this.exceptionFilters = filters;
    if (this.engine !== undefined && filters.guestException !== undefined) {
      this.listener.output("under trap-and-emulate the VMM takes every guest exception first: use the 'VMM traps' filter\n", 'console');
    }
  }

  setSourceBreakpoints(file: string, requests: readonly (BreakpointRequest & { line: number })[]): ResolvedBreakpoint[] {
    return this.breakpoints.setSourceBreakpoints(file, requests);
  }

  // ---- the run loop --------------------------------------------------------------------------------

  private requireStopped(): void {
    if (this.state === 'idle') throw new RuntimeStateError('no guest is running: launch first');
    if (this.state === 'ended') throw new RuntimeStateError('the guest has ended');
    if (this.state === 'running') throw new RuntimeStateError('the guest is running: pause it first');
  }

  private runJob(job: Job): void {
    this.state = 'running';
    this.job = job;
    this.pauseRequested = false;
    this.lastStop = undefined;
    this.vmmHit = undefined;
    this.frozenLayers = undefined;
    this.resumeFrom = this.engine !== undefined ? this.pc() : -1;
    if (this.interceptedException !== undefined) {
      this.deliverOnce = { vector: this.interceptedException.vector, eip: this.interceptedException.eip, cpu: this.interceptedException.cpu };
      this.interceptedException = undefined;
    }
    const tick = (): void => {
      if (this.job !== job || this.state !== 'running') return;
      if (this.pauseRequested) {
        this.pauseRequested = false;
        this.finishJob({ kind: 'stop', stop: { reason: 'pause', description: 'Paused' } });
        return;
      }
      let result: JobResult | undefined;
      try {
        result = job.slice();
      } catch (e) {
        result = { kind: 'stop', stop: { reason: 'exception', description: `internal error while running the guest: ${e instanceof Error ? e.message : String(e)}`, exception: { id: 'internal', name: 'internal error', details: String(e) } } };
      }
      this.reverse.record();
      this.flushSerial();
      if (result === undefined) this.scheduler(tick);
      else this.finishJob(result);
    };
    this.scheduler(tick);
  }

  private finishJob(result: JobResult): void {
    this.job = undefined;
    this.breakpoints.clearInternal();
    if (result.kind === 'ended') {
      this.state = 'ended';
      this.flushSerial();
      this.listener.exited(result.exit);
      return;
    }
    this.reportStop(result.stop);
  }

  private reportStop(stop: StopInfo): void {
    this.state = 'stopped';
    this.lastStop = stop;
    this.vcpus.forEachCpu(() => this.tracker.reconcile(this.stackTop()));
    this.listener.stopped(stop);
  }

  /** Converts a machine stop into a job result; undefined means "keep running" (budget). */
  interpretMachineStop(stop: GuestStop): JobResult | undefined {
    switch (stop.reason) {
      case 'budget':
        return undefined;
      case 'magic-breakpoint':
        return { kind: 'stop', stop: { reason: 'breakpoint', description: 'Magic breakpoint: the guest executed xchg bx, bx (Bochs convention)' } };
      case 'cpu-event': {
        const ex = this.interceptedException;
        if (ex === undefined) return undefined;
        const name = vectorName(ex.vector);
        const code = ex.errorCode >= 0 ? `(0x${ex.errorCode.toString(16)})` : '';
        const at = this.describeAddress(ex.eip);
        const reason = this.registers?.core.lastFaultReason ?? '';
        return {
          kind: 'stop',
          stop: {
            reason: 'exception',
            description: `Exception ${name}${code} raised by the instruction at ${at}${reason ? `: ${reason}` : ''}. Continue to deliver it through the guest's IDT.`,
            exception: { id: 'guest-exception', name, details: `vector ${ex.vector}${ex.errorCode >= 0 ? `, error code 0x${ex.errorCode.toString(16)}` : ''}` },
          },
        };
      }
      case 'shutdown':
        if (this.exceptionFilters.tripleFault && !this.shutdownReported) {
          this.shutdownReported = true;
          return { kind: 'stop', stop: { reason: 'exception', description: `Triple fault: ${stop.detail}. The CPU has shut down; inspect the state, then continue to end the session.`, exception: { id: 'triple-fault', name: 'triple fault', details: stop.detail } } };
        }
        return this.ended(END_STATUS.shutdown, stop.detail);
      case 'guest-exit':
        return this.ended(stop.exitStatus ?? 1, stop.detail);
      case 'halt':
        return this.ended(END_STATUS.halted, stop.detail);
      case 'instruction-limit':
        return this.ended(END_STATUS.instructionLimit, stop.detail);
      case 'output-limit':
        return this.ended(END_STATUS.outputLimit, stop.detail);
      case 'vmm-stop':
        return this.ended(END_STATUS.vmmStop, stop.detail);
      case 'vmm-trap': {
        const hit = this.vmmHit;
        this.vmmHit = undefined;
        if (hit === undefined) return undefined;
        const t = hit.transition;
        const handler = this.activeHandler();
        const inHandler = handler === undefined ? undefined : { name: handler.handler, ...(handler.stepNames[handler.nextStep] === undefined ? {} : { next: handler.stepNames[handler.nextStep]! }) };
        const explained = explainVmmEvent(t, t.instruction === undefined ? undefined : this.describeAddress(t.instruction.address), inHandler);
        // Hops of an I/O request are recorded in one burst: show the layers as they were at the matched hop.
        if (t.kind === 'io-hop' || t.kind === 'world-switch') this.frozenLayers = hit.stack;
        return {
          kind: 'stop',
          stop: { reason: 'exception', description: explained.sentence, exception: { id: hit.filter, name: explained.name, details: `#${t.seq} ${t.kind} ${t.from} → ${t.to}: ${t.reason}` } },
        };
      }
      case 'watchpoint':
        return this.dataBreakpointStop();
      case 'breakpoint':
        return undefined; // handled by the job (needs the breakpoint table)
    }
  }

  /** The CPU stopped after a watched access: stop if a data breakpoint's condition and hit count say so. */
  private dataBreakpointStop(): JobResult | undefined {
    const core = this.registers?.core;
    const access = core?.lastWatchpoint;
    if (core === undefined || access === null || access === undefined) return undefined;
    core.lastWatchpoint = null;
    const decision = this.dataBreakpoints.decide(access.address, access.write, (e) => this.evaluate(e));
    for (const m of decision.messages) this.log(m);
    if (!decision.stop) return undefined;
    const value = this.readMemory(access.address & ~3, 4);
    const what = `${access.write ? 'wrote' : 'read'} ${this.describeAddress(access.address)}`;
    return {
      kind: 'stop',
      stop: {
        reason: 'data breakpoint',
        description: `Data breakpoint: the instruction before ${this.describeAddress(this.pc())} ${what}${value === undefined ? '' : ` (dword there is now 0x${value.toString(16)})`}`,
        hitBreakpointIds: decision.ids,
      },
    };
  }

  private ended(exitCode: number, description: string): JobResult {
    return { kind: 'ended', exit: { exitCode, description } };
  }

  /** The CPU's event hook: intercepts filtered exceptions (before delivery) and feeds the call-stack tracker. */
  private onCpuEvent(core: Cpu, cpu: number, kind: string, code: number, errorCode: number): boolean {
    if (kind === 'exception') {
      const filter = this.exceptionFilters.guestException;
      const eip = core.s[EIP]! >>> 0; // the CPU has rewound EIP to the faulting instruction
      const skip = this.deliverOnce;
      const mine = skip !== undefined && skip.cpu === cpu;
      if (mine) this.deliverOnce = undefined;
      const delivering = mine && skip.vector === code && skip.eip === eip;
      if (!delivering && filter !== undefined && (filter.size === 0 || filter.has(code))) {
        this.interceptedException = { vector: code, errorCode, eip, cpu };
        return true;
      }
    }
    // Flat code segments are assumed for the frame's return EIP (as everywhere in the native guests).
    if (kind === 'exception' || kind === 'software-interrupt' || kind === 'external-interrupt') this.vcpus.trackerOf(cpu).noteInterrupt(code, kind, core.s[EIP]!);
    return false;
  }

  /** The call-stack tracker of the focused vCPU. */
  get tracker(): CallStackTracker {
    return this.vcpus.tracker;
  }

  /**
   * One instruction of the focused vCPU. With several vCPUs the others take their turns meanwhile (all-stop
   * debugging with the scheduler running, as GDB's default), so interleaving — and reverse exactness — is
   * the same as in a free run; the budget bounds the wait for a CPU that is halted or not yet started.
   */
  stepFocused(): GuestStop {
    const machine = this.machineInstance;
    if (machine.cpus.length === 1) return machine.run(1, { debug: false });
    const cpu = this.vcpus.focused;
    const stop = machine.run(machine.cpus.length * SMP_QUANTUM + 1, { debug: false, stepCpu: cpu });
    if (stop.reason !== 'budget') this.vcpus.focus(machine.smp.current);
    return stop;
  }

  flushSerial(): void {
    if (this.serialPending.length === 0) return;
    const text = this.serialDecoder.decode(Uint8Array.from(this.serialPending), { stream: true });
    this.serialPending = [];
    if (text !== '') this.listener.output(text, 'stdout');
  }

  /** Prints a message in the Debug Console (logpoints, condition errors). */
  log(text: string): void {
    this.listener.output(text.endsWith('\n') ? text : `${text}\n`, 'console');
  }

  // ---- inspection ----------------------------------------------------------------------------------

  /** Where the guest is: under binary translation the CPU may be in the translation cache, mapped back here. */
  pc(): number {
    const real = this.regs.pc();
    return this.engine?.guestAddressOf?.(real) ?? real;
  }

  /** Linear address of the top of the stack (SS base + ESP). */
  stackTop(): number {
    const ss = this.regs.segment(2);
    return (ss.base + this.regs.esp()) >>> 0;
  }

  /** Guest frames (most recent first), beginning with the current instruction. */
  guestFrames(): readonly GuestFrame[] {
    return this.tracker.topFirst();
  }

  isCodeAddress(address: number): boolean {
    const program = this.programInfo;
    if (program !== undefined && program.hasSource) return program.siteAt(address) !== undefined;
    return this.machine?.peekLinear(address) !== undefined;
  }

  /** "label+0x4 (0x100024)" or "0x100024". */
  describeAddress(address: number): string {
    const name = this.programInfo?.symbolize(address);
    const hex = `0x${(address >>> 0).toString(16)}`;
    return name === undefined ? hex : `${name} (${hex})`;
  }

  /** Reads guest linear memory without side effects; stops at the first unmapped byte. */
  readMemory(address: number, size: 1 | 2 | 4): number | undefined;
  readMemory(address: number, size: number): number | undefined {
    let value = 0;
    for (let i = 0; i < size; i++) {
      const b = this.machine?.peekLinear((address + i) >>> 0);
      if (b === undefined) return undefined;
      value |= b << (8 * i);
    }
    return value >>> 0;
  }

  /**
   * Reads guest linear memory without side effects, a page at a time (one translation per page, then a
   * copy from RAM); stops at the first unmapped byte.
   */
  readBytes(address: number, count: number): Uint8Array {
    const machine = this.machine;
    const registers = this.registers;
    if (machine === undefined || registers === undefined || count <= 0) return new Uint8Array(0);
    const ram = machine.memory.ram;
    const mmu = registers.core.mmu;
    const out = new Uint8Array(count);
    let n = 0;
    while (n < count) {
      const linear = (address + n) >>> 0;
      const physical = mmu.peekTranslate(linear);
      if (physical === undefined) break;
      const chunk = Math.min(count - n, 0x1000 - (linear & 0xfff));
      if (physical + chunk > ram.length) {
        const b = machine.peekPhysical(physical);
        if (b === undefined) break;
        out[n++] = b;
        continue;
      }
      out.set(ram.subarray(physical, physical + chunk), n);
      n += chunk;
    }
    return out.subarray(0, n);
  }

  /** Writes guest linear memory; returns how many bytes were written (stops at the first unmapped one). */
  writeBytes(address: number, bytes: Uint8Array): number {
    let written = 0;
    for (const b of bytes) {
      if (this.machine?.pokeLinear((address + written) >>> 0, b) !== true) break;
      written++;
    }
    return written;
  }

  /** Decodes the instruction at a linear address (mnemonic, length, text); undefined if unmapped. */
  instructionAt(address: number): { mnemonic: string; length: number; text: string } | undefined {
    const bytes = this.readBytes(address, 15);
    if (bytes.length === 0) return undefined;
    const insn = disassembleOne(bytes, 0, address);
    const words = insn.text.split(' ');
    const mnemonic = words.find((w) => !['rep', 'repe', 'repne', 'lock', 'o16', 'cs', 'ds', 'es', 'fs', 'gs', 'ss'].includes(w)) ?? '';
    return { mnemonic, length: insn.length, text: insn.text };
  }

  register(name: string): number | undefined {
    return this.registers?.read(name);
  }

  /** A label's address; `.local` names resolve within the enclosing non-local label, as NASM does. */
  symbol(name: string): number | undefined {
    const program = this.programInfo;
    if (program === undefined) return undefined;
    const direct = program.symbol(name);
    if (direct !== undefined || !name.startsWith('.') || this.registers === undefined) return direct?.address;
    const enclosing = program.labelBelow(this.pc())?.name;
    const parent = enclosing === undefined ? undefined : enclosing.split('.')[0];
    return parent === undefined ? undefined : program.symbol(`${parent}${name}`)?.address;
  }

  here(): number {
    return this.pc();
  }

  evaluate(expression: string): number {
    return evaluateExpression(expression, this);
  }
}

function isGuestLayer(layer: string): boolean {
  return layer === 'guest-kernel' || layer === 'guest-user';
}

/** One line for the `trace` launch option: "#12 trap guest kernel → vmm: #GP: cli at CPL1". */
function describeTransition(t: Transition): string {
  const at = t.instruction === undefined ? '' : ` [0x${t.instruction.address.toString(16)} ${t.instruction.text}]`;
  return `#${t.seq} ${t.kind} ${t.from} → ${t.to}: ${t.reason}${at}${t.cost > 0 ? ` (${t.cost} cycles)` : ''}`;
}

/** A command that is not valid in the current state (the session turns it into an error response). */
export class RuntimeStateError extends Error {}
