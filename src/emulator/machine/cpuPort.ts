// What the machine needs from a CPU core, beyond the hardware contract the CPU needs from the machine
// (hw/contracts.ts). The machine drives any core through this port: the real IA-32 core via cpuAdapter.ts,
// or a scripted stand-in in the machine's unit tests.
import type { CpuStopReason } from '../hw/contracts';

/** The protected-mode state a boot loader hands over (Multiboot: flat segments, paging off). */
export interface ProtectedModeEntry {
  readonly eip: number;
  readonly eax: number;
  readonly ebx: number;
  readonly esp: number;
  readonly eflags: number;
  readonly cr0: number;
  readonly gdtBase: number;
  readonly gdtLimit: number;
  readonly idtBase: number;
  readonly idtLimit: number;
  /** Selectors to load; their descriptors are read from the GDT already placed in guest memory. */
  readonly cs: number;
  readonly ds: number;
  readonly es: number;
  readonly ss: number;
  readonly fs: number;
  readonly gs: number;
}

/** A compact, human-readable view of the CPU for dumps and tests. */
export interface CpuSummary {
  readonly registers: Readonly<Record<string, number>>;
  readonly cpl: number;
  readonly halted: boolean;
}

export interface MachineCpu {
  /** Instructions retired since reset (drives virtual time). */
  retired(): number;
  /**
   * Execute up to `budget` instructions; `debug` selects the loop that honours breakpoints, which resumes over a
   * breakpoint at the current instruction unless `resumeOverBreakpoint` is false (a CPU taking its turn again).
   */
  run(budget: number, debug: boolean, resumeOverBreakpoint?: boolean): CpuStopReason;
  /** Ask the CPU to return from run() at the next instruction boundary (a device ended the run). */
  requestStop(): void;
  /** Withdraw a stop request that run() has not yet acted on (it returned for another reason first). */
  cancelStop(): void;
  /** EFLAGS.IF: whether a HLT can be woken by a maskable interrupt. */
  interruptsEnabled(): boolean;
  /** Load the boot hand-over state. */
  enterProtectedMode(entry: ProtectedModeEntry): void;
  summary(): CpuSummary;
  /** Plain-data (structured-clone safe) snapshot of the complete CPU state. */
  saveState(): unknown;
  loadState(state: unknown): void;
  /** Bytes that identify the architectural state, for determinism hashes. */
  stateBytes(): Uint8Array;
  /** Side-effect-free byte access through the current paging translation (undefined if unmapped). */
  peekLinear(linear: number): number | undefined;
  pokeLinear(linear: number, value: number): boolean;
  setBreakpoint(linear: number): void;
  clearBreakpoint(linear: number): void;
  // ---- multiprocessor machines (optional: a single-CPU machine never calls them) ----
  /** HLT is in effect (the CPU waits for an interrupt). */
  halted?(): boolean;
  /** INIT: the RESET state (SDM Vol. 3A Table 9-1); the machine then keeps the CPU in wait-for-SIPI. */
  reset?(): void;
  /** Start-up IPI (SDM Vol. 3A §9.4.4): real mode, CS = vector << 8 (base vector << 12), IP = 0. */
  startup?(vector: number): void;
  /** An interrupt may have become deliverable: look for it at the next instruction boundary. */
  noticeInterrupt?(): void;
}
