// The custom DAP requests and events between the debug adapter and the extension's views (VMM activity,
// compare, translation cache, VMCS, layers diagram, status bar). Types only: the adapter serves them
// (session.ts `customRequest`), the extension calls `session.customRequest(name, args)`. Views never touch
// emulator objects; everything they draw crosses this boundary as JSON.

import type { MemoryVirtualizationStats, TranslationCacheInfo, VmcsInfo } from '../emulator/vmm/inspection';

export const ViewRequest = {
  activity: 'hyperstep.activity',
  compare: 'hyperstep.compare',
  translationCache: 'hyperstep.translationCache',
  vmcs: 'hyperstep.vmcs',
  layers: 'hyperstep.layers',
} as const;

/** Custom event the adapter sends on launch and on every stop, so the status bar and views refresh. */
export const SESSION_INFO_EVENT = 'hyperstep.sessionInfo';

export interface SessionInfoEventBody {
  readonly technique: string;
  readonly architecture: string;
  readonly costModel: string;
  /** True while the session is stopped after a reverse execution (stepBack / reverseContinue). */
  readonly reverse: boolean;
  /** Sequence number of the newest transition (−1 when none): views re-request when it changes. */
  readonly lastTransitionSeq: number;
}

/** A source location of a guest instruction, so a click in a view can open the line. */
export interface GuestLocation {
  readonly path: string;
  /** 1-based line. */
  readonly line: number;
}

export interface ActivityEvent {
  readonly seq: number;
  readonly cycle: number;
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly reason: string;
  /** Linear address and text of the guest instruction that caused it, when there is one. */
  readonly address?: number;
  readonly instruction?: string;
  readonly location?: GuestLocation;
  readonly cycles: number;
}

export interface ActivityArguments {
  /** Only transitions with seq > sinceSeq (incremental refresh). */
  readonly sinceSeq?: number;
  /** At most this many of the newest transitions (default 2,000). */
  readonly max?: number;
}

export interface ActivityResponseBody {
  readonly technique: string;
  readonly architecture: string;
  readonly events: readonly ActivityEvent[];
  /** Over the whole run so far (not only the returned events): count per reason, largest first. */
  readonly histogram: readonly { readonly reason: string; readonly kind: string; readonly count: number }[];
  readonly cyclesPerLayer: readonly { readonly layer: string; readonly cycles: number }[];
  readonly totalCycles: number;
  readonly guestInstructions: number;
  readonly memory?: MemoryVirtualizationStats;
}

export interface CompareArguments {
  /** Default: every implemented technique. */
  readonly techniques?: readonly string[];
  /** Default: ['monolithic']; pass all three to compare architectures too. */
  readonly architectures?: readonly string[];
  /** Instruction budget per run (default 20 M). */
  readonly maxInstructions?: number;
}

export interface CompareRow {
  readonly technique: string;
  readonly architecture: string;
  /** How the run ended: "exit 0x21", "halted", "budget", or the diagnosed stop. */
  readonly outcome: string;
  readonly guestInstructions: number;
  readonly totalCycles: number;
  readonly cyclesPerLayer: readonly { readonly layer: string; readonly cycles: number }[];
  /** Transitions by kind (trap, vm-exit, hypercall, translation, world-switch, io-hop…). */
  readonly countsByKind: Readonly<Record<string, number>>;
  /** The guest's serial output (so equivalence can be seen). */
  readonly serialOutput: string;
}

export interface CompareResponseBody {
  readonly program: string;
  readonly costModel: string;
  readonly rows: readonly CompareRow[];
}

export interface TranslationCacheResponseBody {
  /** False when the session's technique is not binary translation (reason says why). */
  readonly available: boolean;
  readonly reason?: string;
  readonly cache?: TranslationCacheInfo;
}

export interface VmcsResponseBody {
  readonly available: boolean;
  readonly reason?: string;
  readonly vmcs?: VmcsInfo;
}

export interface LayersResponseBody {
  readonly technique: string;
  readonly architecture: string;
  /** 'type 1' or 'type 2' and a one-line description of the configuration. */
  readonly hypervisorType: string;
  readonly description: string;
  /** Every layer of this configuration, outermost (guest user) first, with its ring. */
  readonly layers: readonly { readonly layer: string; readonly title: string; readonly ring: number | null }[];
  /** The current stack of layers, top (running) first. */
  readonly activePath: readonly string[];
  /** The layers the most recent I/O request travelled through, in order. */
  readonly lastIoPath: readonly string[];
}
