// SPDX-License-Identifier: MIT
// The adapter side of the views' custom requests (viewProtocol.ts): VMM activity (transitions, histogram by
// reason, cycles per layer), compare (viewCompare.ts), translation cache, VMCS, layers diagram, and the
// `hyperstep.sessionInfo` event body. Reads the runtime's VMM engine (transition log, cost ledger, layer
// stack, optional inspection methods) and the program's source map; never touches DAP framing (the session
// merges these handlers into its table) and never uses Node APIs (the adapter runs in the web host too).
// Inspection lights up by capability: an engine that implements translationCache()/vmcsInfo() is served,
// any other gets available:false with the reason.
import type { CostLedger } from '../emulator/vmm/costLedger';
import type { ExecutionEngine } from '../emulator/vmm/engine';
import { LAYER_INFO, type Layer } from '../emulator/vmm/layers';
import type { Transition, TransitionLog } from '../emulator/vmm/transitions';
import { AdapterError, ErrorCode } from './errors';
import type { LaunchConfig } from './launchArgs';
import type { DebugRuntime } from './runtime';
import { compareTechniques } from './viewCompare';
import {
  ViewRequest, type ActivityEvent, type ActivityResponseBody, type LayersResponseBody, type SessionInfoEventBody,
  type TranslationCacheResponseBody, type VmcsResponseBody,
} from './viewProtocol';

type Handler = (args: Record<string, unknown>) => Promise<unknown>;

/** Default and ceiling of ActivityArguments.max. */
export const ACTIVITY_DEFAULT_MAX = 2000;
const ACTIVITY_CEILING = 65536;

/** What the views read from an engine: the contract plus the log, stack and (when it has one) the ledger. */
type ViewableEngine = ExecutionEngine & { readonly log: TransitionLog; readonly ledger?: CostLedger };

/** Transition kinds that are one hop of an I/O request (the path the layers diagram lights up). */
const IO_PATH_KINDS = new Set(['io-hop', 'world-switch']);

/** How many of the newest transitions the activity counts can take back when the log rewinds (4 bytes each). */
const REWINDABLE_TRANSITIONS = 1 << 22;

/**
 * Counts by reason over the whole run (the log keeps only its newest transitions) and the most recent I/O path,
 * always as of the machine's current position: when reverse debugging travels back, the log rewinds
 * (TransitionLog.rewind) and the counts of the dropped transitions are taken back, so the re-executed ones are
 * not counted twice. Attached to the engine's log at launch, so nothing recorded is missed.
 */
class ActivityTracker {
  private readonly rows: { reason: string; kind: string; count: number }[] = [];
  private readonly rowOf = new Map<string, number>();
  /** Row of each counted transition, by sequence number modulo the array's length (grown up to the bound). */
  private rowBySeq = new Uint32Array(1024);
  /** Transitions counted: the log's total. */
  private counted = 0;
  lastIoPath: Layer[] = [];
  private ioOpen = false;
  /** The layer that most recently entered the VMM (where an I/O request came from). */
  private enteredVmmFrom: Layer | undefined;

  constructor(private readonly log: TransitionLog) {
    this.counted = log.firstRetained;
    for (const t of log.list()) this.note(t);
    log.onRecord((t) => this.note(t));
    log.onRewind((total) => this.rewind(total));
  }

  /** Rows with a count, as the histogram shows them. */
  histogram(): { reason: string; kind: string; count: number }[] {
    return this.rows.filter((r) => r.count > 0).map((r) => ({ ...r }));
  }

  private note(t: Transition): void {
    const key = `${t.kind}\u0000${t.reason}`;
    let row = this.rowOf.get(key);
    if (row === undefined) {
      row = this.rows.length;
      this.rows.push({ reason: t.reason, kind: t.kind, count: 0 });
      this.rowOf.set(key, row);
    }
    this.rows[row]!.count++;
    this.remember(t.seq, row);
    this.counted = t.seq + 1;
    this.followIoPath(t);
  }

  private remember(seq: number, row: number): void {
    if (seq >= this.rowBySeq.length && this.rowBySeq.length < REWINDABLE_TRANSITIONS) {
      const grown = new Uint32Array(Math.min(REWINDABLE_TRANSITIONS, Math.max(this.rowBySeq.length * 2, seq + 1)));
      // Re-home the remembered window under the new modulus.
      for (let s = Math.max(0, this.counted - this.rowBySeq.length); s < this.counted; s++) grown[s % grown.length] = this.rowBySeq[s % this.rowBySeq.length]!;
      this.rowBySeq = grown;
    }
    this.rowBySeq[seq % this.rowBySeq.length] = row;
  }

