// Transitions between privilege layers as first-class data: every trap, fault reflection, interrupt
// injection, hypercall, world switch, I/O hop, resume, VM exit/entry and translation is one `Transition`
// record (from/to layer, kind, a reason in the literature's vocabulary, the guest instruction, decoded
// details and its cost). A `TransitionLog` numbers and keeps them (bounded) for the trace and the debugger,
// and rewinds in place when the debugger travels back, so the log always ends at the machine's position.

import type { Layer } from './layers';

export const TRANSITION_KINDS = [
  'trap', // the CPU delivered an exception or software interrupt to a more privileged layer
  'fault-reflection', // the VMM forwards a guest fault to the guest kernel through the guest's virtual IDT
  'interrupt-injection', // the VMM delivers a virtual interrupt (or PV event upcall) to the guest kernel
  'hypercall', // a paravirtual guest calls the VMM (int 0x82) or VMCALL under hardware assist
  'world-switch', // hosted architecture: VMM world <-> host world (Sugerman et al. 2001)
  'io-hop', // one hop of an I/O request: VMM -> management OS / host driver -> user process -> device and back
  'resume', // a handler returns control to the layer it interrupted
  'vm-exit', // VMX non-root -> root (SDM Vol. 3C ch. 28)
  'vm-entry', // VMLAUNCH/VMRESUME: root -> non-root (SDM Vol. 3C ch. 27)
  'translation', // binary translation of a guest translation unit by the VMM
  'shadow-paging', // memory virtualization in the VMM: hidden fault filling the shadow, tracing fault on a guest PTE write, CR3 switch
] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

/** The guest instruction that caused a transition, as the debugger shows it. */
export interface GuestInstructionRef {
  /** Linear address (EIP plus CS base) of the instruction. */
  readonly address: number;
  /** Its encoding, one number per byte. */
  readonly bytes: readonly number[];
  /** NASM-syntax text, e.g. "cli" or "out dx, al". */
  readonly text: string;
}

/** Decoded details: flat, JSON-friendly key/value pairs (vector, error code, port, exit qualification…). */
export type TransitionDetails = Readonly<Record<string, string | number | boolean>>;

/** One transition as recorded (the log assigns `seq`). */
export interface Transition {
  /** Position in the run, from 0, assigned by the log. */
  readonly seq: number;
  /** Virtual time (cycles since reset) when the transition started. */
  readonly cycle: number;
  readonly from: Layer;
  readonly to: Layer;
  readonly kind: TransitionKind;
  /** The literature's vocabulary: "#GP: cli at CPL1", "hypercall 18 console_io", "world switch VMM→host". */
  readonly reason: string;
  readonly instruction?: GuestInstructionRef;
  readonly details: TransitionDetails;
  /** Cycles charged for the transition itself (handler steps are charged separately, per step). */
  readonly cost: number;
}

/** A transition before the log numbered it. */
export type TransitionInput = Omit<Transition, 'seq'>;

/** Exception mnemonics by vector (SDM Vol. 3A Table 6-1, "Protected-Mode Exceptions and Interrupts"). */
export const EXCEPTION_MNEMONICS: readonly string[] = [
  '#DE', '#DB', 'NMI', '#BP', '#OF', '#BR', '#UD', '#NM', '#DF', 'coprocessor segment overrun', '#TS', '#NP',
  '#SS', '#GP', '#PF', 'vector 15 (reserved)', '#MF', '#AC', '#MC', '#XM', '#VE', '#CP',
];

/** "#GP", "#PF", or "vector 0x20" for interrupts and software vectors. */
export function vectorName(vector: number): string {
  const name = vector < EXCEPTION_MNEMONICS.length ? EXCEPTION_MNEMONICS[vector] : undefined;
  return name ?? `vector 0x${vector.toString(16)}`;
}

/** "#GP: cli at CPL1" — a fault caused by an instruction at a privilege level. */
export function faultReason(vector: number, instructionText: string, cpl: number): string {
  return `${vectorName(vector)}: ${instructionText} at CPL${cpl}`;
}

/** "int 0x80 (system call) at CPL3" — a software interrupt. */
export function softwareInterruptReason(vector: number, cpl: number, purpose?: string): string {
  const what = purpose === undefined ? '' : ` (${purpose})`;
  return `int 0x${vector.toString(16)}${what} at CPL${cpl}`;
}

/** "hypercall 18 console_io". */
export function hypercallReason(number: number, name: string): string {
  return `hypercall ${number} ${name}`;
}

/** Short layer names used in world-switch and hop reasons, as the literature writes them. */
const SHORT_LAYER_NAMES: Readonly<Record<Layer, string>> = {
  'guest-user': 'guest user',
  'guest-kernel': 'guest',
  vmm: 'VMM',
  'management-os': 'management OS',
  'host-os-kernel': 'host',
  'host-user-process': 'host process',
  device: 'device',
};

