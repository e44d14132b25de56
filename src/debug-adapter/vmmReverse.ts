// SPDX-License-Identifier: MIT
// Reverse debugging under a VMM engine (trap-and-emulate, paravirtual, hardware assist). The machine's checkpoints (ExecutionHistory:
// CPU, devices, RAM as page deltas) are taken with the engine's own state beside them (virtual CPU, layer
// stack: ExecutionEngine.saveState), only between engine runs, never inside a handler. Under a VMM, a guest
// instruction the VMM emulates does not retire on the CPU, so a position is the pair (retired instructions,
// transitions recorded) and the replay grid is the engine's one-instruction run: engine.run(1) executes one
// guest instruction, directly or by trapping and running the VMM handler to completion, exactly as the
// full-speed run does. Travelling restores the checkpoint at or before the target, loads the engine state
// and replays run(1) steps to the target; stepping back replays the window before "now" to learn the grid,
// then travels to the previous grid point (before the trap, when stopped inside a VMM handler). To keep a
// step back around a millisecond, the window learnt is kept for the next search, and long stretches are
// crossed at full speed (engine.run meets the grid's states) with a checkpoint left just before the end.
import type { ExecutionHistory } from '../emulator/debug/history';
import { trackPageWrites, type PageWriteSource } from '../emulator/debug/pageWrites';
import type { Machine } from '../emulator/machine/machine';
import type { EngineState, ExecutionEngine } from '../emulator/vmm/engine';
import type { TransitionLog } from '../emulator/vmm/transitions';
import { RuntimeStateError, type DebugRuntime } from './runtime';

/** Retired instructions between VMM checkpoints (a step back replays at most about this many, twice). */
export const VMM_CHECKPOINT_INTERVAL = 10_000;
/**
 * Where a VMM history learns which RAM pages changed: the pages the CPU's write hook saw (pageWrites.ts: guest
 * stores and the VMM's stores through the MMU) plus every page of the VMM-owned region at the top of RAM,
 * compared at each checkpoint. The VMM also writes its region directly (the lazy EPT's entries, translation
 * cache fragments, the accessed bits of its own descriptors), and a page changed there that a restore did
 * not roll back makes the replay diverge (a translation found already made, an EPT violation that no longer
 * happens). The region's start is set once the engine is attached; until then (and for an engine without
 * one) every page is compared.
 */
export class VmmPageWrites implements PageWriteSource {
  private regionStart = 0;
  private readonly guestWrites: PageWriteSource;

  constructor(private readonly machine: Machine) {
    this.guestWrites = trackPageWrites(machine);
  }

  /** The VMM region starts at this physical address (its pages are compared at every checkpoint). */
  setRegion(engine: ExecutionEngine): void {
    const base = (engine as { readonly vmmBase?: unknown }).vmmBase;
    this.regionStart = typeof base === 'number' && base > 0 && base < this.machine.memory.ram.length ? base : 0;
  }

  collect(): Iterable<number> | 'all' {
    const written = this.guestWrites.collect();
    if (written === 'all' || this.regionStart === 0) return 'all';
    const pages = new Set(written);
    const last = Math.ceil(this.machine.memory.ram.length / 4096);
    for (let p = Math.floor(this.regionStart / 4096); p < last; p++) pages.add(p);
    return pages;
  }

  reset(): void {
    this.guestWrites.reset();
  }
}
/**
 * The engine's state as an independent copy: saveState() may hand out live objects (the shadow tracker's
 * counters, for one) that the run goes on mutating, which would make a later restore load the future.
 */
export function copyEngineState(engine: ExecutionEngine): EngineState {
  return structuredClone(engine.saveState());
}

/** Windows searched backwards for a previous line or a breakpoint before giving up at the history start. */
const MAX_WINDOWS = 64;
/** A scan or travel replaying further than this leaves a checkpoint this far (retired instructions) before its end. */
export const NEAR_CHECKPOINT_GRID = 256;

/** A position on the replay grid: retired instructions, then transitions recorded (lexicographic). */
export interface VmmPosition {
  readonly retired: number;
  readonly transitions: number;
}