  /** The log went back to `total` transitions: take back the counts of the dropped ones, redo the I/O path. */
  private rewind(total: number): void {
    const reach = Math.max(total, this.counted - this.rowBySeq.length);
    for (let seq = reach; seq < this.counted; seq++) this.rows[this.rowBySeq[seq % this.rowBySeq.length]!]!.count--;
    this.counted = total;
    this.lastIoPath = [];
    this.ioOpen = false;
    this.enteredVmmFrom = undefined;
    for (let seq = Math.max(this.log.firstRetained, total - 256); seq < total; seq++) {
      const t = this.log.get(seq);
      if (t !== undefined) this.followIoPath(t);
    }
  }

  private followIoPath(t: Transition): void {
    const inGuest = (layer: Layer): boolean => layer === 'guest-kernel' || layer === 'guest-user';
    if (this.ioOpen && !inGuest(t.from) && !inGuest(t.to)) {
      // Every hop between host-side layers continues the request until it is back in the VMM.
      this.lastIoPath.push(t.to);
      if (t.to === 'vmm') this.ioOpen = false;
    } else if (IO_PATH_KINDS.has(t.kind) && t.from === 'vmm') {
      this.lastIoPath = this.enteredVmmFrom === undefined ? ['vmm', t.to] : [this.enteredVmmFrom, 'vmm', t.to];
      this.ioOpen = true;
    } else if (t.to === 'vmm') {
      this.enteredVmmFrom = t.from;
    }
  }
}

/** The layers each configuration has, outermost (guest user) first. */
export function configurationLayers(technique: string, architecture: string): Layer[] {
  if (technique === 'native') return ['guest-user', 'guest-kernel', 'device'];
  if (architecture === 'microkernel') return ['guest-user', 'guest-kernel', 'vmm', 'management-os', 'device'];
  if (architecture === 'hosted') return ['guest-user', 'guest-kernel', 'vmm', 'host-os-kernel', 'host-user-process', 'device'];
  return ['guest-user', 'guest-kernel', 'vmm', 'device'];
}

/** Type and one-line description of a configuration (virtualization.md §9 vocabulary). */
export function describeConfiguration(technique: string, architecture: string): { hypervisorType: string; description: string } {
  if (technique === 'native') return { hypervisorType: 'none', description: 'Bare metal: the guest kernel runs in ring 0 and drives the devices itself; no VMM.' };
  switch (architecture) {
    case 'hosted':
      return { hypervisorType: 'type 2', description: `Hosted (VMware Workstation style), ${technique}: the VMM world-switches to a host OS whose driver hands each I/O request to a user-level VM process.` };
    case 'microkernel':
      return { hypervisorType: 'type 1', description: `Microkernel type 1 (Xen dom0 / Hyper-V root style), ${technique}: the VMM forwards I/O requests to device back-ends in a management OS.` };
    default:
      return { hypervisorType: 'type 1', description: `Monolithic type 1 (ESXi / KVM style), ${technique}: the VMM contains the device models and drivers.` };
  }
}

/** Guest ring of a layer under a technique (LAYER_INFO leaves the guest kernel's ring to the technique). */
function ringOf(layer: Layer, technique: string): number | null {
  if (layer !== 'guest-kernel') return LAYER_INFO[layer].ring;
  return technique === 'trap-and-emulate' || technique === 'paravirtual' || technique === 'binary-translation' ? 1 : 0;
}

export class ViewRequests {
  private tracker: ActivityTracker | undefined;

  constructor(
    private readonly runtime: DebugRuntime,
    private readonly launchConfig: () => LaunchConfig | undefined,
  ) {}

  private get engine(): ViewableEngine | undefined {
    const engine = this.runtime.vmmEngine as ViewableEngine | undefined;
    if (engine !== undefined && this.tracker === undefined) this.tracker = new ActivityTracker(engine.log);
    return engine;
  }

  private requireLaunched(): LaunchConfig {
    const config = this.launchConfig();
    if (config === undefined || !this.runtime.isLaunched) throw new AdapterError(ErrorCode.WrongState, 'no guest is running: launch first');
    return config;
  }

  /** The body of the `hyperstep.sessionInfo` event (after launch and at every stop). */
  sessionInfo(): SessionInfoEventBody {
    const config = this.launchConfig();
    const engine = this.engine;
    return {
      technique: config?.technique ?? this.runtime.technique,
      architecture: config?.architecture ?? 'monolithic',
      costModel: config?.costPreset ?? 'p4-2006',
      reverse: /^Paused \(reverse\)/.test(this.runtime.lastStopInfo?.description ?? ''),
      lastTransitionSeq: engine === undefined ? -1 : engine.log.total - 1,
    };
  }

