// The paravirtual VMM's own event state — everything about event channels, callbacks and the timer that
// lives outside guest memory (the pending/mask bits themselves are in the shared-info page, ./sharedInfo.ts,
// and the trap table's gates in the VMM region, so RAM checkpoints already cover them). Kept as one plain
// record so ExecutionEngine.saveState/loadState carry all of it: a replay from a checkpoint must hand out
// the same ports (EVTCHNOP_bind_virq numbers them in order), fire the one-shot timer at the same deadline,
// upcall into the same callback and see the same blocked/fast-trap configuration as the recorded run.
// Xen keeps the same things per domain/vCPU (evtchn bindings, timer, callbacks, trap table).

/** Everything a replay needs of the PV engine's event machinery, as plain JSON. */
export interface PvEventState {
  /** Guest-physical address of the shared-info page; -1 until set_callbacks registers it. */
  sharedInfoAddress: number;
  /** set_callbacks: the event upcall entry (ring-1 linear address), 0 before registration. */
  eventCallback: number;
  /** set_callbacks: where a bad iret frame goes (0: none, the domain is stopped). */
  failsafeCallback: number;
  /** set_timer_op: absolute deadline in ns of system time, 0 when disarmed. */
  timerDeadlineNs: number;
  /** The port bound to VIRQ_TIMER, -1 when none. */
  timerPort: number;
  /** The port bound to VIRQ_CONSOLE, -1 when none. */
  consolePort: number;
  /** The next port EVTCHNOP_bind_virq hands out. */
  nextPort: number;
  /** In sched_op(block): the VMM keeps the CPU until an event is pending. */
  blocked: boolean;
  /** What raised the last event (named in the upcall's transition). */
  lastEvent: string;
  /** Why the last hypercall failed, for its resume transition (empty when it did not). */
  hypercallProblem: string;
  /** Vectors of the trap table's fast system-call gates (delivered by the CPU straight to ring 1). */
  fastVectors: number[];
  /** Console polls are due at every multiple of the poll interval (retired instructions): the last one done. */
  consolePollBlock: number;
}

export function initialEventState(): PvEventState {
  return {
    sharedInfoAddress: -1, eventCallback: 0, failsafeCallback: 0, timerDeadlineNs: 0, timerPort: -1, consolePort: -1,
    nextPort: 1, blocked: false, lastEvent: 'event', hypercallProblem: '', fastVectors: [], consolePollBlock: 0,
  };
}

/** A copy that later engine activity cannot alias (the fast-vector list is the only nested value). */
export function copyEventState(state: PvEventState): PvEventState {
  return { ...state, fastVectors: [...state.fastVectors] };
}

/** Reads a saved event state back, field by field with the defaults for anything missing (older snapshots). */
export function parseEventState(value: unknown): PvEventState {
  const fresh = initialEventState();
  if (typeof value !== 'object' || value === null) return fresh;
  const saved = value as Partial<Record<keyof PvEventState, unknown>>;
  const num = (key: keyof PvEventState, fallback: number): number => (typeof saved[key] === 'number' && Number.isFinite(saved[key]) ? (saved[key] as number) : fallback);
  const str = (key: keyof PvEventState, fallback: string): string => (typeof saved[key] === 'string' ? (saved[key] as string) : fallback);
  return {
    sharedInfoAddress: num('sharedInfoAddress', fresh.sharedInfoAddress),
    eventCallback: num('eventCallback', fresh.eventCallback),
    failsafeCallback: num('failsafeCallback', fresh.failsafeCallback),
    timerDeadlineNs: num('timerDeadlineNs', fresh.timerDeadlineNs),
    timerPort: num('timerPort', fresh.timerPort),
    consolePort: num('consolePort', fresh.consolePort),
    nextPort: num('nextPort', fresh.nextPort),
    blocked: saved.blocked === true,
    lastEvent: str('lastEvent', fresh.lastEvent),
    hypercallProblem: str('hypercallProblem', fresh.hypercallProblem),
    fastVectors: Array.isArray(saved.fastVectors) ? saved.fastVectors.filter((v): v is number => typeof v === 'number') : [],
    consolePollBlock: num('consolePollBlock', fresh.consolePollBlock),
  };
}