function before(a: VmmPosition, b: VmmPosition): boolean {
  return a.retired < b.retired || (a.retired === b.retired && a.transitions < b.transitions);
}

export class VmmHistory {
  /** Engine state and transition count beside each machine checkpoint, by retired count. */
  private readonly engineStates = new Map<number, { readonly engine: EngineState; readonly transitions: number }>();
  /** The oldest checkpoint count when engine states were last pruned (see saveEngineState). */
  private oldestKept = 0;
  /** Transitions recorded since boot, restored on travel (the engine's log itself keeps growing). */
  private transitionCount = 0;
  /** True while a travel or scan replays recorded ground (the `trace` output stays quiet then). */
  replaying = false;
  /**
   * Retired counts of checkpoints holding a debugger edit. A search treats one as the start of history: the
   * grid before it belongs to the run before the edit, and scanning it would restore an older checkpoint and
   * drop the edit (stepping back past an edit undoes it, as documented; reaching it keeps it).
   */
  private readonly editedAt = new Set<number>();
  /** The grid window learnt by the last search (from checkpoint `base` up to `end`), reused by the next one. */
  private gridCache: { readonly base: VmmPosition; readonly end: VmmPosition; readonly positions: VmmPosition[]; readonly pcs: number[] } | undefined;

  constructor(
    private readonly runtime: DebugRuntime,
    private readonly history: ExecutionHistory,
    private readonly engine: ExecutionEngine & { readonly log: Pick<TransitionLog, 'onRecord' | 'total' | 'rewind'> },
  ) {
    engine.log.onRecord(() => {
      this.transitionCount++;
    });
  }

  position(): VmmPosition {
    return { retired: this.runtime.retired(), transitions: this.transitionCount };
  }

  /** Takes a checkpoint with the engine state (never inside a VMM handler). */
  checkpoint(force = false): void {
    if (force) this.gridCache = undefined; // an edit: the grid after this point may differ from the one learnt
    if (this.engine.activeHandler() !== undefined) return;
    const taken = force ? this.history.checkpoint(true) : this.history.maybeCheckpoint();
    if (taken) this.saveEngineState();
    if (taken && force) this.editedAt.add(this.runtime.retired());
  }

  /** A checkpoint here, now, on the replay grid (a near checkpoint left by a scan or a travel). */
  private checkpointHere(): boolean {
    if (this.engine.activeHandler() !== undefined || !this.history.checkpoint()) return false;
    this.saveEngineState();
    return true;
  }

  private saveEngineState(): void {
    const engine = copyEngineState(this.engine);
    this.engineStates.set(this.runtime.retired(), { engine, transitions: this.transitionCount });
    this.history.chargeNewest(2 * JSON.stringify(engine).length); // the copy's size, roughly (UTF-16 JSON)
    // Checkpoints the budget evicted take their engine states with them.
    const oldest = this.history.oldest ?? 0;
    if (oldest !== this.oldestKept) {
      for (const count of this.engineStates.keys()) if (count < oldest) this.engineStates.delete(count);
      this.oldestKept = oldest;
    }
  }

  get oldest(): VmmPosition | undefined {
    const count = this.history.oldest;
    const saved = count === undefined ? undefined : this.engineStates.get(count);
    return count === undefined || saved === undefined ? undefined : { retired: count, transitions: saved.transitions };
  }

  /** Position of checkpoint `index`. */
  private checkpointPosition(index: number): VmmPosition | undefined {
    const count = this.history.checkpointAt(index);
    const saved = count === undefined ? undefined : this.engineStates.get(count);
    return count === undefined || saved === undefined ? undefined : { retired: count, transitions: saved.transitions };
  }

  /** Index of the last checkpoint at or before `target` on the grid (several grid positions share a retired count). */
  private indexAtOrBefore(target: VmmPosition): number {
    let index = this.history.indexAtOrBefore(target.retired);
    while (index >= 0) {
      const at = this.checkpointPosition(index);
      if (at === undefined || !before(target, at)) break;
      index--;
    }
    return index;
  }