  /** The custom requests, keyed by command, for the session's handler table. */
  handlers(): Record<string, Handler> {
    return {
      [ViewRequest.activity]: async (args) => this.activity(args),
      [ViewRequest.compare]: async (args) => {
        const config = this.requireLaunched();
        const program = this.runtime.program;
        if (program === undefined) throw new AdapterError(ErrorCode.WrongState, 'no program is loaded');
        return compareTechniques(program.image, config, args);
      },
      [ViewRequest.translationCache]: async () => this.translationCache(),
      [ViewRequest.vmcs]: async () => this.vmcs(),
      [ViewRequest.layers]: async () => this.layers(),
    };
  }

  activity(args: Record<string, unknown>): ActivityResponseBody {
    const config = this.requireLaunched();
    const since = optionalInteger(args, 'sinceSeq') ?? -1;
    const max = Math.min(optionalInteger(args, 'max') ?? ACTIVITY_DEFAULT_MAX, ACTIVITY_CEILING);
    if (max < 0) throw new AdapterError(ErrorCode.BadArguments, "'max' must not be negative");
    const engine = this.engine;
    const base = { technique: config.technique, architecture: config.architecture, guestInstructions: this.runtime.retired() };
    if (engine === undefined) return { ...base, events: [], histogram: [], cyclesPerLayer: [], totalCycles: 0 };
    const log = engine.log;
    const first = Math.max(since + 1, log.total - max, log.total - log.capacity, 0);
    const events: ActivityEvent[] = [];
    for (let seq = first; seq < log.total; seq++) {
      const t = log.get(seq);
      if (t !== undefined) events.push(this.toEvent(t));
    }
    const histogram = (this.tracker?.histogram() ?? []).sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1));
    const ledger = engine.ledger;
    const memory = engine.memoryStats?.();
    return {
      ...base,
      events,
      histogram,
      cyclesPerLayer: ledger === undefined ? [] : ledger.byLayer().filter((l) => l.cycles > 0).map((l) => ({ layer: l.layer, cycles: l.cycles })),
      totalCycles: ledger?.total ?? 0,
      ...(memory !== undefined ? { memory } : {}),
    };
  }

  private toEvent(t: Transition): ActivityEvent {
    const site = t.instruction === undefined ? undefined : this.runtime.program?.siteAt(t.instruction.address);
    return {
      seq: t.seq, cycle: t.cycle, from: t.from, to: t.to, kind: t.kind, reason: t.reason, cycles: t.cost,
      ...(t.instruction !== undefined ? { address: t.instruction.address, instruction: t.instruction.text } : {}),
      ...(site !== undefined ? { location: { path: site.file, line: site.line } } : {}),
    };
  }

  translationCache(): TranslationCacheResponseBody {
    const config = this.requireLaunched();
    const engine = this.engine;
    if (engine?.translationCache === undefined) {
      return { available: false, reason: `the ${config.technique} technique has no translation cache (binary translation keeps one)` };
    }
    return { available: true, cache: engine.translationCache() };
  }

  vmcs(): VmcsResponseBody {
    const config = this.requireLaunched();
    const engine = this.engine;
    if (engine?.vmcsInfo === undefined) {
      return { available: false, reason: `the ${config.technique} technique has no VMCS (hardware-assisted virtualization keeps one)` };
    }
    const vmcs = engine.vmcsInfo();
    return vmcs === undefined ? { available: false, reason: 'no VMCS is current yet (before VMPTRLD / the first VM entry)' } : { available: true, vmcs };
  }

  layers(): LayersResponseBody {
    const config = this.requireLaunched();
    const { technique, architecture } = config;
    const layers = configurationLayers(technique, architecture).map((layer) => ({ layer, title: LAYER_INFO[layer].title, ring: ringOf(layer, technique) }));
    const engine = this.engine;
    const activePath = engine === undefined ? ['guest-kernel'] : this.runtime.layerFrames()?.slice().reverse().map((f) => f.layer) ?? [];
    return { technique, architecture, ...describeConfiguration(technique, architecture), layers, activePath, lastIoPath: [...(this.tracker?.lastIoPath ?? [])] };
  }
}

function optionalInteger(args: Record<string, unknown>, key: string): number | undefined {
  const value = args[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AdapterError(ErrorCode.BadArguments, `'${key}' must be an integer`);
  return value;
}
