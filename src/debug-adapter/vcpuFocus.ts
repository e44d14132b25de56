// SPDX-License-Identifier: MIT
// The vCPUs of a debugged machine as the debugger sees them: one register file and one call-stack tracker per
// vCPU, and the FOCUSED vCPU that inspection (registers, stack, evaluate, memory through its paging) and
// stepping apply to. DAP threads are vCPUs: thread id = CPU index + 1; frame ids carry the CPU index
// (FRAME_ID_STRIDE) so scopes and variables of any thread's frame answer for that thread's CPU.
import type { WatchpointSink } from './dataBreakpoints';
import type { CallStackTracker } from './callStack';
import type { CpuRegisters } from './cpuAccess';

/** Frame id = CPU index × FRAME_ID_STRIDE + frame index (CPU 0's frame ids are plain indexes). */
export const FRAME_ID_STRIDE = 1_000_000;

/** DAP thread id of a CPU index, and back. */
export const threadIdOf = (cpu: number): number => cpu + 1;
export const cpuOfThread = (threadId: number): number => threadId - 1;

/** Thread names: "vCPU 0" alone; "vCPU 0 (BSP)", "vCPU 1"… on a multiprocessor machine. */
export function threadName(cpu: number, count: number): string {
  return count > 1 && cpu === 0 ? 'vCPU 0 (BSP)' : `vCPU ${cpu}`;
}

export class VcpuFocus {
  private registers: CpuRegisters[] = [];
  private readonly trackers: CallStackTracker[];
  private focusIndex = 0;

  constructor(
    private readonly newTracker: () => CallStackTracker,
    /** Told the focused vCPU's registers whenever the focus moves (the runtime reads through them). */
    private readonly onFocus: (registers: CpuRegisters) => void,
  ) {
    this.trackers = [newTracker()];
  }

  /** The machine is built: one register file per CPU (CPU 0 first); the focus starts on the BSP. */
  attach(registers: CpuRegisters[]): void {
    this.registers = registers;
    while (this.trackers.length < registers.length) this.trackers.push(this.newTracker());
    this.focus(0);
  }

  get count(): number {
    return Math.max(1, this.registers.length);
  }

  get all(): readonly CpuRegisters[] {
    return this.registers;
  }

  get focused(): number {
    return this.focusIndex;
  }

  get tracker(): CallStackTracker {
    return this.trackers[this.focusIndex]!;
  }

  trackerOf(cpu: number): CallStackTracker {
    return this.trackers[cpu] ?? this.trackers[0]!;
  }

  /** Focus vCPU `cpu`; throws for a CPU the machine does not have (a bad threadId or frameId). */
  focus(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.count || (this.registers.length > 0 && this.registers[cpu] === undefined)) {
      throw new RangeError(`there is no vCPU ${cpu} (thread ${threadIdOf(cpu)}): this machine has ${this.count}`);
    }
    this.focusIndex = cpu;
    const r = this.registers[cpu];
    if (r !== undefined) this.onFocus(r);
  }

  /** Run `action` with each vCPU focused in turn, then restore the focus. */
  forEachCpu(action: (cpu: number) => void): void {
    const keep = this.focusIndex;
    try {
      for (let cpu = 0; cpu < this.registers.length; cpu++) {
        this.focus(cpu);
        action(cpu);
      }
    } finally {
      if (this.registers.length > 0) this.focus(keep);
    }
  }

  /** Watchpoints go to every vCPU: a data breakpoint fires whichever CPU makes the access. */
  watchpointSink(): WatchpointSink | undefined {
    if (this.registers.length === 0) return undefined;
    const cores = this.registers.map((r) => r.core);
    return {
      setWatchpoint: (linear, size, kind) => cores.forEach((c) => c.setWatchpoint(linear, size, kind)),
      clearWatchpoint: (linear, size) => cores.forEach((c) => c.clearWatchpoint(linear, size)),
    };
  }
}