  /** Restores checkpoint `index` (machine and engine); a handler in progress is finished first and dropped. */
  private restore(index: number): VmmPosition {
    const count = this.history.checkpointAt(index)!;
    const saved = this.engineStates.get(count);
    if (saved === undefined) throw new RuntimeStateError(`no VMM state was recorded with the checkpoint at instruction ${count}`);
    if (this.engine.activeHandler() !== undefined) this.engine.run(0); // leaves no handler behind to resume
    this.history.restore(index);
    // Engine states of the discarded later checkpoints go with them.
    for (const later of this.engineStates.keys()) if (later > count) this.engineStates.delete(later);
    for (const later of this.editedAt) if (later > count) this.editedAt.delete(later);
    this.engine.loadState(saved.engine);
    // The log ends where the machine is again (the activity counts and transition numbers follow it).
    this.engine.log.rewind(this.engine.log.total - (this.transitionCount - saved.transitions));
    this.transitionCount = saved.transitions;
    this.runtime.tracker.reset();
    return { retired: count, transitions: saved.transitions };
  }

  /** One grid step: a guest instruction, run directly or trapped and handled completely by the VMM. */
  private gridStep(): void {
    const core = this.runtime.regs.core;
    const magic = core.magicBreakpointsEnabled;
    core.magicBreakpointsEnabled = false;
    try {
      this.engine.run(1);
    } finally {
      core.magicBreakpointsEnabled = magic;
    }
  }

  /**
   * The grid from checkpoint `index` up to (not including) `end`: positions and the address about to run, and
   * the index of the checkpoint they start at. With `skipAhead`, a long window is first crossed at full speed
   * (fastForward) to about NEAR_CHECKPOINT_GRID instructions before `end`, a checkpoint is left there and only
   * the rest is learnt step by step: the window then starts at that new checkpoint.
   */
  private scan(index: number, end: VmmPosition, skipAhead: boolean): { positions: VmmPosition[]; pcs: number[]; baseIndex: number } {
    this.replaying = true;
    try {
      return this.scanWindow(index, end, skipAhead);
    } finally {
      this.replaying = false;
    }
  }

  private scanWindow(index: number, end: VmmPosition, skipAhead: boolean): { positions: VmmPosition[]; pcs: number[]; baseIndex: number } {
    this.restore(index);
    let baseIndex = index;
    if (skipAhead && this.fastForward(end)) baseIndex = this.history.indexAtOrBefore(this.runtime.retired());
    const positions: VmmPosition[] = [];
    const pcs: number[] = [];
    for (let guard = 0; guard < 50 * VMM_CHECKPOINT_INTERVAL; guard++) {
      const at = this.position();
      if (!before(at, end)) break;
      positions.push(at);
      pcs.push(this.runtime.pc());
      this.gridStep();
    }
    return { positions, pcs, baseIndex };
  }

  /**
   * From a restored checkpoint, runs at full speed (engine.run, as the recorded run went) to about
   * NEAR_CHECKPOINT_GRID instructions before `target` and leaves a checkpoint there; false when the target is
   * too close to bother. Exact because a run in slices and the one-instruction grid meet the same states
   * (test/unit/reverse/engineReplay.test.ts), and an engine run returns only between whole grid steps.
   */
  private fastForward(target: VmmPosition): boolean {
    const goal = target.retired - NEAR_CHECKPOINT_GRID;
    const start = this.runtime.retired();
    if (goal - start < NEAR_CHECKPOINT_GRID) return false;
    const core = this.runtime.regs.core;
    const magic = core.magicBreakpointsEnabled;
    core.magicBreakpointsEnabled = false;
    try {
      for (let guard = 0; guard < 4 * VMM_CHECKPOINT_INTERVAL; guard++) {
        const left = goal - this.runtime.retired();
        if (left <= 0 || this.engine.run(left).kind !== 'budget') break;
      }
    } finally {
      core.magicBreakpointsEnabled = magic;
    }
    if (!before(this.position(), target)) throw new RuntimeStateError(`replay under the VMM passed instruction ${target.retired}/${target.transitions} at full speed`);
    if (this.checkpointHere()) return true;
    if (this.runtime.retired() !== start) throw new RuntimeStateError(`no checkpoint could be left at instruction ${this.runtime.retired()} on the way to ${target.retired}`);
    return false;
  }

