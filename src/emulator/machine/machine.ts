// The PC machine around the CPU: builds RAM, buses and devices from a recipe, implements the hardware
// contract for the CPU (memory, ports, interrupt line, virtual clock), and runs the CPU in slices that end at
// the next device deadline so timers fire at exact virtual times. HLT with interrupts enabled skips virtual
// time to the next deadline. Everything is deterministic: the same image and recipe give the same run.
// A recipe with several vCPUs gets one core per CPU sharing RAM, buses and devices, each with its own local
// APIC; the cores take turns (smpScheduler.ts) and start through INIT-SIPI-SIPI (SDM Vol. 3A §9.4).
import type { CpuStopReason, VirtualClock } from '../hw/contracts';
import type { CpuStartControl } from '../devices/apicBus';
import type { MachineControl, TimedDevice } from '../devices/device';
import { IoPortBus } from '../devices/portBus';
import type { MachineCpu } from './cpuPort';
import { DeviceSet, buildDevices, type DeviceSetState } from './deviceSet';
import { applyFirmwareState } from './firmware';
import { CYCLES_PER_PIT_TICK } from './layout';
import { type BootOptions, type LoadedKernel, loadMultiboot } from './multiboot';
import { PhysicalMemory } from './physicalMemory';
import { type MachineRecipe, validateRecipe } from './recipe';
import { runMultiprocessor } from './smpRun';
import { CpuRunState, SmpScheduler, type SmpSchedulerState } from './smpScheduler';
import { hashBytes, stringBytes } from './stateHash';

/** Why Machine.run returned (the CPU's reasons plus the machine's own). */
export type MachineStopReason =
  | Exclude<CpuStopReason, 'exit'>
  | 'guest-exit' // the guest wrote to the debug-exit port
  | 'output-limit' // the guest wrote more serial output than allowed
  | 'instruction-limit' // the total instruction limit was reached
  | 'cpu-event'; // the CPU stopped on an event its embedding asked for (VMM hook)

export interface MachineStop {
  readonly reason: MachineStopReason;
  /** One line a student can act on. */
  readonly detail: string;
  /** Process status for 'guest-exit' (QEMU convention (v << 1) | 1). */
  readonly exitStatus?: number;
}

export interface RunLimits {
  /** Total instructions since boot after which the run stops ('instruction-limit'). */
  instructionLimit?: number;
  /** Total serial output bytes after which the run stops ('output-limit'). */
  outputLimit?: number;
}

/** Creates CPU core `index` (0 = the bootstrap processor) wired to this machine's buses. */
export type CpuFactory = (machine: Machine, index: number) => MachineCpu;

export interface MachineState {
  readonly recipe: MachineRecipe;
  readonly ram: Uint8Array;
  readonly cpu: unknown;
  /** CPUs 1..n-1 of a multiprocessor machine and the scheduler's state (absent with one CPU). */
  readonly otherCpus?: unknown[];
  readonly smp?: SmpSchedulerState;
  readonly devices: DeviceSetState;
  readonly idleCycles: number;
  readonly serialBytes: number;
  readonly finalStop: MachineStop | null;
}

export class Machine implements VirtualClock, MachineControl, CpuStartControl {
  readonly memory: PhysicalMemory;
  readonly ports = new IoPortBus();
  readonly devices: DeviceSet;
  /** The bootstrap processor (CPU 0). */
  readonly cpu: MachineCpu;
  /** Every CPU, the BSP first. */
  readonly cpus: readonly MachineCpu[];
  /** Turn-taking and power states of the CPUs (one CPU: always CPU 0, running). */
  readonly smp: SmpScheduler;
  readonly limits: RunLimits = {};
  /** Listeners for every byte the guest transmits on COM1. */
  private readonly serialListeners: Array<(byte: number) => void> = [];
  private serialBytes = 0;
  /** Virtual cycles spent halted (time skipped to the next deadline). */
  private idleCycles = 0;
  /** A stop requested by a device during a CPU slice (exit port, shutdown port, output limit). */
  private pendingStop: MachineStop | null = null;
  /** Once the guest has exited or shut down, every later run() reports the same stop. */
  private finalStop: MachineStop | null = null;
  private readonly timed: TimedDevice[];
  /** A device deadline moved during a CPU slice: the CPU was asked to stop so the slice can be recomputed. */
  private rescheduleRequested = false;

