// The ExecutionEngine contract: what every technique (native, trap-and-emulate, binary translation,
// paravirtual, hardware-assisted) implements so the machine, the CLI and the debugger drive them alike.
// An engine owns how guest code reaches the CPU (directly, deprivileged, translated, in VMX non-root mode)
// and routes every VMM entry through an ExitDispatcher keyed by SDM exit reasons. It reports everything it
// does as Transitions (transitions.ts) on the host's log, keeps the LayerStack current, and charges costs
// per layer and reason. Design and plug-in points: docs/vmm/engines.md.

import type { ExitCount } from './exitDispatcher';
import type { HandlerExecutionState } from './handlerSteps';
import type { MemoryVirtualizationStats, TranslationCacheInfo, VmcsInfo } from './inspection';
import type { Architecture, Layer, Technique } from './layers';
import type { LayerFrame, LayerStack } from './layerStack';
import type { TransitionInput, Transition, TransitionLog } from './transitions';

/** Why `run()` or `step()` returned. Mirrors hw/contracts CpuStopReason plus the VMM's own reasons. */
export type EngineStop =
  | { readonly kind: 'budget' } // instruction budget used up
  | { readonly kind: 'step-done' } // step(): one guest instruction or one handler step completed
  | { readonly kind: 'breakpoint'; readonly address: number }
  | { readonly kind: 'halt' } // the guest waits for an interrupt the machine must schedule
  | { readonly kind: 'guest-exit'; readonly status: number } // debug-exit port or PV sched_op shutdown
  | { readonly kind: 'shutdown'; readonly reason: string } // triple fault
  | { readonly kind: 'stop'; readonly message: string }; // a diagnosed stop (unhandled exit, needs memory virtualization…)

/** A descriptor-table register as the guest sees it. */
export interface TableRegister {
  readonly base: number;
  readonly limit: number;
}

/**
 * The virtual CPU: the privileged state the guest believes it has. Under trap-and-emulate it differs from the
 * real CPU (real CPL 1 vs virtual CPL 0, real IF vs virtual IF, VMM's GDT/IDT vs the guest's), which is what
 * the debugger shows side by side. `native` has none.
 */
export interface VirtualCpuState {
  readonly cpl: number;
  /** Virtual EFLAGS.IF (for PV: the inverse of the shared-info event mask). */
  readonly interruptFlag: boolean;
  readonly iopl: number;
  readonly cr0: number;
  readonly cr2: number;
  readonly cr3: number;
  readonly cr4: number;
  readonly gdtr: TableRegister;
  readonly idtr: TableRegister;
  readonly ldtr: number;
  readonly tr: number;
  /** Virtual interrupts waiting for the virtual IF (vectors). */
  readonly pendingVectors: readonly number[];
}

/** What the machine hands an engine (the composition root wires it). */
export interface EngineHost {
  readonly technique: Technique;
  readonly architecture: Architecture;
  readonly log: TransitionLog;
  readonly stack: LayerStack;
  /** Virtual time in cycles (hw/contracts VirtualClock). */
  now(): number;
  /** Charges cycles of a cost-model parameter to a layer and reason (the cost ledger). */
  charge(layer: Layer, reason: string, costParameter: string, times?: number): void;
  /** Records a transition, applies it to the layer stack, and returns it numbered. */
  transition(input: TransitionInput): Transition;
}

/** Serialisable engine state for snapshots and reverse debugging (the machine stores it with CPU and devices). */
export interface EngineState {
  readonly technique: Technique;
  readonly virtualCpu?: VirtualCpuState;
  readonly stack: readonly LayerFrame[];
  readonly activeHandler?: HandlerExecutionState;
  /** Technique-specific data (shadow tables, translation cache index, VMCS…) as plain JSON. */
  readonly extra?: unknown;
}

export interface ExecutionEngine {
  readonly technique: Technique;
  /**
   * Called once after the guest is loaded, before the first instruction: deprivilege the kernel, build the
   * VMM-owned GDT/IDT/TSS or VMCS, install the CPU event hook. Returns a stop when the guest cannot run
   * under this technique (e.g. a paging guest before memory virtualization exists).
   */
  attach(): EngineStop | undefined;
  /** Runs guest code and VMM handlers for at most `budget` guest instructions. */
  run(budget: number): EngineStop;
  /**
   * Debugger step: exactly one guest instruction, or — while a VMM handler is active — exactly one named step
   * of it. Returns 'step-done' or a stop.
   */
  step(): EngineStop;
  /** The handler the VMM is in the middle of (the debugger shows its steps), if any. */
  activeHandler(): HandlerExecutionState | undefined;
  /** The CPU the guest believes in; undefined for `native`. */
  virtualCpu(): VirtualCpuState | undefined;
  /** VMM entries by SDM exit reason since attach. */
  exitCounts(): readonly ExitCount[];
  saveState(): EngineState;
  loadState(state: EngineState): void;
  /** Binary translation: the translation cache (inspection.ts). Other techniques leave it undefined. */
  translationCache?(): TranslationCacheInfo;
  /** Hardware assist: the current VMCS, grouped and decoded. */
  vmcsInfo?(): VmcsInfo | undefined;
  /**
   * Binary translation: the guest linear address of the instruction at a linear address the CPU may be executing
   * (an address in the translation cache maps back to the guest instruction it came from; others map to
   * themselves; undefined when it maps to none). Debuggers use it to show where the guest is.
   */
  guestAddressOf?(linear: number): number | undefined;
  /** Shadow paging / EPT / PV direct paging counters (every engine that virtualizes memory). */
  memoryStats?(): MemoryVirtualizationStats;
}

/** Convenience for engines: the layer stack as call-stack frames, top first. */
export function callStackOf(stack: LayerStack): readonly LayerFrame[] {
  return stack.topFirst();
}