  /** Travels to a grid position (restore the checkpoint at or before it, replay grid steps). */
  travel(target: VmmPosition): void {
    this.replaying = true;
    try {
      this.travelTo(target);
    } finally {
      this.replaying = false;
    }
  }

  private travelTo(target: VmmPosition): void {
    const index = this.indexAtOrBefore(target);
    if (index < 0) throw new RuntimeStateError(`instruction ${target.retired} is before the recorded history`);
    this.restore(index);
    // Cross most of the way at full speed and leave a checkpoint shortly before the target: the next step
    // back (the usual follow-up) restores it and replays a few hundred instructions step by step.
    this.fastForward(target);
    for (let guard = 0; guard < 50 * VMM_CHECKPOINT_INTERVAL; guard++) {
      const at = this.position();
      if (at.retired === target.retired && at.transitions === target.transitions) return;
      if (!before(at, target)) throw new RuntimeStateError(`replay under the VMM passed instruction ${target.retired}/${target.transitions} (at ${at.retired}/${at.transitions})`);
      this.gridStep();
    }
    throw new RuntimeStateError('replay under the VMM did not reach its target');
  }

  /**
   * The grid before `now` as learnt by an earlier search, while still valid: its base checkpoint is still held
   * and `now` is not past the end it was learnt to (positions before a recorded position never change, unless
   * the user edits state, which drops the cache).
   */
  private cachedWindow(now: VmmPosition): { positions: VmmPosition[]; pcs: number[]; index: number } | undefined {
    const cache = this.gridCache;
    if (cache === undefined || before(cache.end, now)) return undefined;
    const index = this.history.indexAtOrBefore(cache.base.retired);
    const at = index < 0 ? undefined : this.checkpointPosition(index);
    if (at === undefined || at.retired !== cache.base.retired || at.transitions !== cache.base.transitions) return undefined;
    let count = cache.positions.length; // positions strictly before now
    while (count > 0 && !before(cache.positions[count - 1]!, now)) count--;
    return { positions: cache.positions.slice(0, count), pcs: cache.pcs.slice(0, count), index };
  }

  /** Checkpoint `index` is the oldest, or holds an edit (see editedAt). */
  private startsHistory(index: number): boolean {
    return index === 0 || this.editedAt.has(this.history.checkpointAt(index) ?? -1);
  }

  /**
   * Searches the grid backwards from `now`, one checkpoint window at a time, for the last position whose
   * index in its window `pick` chooses; returns it, or undefined at the start of the history. The window
   * holding `now` is kept (gridCache), so repeated step backs replay only their travel, not the window again.
   */
  searchBack(now: VmmPosition, pick: (positions: VmmPosition[], pcs: number[], atHistoryStart: boolean) => number | undefined): VmmPosition | undefined {
    let end = now;
    let positions: VmmPosition[] = [];
    let pcs: number[] = [];
    let index: number;
    const cached = this.cachedWindow(now);
    if (cached !== undefined) {
      positions = cached.positions;
      pcs = cached.pcs;
      const chosen = pick(positions, pcs, this.startsHistory(cached.index));
      if (chosen !== undefined) return positions[chosen];
      end = positions[0] ?? end;
      index = cached.index - 1;
    } else {
      index = this.indexAtOrBefore(now);
      if (index >= 0 && !before(this.checkpointPosition(index)!, now)) index--; // a checkpoint at now: nothing before it there
    }
    for (let windows = 0; index >= 0 && windows < MAX_WINDOWS; windows++) {
      const window = this.scan(index, end, windows === 0);
      if (windows === 0 && cached === undefined) this.gridCache = { base: this.checkpointPosition(window.baseIndex)!, end, positions: window.positions, pcs: window.pcs };
      positions = [...window.positions, ...positions];
      pcs = [...window.pcs, ...pcs];
      const chosen = pick(positions, pcs, this.startsHistory(window.baseIndex));
      if (chosen !== undefined) return positions[chosen];
      end = window.positions[0] ?? end;
      index = window.baseIndex - 1;
    }
    return undefined;
  }
}