  constructor(readonly recipe: MachineRecipe, cpuFactory: CpuFactory) {
    const problems = validateRecipe(recipe);
    if (problems.length > 0) throw new RangeError(`invalid machine recipe: ${problems.join('; ')}`);
    this.memory = new PhysicalMemory(recipe.memoryMiB * 1024 * 1024);
    this.devices = buildDevices(recipe, {
      clock: this,
      control: this,
      cyclesPerPitTick: CYCLES_PER_PIT_TICK,
      onSerialByte: (byte) => this.serialByte(byte),
    });
    for (const d of this.devices.portDevices) this.ports.attach(d);
    this.timed = this.devices.timedDevices;
    for (const d of this.timed) d.onDeadlineChange = () => this.requestReschedule();
    const cpus: MachineCpu[] = [];
    this.cpu = cpuFactory(this, 0); // set before the others are built: they share some of its structures
    cpus.push(this.cpu);
    for (let index = 1; index < (recipe.vcpus ?? 1); index++) cpus.push(cpuFactory(this, index));
    this.cpus = cpus;
    const apic = this.devices.apic;
    this.smp = new SmpScheduler(cpus, apic?.apics ?? []);
    if (apic !== undefined) {
      this.memory.mmio.attach(apic);
      apic.control = this;
      apic.apics.forEach((a, index) => (a.onInterruptChange = () => cpus[index]!.noticeInterrupt?.()));
    }
    // Programs the PIT (the first slice is recomputed) and the BSP's local APIC.
    applyFirmwareState(recipe.firmware, this.ports, apic?.apics[0]);
  }

  /**
   * Load a Multiboot kernel (ELF32 or flat image with a.out kludge) and set the CPU to the hand-over state.
   * Returns an error message for an unbootable image; the machine is then unchanged apart from RAM.
   */
  boot(image: Uint8Array, options: BootOptions): LoadedKernel | { error: string } {
    const loaded = loadMultiboot(image, this.memory, options);
    if ('error' in loaded) return loaded;
    this.cpu.enterProtectedMode(loaded.entry);
    return loaded;
  }

  // ---- VirtualClock --------------------------------------------------------------------------------

  now(): number {
    return this.retired() * this.recipe.cyclesPerInstruction + this.idleCycles;
  }

  /** Instructions retired by all CPUs together (with one CPU, the CPU's own count). */
  retired(): number {
    const cpus = this.cpus;
    if (cpus === undefined || cpus.length === 1) return this.cpu.retired(); // cpus is unset while the machine is built
    let total = 0;
    for (const c of cpus) total += c.retired();
    return total;
  }

  /**
   * Cycles spent outside guest instructions (a VMM's handlers, world switches, I/O hops): they advance virtual
   * time like idle cycles do, so devices see the time a virtualized guest loses to its VMM.
   */
  addCycles(cycles: number): void {
    if (Number.isFinite(cycles) && cycles > 0) this.idleCycles += cycles;
  }

  // ---- MachineControl (called by devices during a CPU slice) ---------------------------------------

  requestExit(status: number, reason: string): void {
    this.stopSoon({ reason: 'guest-exit', detail: reason, exitStatus: status });
  }

  requestShutdown(reason: string): void {
    this.stopSoon({ reason: 'shutdown', detail: reason });
  }

  // ---- CpuStartControl (called by the local APICs for INIT and start-up IPIs) ----------------------

  initCpu(index: number): void {
    if (index === 0) {
      this.stopSoon({ reason: 'shutdown', detail: 'INIT sent to the bootstrap processor: a firmware restart is not modelled' });
      return;
    }
    this.cpus[index]!.reset?.();
    this.smp.runState[index] = CpuRunState.WAIT_FOR_SIPI;
    if (index === this.smp.current) this.cpus[index]!.requestStop(); // a CPU that sent INIT to itself stops now
  }

  startCpu(index: number, vector: number): void {
    if (this.smp.runState[index] !== CpuRunState.WAIT_FOR_SIPI) return; // only a waiting CPU takes a SIPI (§9.4.4)
    this.cpus[index]!.startup?.(vector);
    this.smp.runState[index] = CpuRunState.RUNNING;
  }

  unsupportedIpi(description: string): void {
    this.stopSoon({ reason: 'shutdown', detail: description });
  }

  // ---- serial --------------------------------------------------------------------------------------

  onSerialOutput(listener: (byte: number) => void): void {
    this.serialListeners.push(listener);
  }

  /** Host → guest bytes on COM1, delivered as the guest reads them (none lost to overrun). */
  serialInput(bytes: Iterable<number>): void {
    this.devices.com1?.queueHostInput(bytes);
  }