/** "world switch VMM→host". */
export function worldSwitchReason(from: Layer, to: Layer): string {
  return `world switch ${SHORT_LAYER_NAMES[from]}→${SHORT_LAYER_NAMES[to]}`;
}

/** "I/O hop VMM→management OS: out 0x3f8". */
export function ioHopReason(from: Layer, to: Layer, what: string): string {
  return `I/O hop ${SHORT_LAYER_NAMES[from]}→${SHORT_LAYER_NAMES[to]}: ${what}`;
}

/** "VM exit 30 (I/O instruction)". */
export function vmExitReason(basicReason: number, name: string): string {
  return `VM exit ${basicReason} (${name})`;
}

/** "reflect #PF to the guest IDT" / "inject vector 0x20 (virtual IRQ0)". */
export function reflectionReason(vector: number): string {
  return `reflect ${vectorName(vector)} through the guest's virtual IDT`;
}

export function injectionReason(vector: number, source: string): string {
  return `inject ${vectorName(vector)} (${source})`;
}

/** Serialised form of a log: the retained transitions plus how many were dropped from the front. */
export interface TransitionLogState {
  readonly capacity: number;
  readonly total: number;
  readonly transitions: readonly Transition[];
}

/**
 * Numbers transitions and keeps the most recent `capacity` of them (a ring: long runs cannot exhaust memory;
 * `total` still counts all). Listeners see every transition as it is recorded (the `--trace` CLI, the
 * debugger's trace view).
 */
export class TransitionLog {
  private readonly ring: (Transition | undefined)[];
  private nextSeq = 0;
  /** Lowest sequence number still held (a rewind can leave slots that newer, dropped records overwrote). */
  private firstHeld = 0;
  private readonly listeners: ((transition: Transition) => void)[] = [];
  private readonly rewindListeners: ((total: number) => void)[] = [];

  constructor(readonly capacity = 65536) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<Transition | undefined>(capacity);
  }

  /** Records a transition and returns it numbered. */
  record(input: TransitionInput): Transition {
    const transition: Transition = { seq: this.nextSeq, ...input };
    this.ring[this.nextSeq % this.capacity] = transition;
    this.nextSeq++;
    for (const listener of this.listeners) listener(transition);
    return transition;
  }

  onRecord(listener: (transition: Transition) => void): () => void {
    return subscribe(this.listeners, listener);
  }

  /**
   * Restores the log in place to the moment `total` transitions had been recorded (reverse debugging travels
   * back): later records are dropped, and the next record is numbered `total` again, so a deterministic replay
   * re-records the same transitions under the same numbers. Rewind listeners hear the new total.
   */
  rewind(total: number): void {
    if (!Number.isInteger(total) || total < 0 || total > this.nextSeq) throw new RangeError(`cannot rewind a log of ${this.nextSeq} transitions to ${total}`);
    if (total === this.nextSeq) return;
    this.firstHeld = Math.min(total, Math.max(this.firstHeld, this.nextSeq - this.capacity));
    for (let seq = total; seq < this.nextSeq && seq < total + this.capacity; seq++) this.ring[seq % this.capacity] = undefined;
    this.nextSeq = total;
    for (const listener of this.rewindListeners) listener(total);
  }

  onRewind(listener: (total: number) => void): () => void {
    return subscribe(this.rewindListeners, listener);
  }

  /** Transitions recorded so far, including those no longer retained. */
  get total(): number {
    return this.nextSeq;
  }

  /** Sequence number of the oldest retained transition (equal to `total` when none is retained). */
  get firstRetained(): number {
    return Math.max(this.firstHeld, this.nextSeq - this.capacity, 0);
  }

  /** The retained transitions, oldest first. */
  list(): Transition[] {
    const out: Transition[] = [];
    for (let seq = this.firstRetained; seq < this.nextSeq; seq++) out.push(this.ring[seq % this.capacity]!);
    return out;
  }

  /** The transition with this sequence number, if still retained. */
  get(seq: number): Transition | undefined {
    if (seq < this.firstRetained || seq >= this.nextSeq) return undefined;
    return this.ring[seq % this.capacity];
  }

  toJSON(): TransitionLogState {
    return { capacity: this.capacity, total: this.nextSeq, transitions: this.list() };
  }

  static fromJSON(state: TransitionLogState): TransitionLog {
    const log = new TransitionLog(state.capacity);
    log.nextSeq = state.total - state.transitions.length;
    log.firstHeld = log.nextSeq;
    for (const transition of state.transitions) {
      log.ring[log.nextSeq % log.capacity] = transition;
      log.nextSeq++;
    }
    return log;
  }
}

function subscribe<T>(listeners: T[], listener: T): () => void {
  listeners.push(listener);
  return () => {
    const index = listeners.indexOf(listener);
    if (index >= 0) listeners.splice(index, 1);
  };
}
