// Which CPU of a multiprocessor machine runs next, and the per-CPU power states of MP initialization (SDM Vol. 3A
// §9.4): CPU 0 (the BSP) runs from boot, the APs wait for a start-up IPI; INIT puts a CPU back in wait-for-SIPI.
// Interleaving is a fixed-quantum round robin counted in retired instructions: the CPU at `current` runs until it
// has retired QUANTUM instructions (or halts), then the next runnable CPU in index order takes over. The quantum
// position is part of the saved state, so how a debugger chops a run into calls never changes the interleaving:
// every run of the same image is identical and snapshots replay exactly. Virtual time is shared: it advances
// with every instruction any CPU retires (the CPUs take turns, like vCPU threads on one host core).
import type { LocalApic } from '../devices/localApic';
import type { MachineCpu } from './cpuPort';

/** Instructions a CPU runs before the next one takes its turn. */
export const SMP_QUANTUM = 1000;

export const CpuRunState = { RUNNING: 0, WAIT_FOR_SIPI: 1 } as const;

export interface SmpSchedulerState {
  readonly runState: number[];
  readonly current: number;
  readonly quantumUsed: number;
}

export class SmpScheduler {
  readonly runState: Uint8Array;
  /** The CPU whose turn it is (and, after a stop, the CPU that stopped). */
  current = 0;
  /** Instructions `current` has retired in its turn so far. */
  quantumUsed = 0;

  constructor(
    private readonly cpus: readonly MachineCpu[],
    private readonly apics: readonly LocalApic[],
  ) {
    this.runState = new Uint8Array(cpus.length).fill(CpuRunState.WAIT_FOR_SIPI);
    this.runState[0] = CpuRunState.RUNNING;
  }

  /** Can CPU `index` execute now (started, and not halted unless an interrupt would wake it)? */
  runnable(index: number): boolean {
    if (this.runState[index] !== CpuRunState.RUNNING) return false;
    const cpu = this.cpus[index]!;
    if (!(cpu.halted?.() ?? false)) return true;
    return cpu.interruptsEnabled() && this.apics[index]!.pending();
  }

  /** A started CPU that is halted with interrupts enabled: a timer could wake it. */
  waitingForInterrupt(index: number): boolean {
    const cpu = this.cpus[index]!;
    return this.runState[index] === CpuRunState.RUNNING && (cpu.halted?.() ?? false) && cpu.interruptsEnabled();
  }

  /**
   * The CPU to run next: `current` while its turn lasts and it can run, else the next runnable one in round-robin
   * order (a new turn), or -1 when none can.
   */
  pick(): number {
    const n = this.cpus.length;
    if (this.quantumUsed < SMP_QUANTUM && this.runnable(this.current)) return this.current;
    for (let k = 1; k <= n; k++) {
      const index = (this.current + k) % n;
      if (this.runnable(index)) {
        this.switchTo(index);
        return index;
      }
    }
    return -1;
  }

  /** End the current turn (the CPU halted or used its quantum). */
  endTurn(): void {
    this.quantumUsed = SMP_QUANTUM;
  }

  private switchTo(index: number): void {
    this.current = index;
    this.quantumUsed = 0;
  }

  saveState(): SmpSchedulerState {
    return { runState: Array.from(this.runState), current: this.current, quantumUsed: this.quantumUsed };
  }

  loadState(state: SmpSchedulerState): void {
    this.runState.set(state.runState);
    this.current = state.current;
    this.quantumUsed = state.quantumUsed;
  }
}