  private serialByte(byte: number): void {
    this.serialBytes++;
    const limit = this.limits.outputLimit;
    if (limit !== undefined && this.serialBytes > limit) {
      this.stopSoon({ reason: 'output-limit', detail: `the guest wrote more than ${limit} bytes of serial output` });
      return;
    }
    for (const l of this.serialListeners) l(byte);
  }

  // ---- running -------------------------------------------------------------------------------------

  /**
   * Run up to `budget` instructions (all CPUs together), in slices that end at the next device deadline. Returns
   * why it stopped; 'budget' means the caller may simply call again. `stepCpu` (several CPUs): return once that
   * CPU has retired one instruction, the others running their turns meanwhile (one CPU: use a budget of 1).
   */
  run(budget: number, options: { debug?: boolean; stepCpu?: number } = {}): MachineStop {
    if (this.finalStop !== null) return this.finalStop;
    if (this.cpus.length > 1) return runMultiprocessor(this, budget, options.debug ?? false, options.stepCpu);
    const debug = options.debug ?? false;
    const cpi = this.recipe.cyclesPerInstruction;
    const start = this.cpu.retired();
    let fruitlessWakeups = 0; // timer events while halted that did not get the CPU running again
    let retiredAtLastHalt = -1;
    for (;;) {
      const retired = this.cpu.retired();
      const left = budget - (retired - start);
      if (left <= 0) return { reason: 'budget', detail: `ran ${budget} instructions` };
      const limit = this.limits.instructionLimit;
      if (limit !== undefined && retired >= limit) {
        return this.finish({ reason: 'instruction-limit', detail: `stopped after ${limit} instructions (instruction limit)` });
      }
      const now = this.now();
      const deadline = this.nextDeadline();
      if (deadline <= now) {
        this.advanceDevices(now);
        continue;
      }
      let slice = left;
      if (deadline !== Infinity) slice = Math.min(slice, Math.max(1, Math.ceil((deadline - now) / cpi)));
      if (limit !== undefined) slice = Math.min(slice, limit - retired);
      const cpuStop = this.cpu.run(slice, debug);
      this.advanceDevices(this.now());
      if (this.pendingStop !== null) {
        const stop = this.pendingStop;
        this.pendingStop = null;
        return stop.reason === 'guest-exit' || stop.reason === 'shutdown' || stop.reason === 'output-limit' ? this.finish(stop) : stop;
      }
      if (this.rescheduleRequested) {
        // A deadline moved during the slice. If that is why the CPU stopped, just recompute the slice;
        // if it stopped for another reason first, withdraw the now pointless stop request.
        this.rescheduleRequested = false;
        if (cpuStop === 'exit') continue;
        this.cpu.cancelStop();
      }
      switch (cpuStop) {
        case 'budget':
          continue;
        case 'halt': {
          if (!this.cpu.interruptsEnabled()) {
            return this.finish({ reason: 'halt', detail: 'HLT with interrupts disabled: the CPU is stopped for good' });
          }
          const wake = this.nextDeadline();
          if (wake === Infinity) {
            return this.finish({ reason: 'halt', detail: 'HLT waiting for an interrupt, but no device will ever raise one' });
          }
          // Only the guest can unmask or EOI, so if device events no longer wake it, nothing ever will.
          const retiredNow = this.cpu.retired();
          fruitlessWakeups = retiredNow === retiredAtLastHalt ? fruitlessWakeups + 1 : 0;
          retiredAtLastHalt = retiredNow;
          if (fruitlessWakeups >= 3) {
            return this.finish({
              reason: 'halt',
              detail: 'HLT waiting for an interrupt, but every interrupt that arrives is masked or blocked in the PIC (missing unmask or EOI?)',
            });
          }
          const idleFrom = this.now();
          if (wake > idleFrom) this.idleCycles += wake - idleFrom; // skip virtual time while halted
          this.advanceDevices(this.now());
          continue;
        }
        case 'shutdown':
          return this.finish({ reason: 'shutdown', detail: 'triple fault: the CPU shut down (a fault while delivering #DF)' });
        case 'breakpoint':
          return { reason: 'breakpoint', detail: 'execution breakpoint' };
        case 'watchpoint':
          return { reason: 'watchpoint', detail: 'data breakpoint' };
        case 'magic-breakpoint':
          return { reason: 'magic-breakpoint', detail: 'magic breakpoint (xchg bx, bx)' };
        case 'exit':
          return { reason: 'cpu-event', detail: 'the CPU stopped on an event the embedding asked for' };
      }
    }
  }

  /** Earliest deadline among timed devices (virtual cycles), or Infinity. */
  nextDeadline(): number {
    let earliest = Infinity;
    for (const d of this.timed) {
      const t = d.nextDeadline();
      if (t < earliest) earliest = t;
    }
    return earliest;
  }

  /** Bring every timed device up to `now` (also used by smpRun.ts). */
  advanceDevices(now: number): void {
    for (const d of this.timed) d.advanceTo(now);
  }

  /** Skip virtual time while every CPU is halted (smpRun.ts). */
  skipIdleTo(cycle: number): void {
    const now = this.now();
    if (cycle > now) this.idleCycles += cycle - now;
  }

  /** The stop a device asked for during the last slice, taken once (smpRun.ts). */
  takePendingStop(): MachineStop | null {
    const stop = this.pendingStop;
    this.pendingStop = null;
    return stop;
  }

  /** Whether a device deadline moved during the last slice, taken once (smpRun.ts). */
  takeRescheduleRequest(): boolean {
    const requested = this.rescheduleRequested;
    this.rescheduleRequested = false;
    return requested;
  }

  private requestReschedule(): void {
    if (this.rescheduleRequested) return;
    this.rescheduleRequested = true;
    // The running CPU (absent while the machine is still being built).
    (this.cpus === undefined ? this.cpu : this.cpus[this.smp.current])?.requestStop();
  }

  private stopSoon(stop: MachineStop): void {
    if (this.pendingStop === null) this.pendingStop = stop;
    this.cpus[this.smp.current]!.requestStop();
  }

  /** End the run for good with `stop` (also used by smpRun.ts). */
  finish(stop: MachineStop): MachineStop {
    this.finalStop = stop;
    return stop;
  }

  /** The stop that ended the run for good (exit, shutdown, halt, limits), or null while runnable. */
  get ended(): MachineStop | null {
    return this.finalStop;
  }

  get serialByteCount(): number {
    return this.serialBytes;
  }

  // ---- debugger access -----------------------------------------------------------------------------

  peekPhysical(address: number): number | undefined {
    return this.memory.peek(address);
  }

  pokePhysical(address: number, value: number): boolean {
    return this.memory.poke(address, value);
  }

  peekLinear(linear: number): number | undefined {
    return this.cpu.peekLinear(linear);
  }

  pokeLinear(linear: number, value: number): boolean {
    return this.cpu.pokeLinear(linear, value);
  }

  // ---- state ---------------------------------------------------------------------------------------

  saveState(): MachineState {
    const smp = this.cpus.length > 1 ? { otherCpus: this.cpus.slice(1).map((c) => c.saveState()), smp: this.smp.saveState() } : {};
    return {
      recipe: this.recipe,
      ram: this.memory.ram.slice(),
      cpu: this.cpu.saveState(),
      ...smp,
      devices: this.devices.saveState(),
      idleCycles: this.idleCycles,
      serialBytes: this.serialBytes,
      finalStop: this.finalStop,
    };
  }

  loadState(state: MachineState): void {
    if (state.ram.length !== this.memory.ram.length) {
      throw new RangeError(`saved state has ${state.ram.length} bytes of RAM, this machine ${this.memory.ram.length}`);
    }
    this.memory.ram.set(state.ram);
    this.cpu.loadState(state.cpu);
    state.otherCpus?.forEach((c, i) => this.cpus[i + 1]?.loadState(c));
    if (state.smp !== undefined) this.smp.loadState(state.smp);
    this.idleCycles = state.idleCycles;
    this.serialBytes = state.serialBytes;
    this.finalStop = state.finalStop;
    this.pendingStop = null;
    this.rescheduleRequested = false; // the CPU's own stop request was cleared with its state
    this.devices.loadState(state.devices); // after the CPU: device time derives from its counter
  }

  /** A hash of RAM, CPU state, device state and virtual time: equal hashes mean equal machines. */
  stateHash(): string {
    const devices = stringBytes(JSON.stringify(this.devices.saveState()));
    const time = stringBytes(`${this.now()}`);
    const cpus = this.cpus.map((c) => c.stateBytes());
    const smp = this.cpus.length > 1 ? [stringBytes(JSON.stringify(this.smp.saveState()))] : [];
    return hashBytes([this.memory.ram, ...cpus, ...smp, devices, time]);
  }
}
