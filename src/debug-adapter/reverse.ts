// SPDX-License-Identifier: MIT
// Reverse debugging for the runtime: records the machine's execution history while the guest runs (see
// src/emulator/debug/history.ts) and turns stepBack and reverseContinue into jobs that travel back through
// it. Travelling restores a checkpoint and replays deterministically with the runtime's CPU hooks muted (no
// exception filters, no magic breakpoints, no call-stack feeding), so a replay passes exactly where the
// recorded run went. Serial output is shown once per byte index: bytes re-sent by a replay, or by running
// forward again over already recorded ground, are not printed twice (if an edit made the re-run print
// something else, the bytes up to the count already shown stay hidden). Going back discards the checkpoints
// after the destination; running forward again re-executes (deterministically, unless the user changed
// registers or memory) and records a fresh future.
import type { Cpu } from '../emulator/cpu/cpu';
import { ExecutionHistory } from '../emulator/debug/history';
import type { Machine } from '../emulator/machine/machine';
import type { ExecutionEngine } from '../emulator/vmm/engine';
import type { TransitionLog } from '../emulator/vmm/transitions';
import { RuntimeStateError, type DebugRuntime, type StopInfo, type StopReason } from './runtime';
import type { Job, JobResult, StepGranularity } from './stepping';
import { VMM_CHECKPOINT_INTERVAL, VmmHistory, VmmPageWrites, type VmmPosition } from './vmmReverse';

/** Retired instructions between checkpoints: a reverse step replays at most about this many. */
export const REVERSE_CHECKPOINT_INTERVAL = 100_000;
export const DEFAULT_HISTORY_MB = 64;
/** Why the other techniques are not recorded (measured with test/unit/reverse/engineReplay.test.ts). */
const REVERSE_REFUSALS: Readonly<Record<string, string>> = {
};
/** Techniques whose checkpoints (machine + ExecutionEngine.saveState) replay exactly. */
export const VMM_REVERSE_TECHNIQUES: ReadonlySet<string> = new Set(['trap-and-emulate', 'hardware-assisted', 'paravirtual', 'binary-translation']);
/** First window (instructions) searched backwards for the previous source line; it grows 8× per miss. */
const LINE_WINDOW = 64;

export class ReverseDebugger {
  private history: ExecutionHistory | undefined;
  private machine: Machine | undefined;
  private historyMB = DEFAULT_HISTORY_MB;
  /** Why there is no history although reverseHistoryMB > 0 (a technique whose VMM state is not checkpointed). */
  private unsupported: string | undefined;
  /** Native runs: instruction counts whose checkpoint holds a debugger edit (see editBarrier). */
  private readonly edits = new Set<number>();
  /** Serial bytes already shown (by index since boot). */
  private serialShown = 0;
  /** Under a VMM (VMM_REVERSE_TECHNIQUES): checkpoints carry the engine state and replays go through the engine. */
  private vmmMode = false;
  private vmm: VmmHistory | undefined;
  /** Pages changed under a VMM: the CPU's write hook plus the VMM-owned region. */
  private vmmWrites: VmmPageWrites | undefined;

  constructor(readonly runtime: DebugRuntime) {}

  /**
   * Reads the `reverseHistoryMB` launch attribute (validated by launchArgs; 0 turns recording off) and
   * the validated technique (its default is not native).
   */
  configure(launchArgs: Record<string, unknown>, technique: string): void {
    const mb = launchArgs['reverseHistoryMB'];
    this.historyMB = typeof mb === 'number' && Number.isFinite(mb) && mb >= 0 ? mb : DEFAULT_HISTORY_MB;
    // Trap-and-emulate, paravirtual and hardware assist keep their whole state in the machine plus
    // ExecutionEngine.saveState (virtual CPU, layer stack, shadow tables, event channels and timer, VMCS and EPT),
    // so they are recorded with the engine
    // (vmmReverse.ts; test/unit/reverse/engineReplay.test.ts checks the replay is exact). Binary translation
    // restores exactly too, but its retired count includes translation-cache glue whose amount depends on
    // how the code was driven (chained blocks at full speed, single steps, a breakpoint's re-translation), so
    // a replay does not meet the recorded run's (retired, transitions) positions.
    this.vmmMode = VMM_REVERSE_TECHNIQUES.has(technique);
    this.unsupported = technique !== 'native' && !this.vmmMode
      ? `reverse debugging does not record '${technique}' runs yet: ${REVERSE_REFUSALS[technique] ?? 'its VMM state is not checkpointed'}`
      : undefined;
  }

  /** Starts recording on a freshly booted machine (first checkpoint at its current instruction count). */
  attach(machine: Machine): void {
    this.machine = machine;
    this.serialShown = machine.serialByteCount;
    if (this.historyMB <= 0 || this.unsupported !== undefined) return;
    this.vmmWrites = this.vmmMode ? new VmmPageWrites(machine) : undefined;
    this.history = new ExecutionHistory(machine, { budgetBytes: this.historyMB * 1024 * 1024, interval: this.vmmMode ? VMM_CHECKPOINT_INTERVAL : REVERSE_CHECKPOINT_INTERVAL, ...(this.vmmWrites !== undefined ? { writes: this.vmmWrites } : {}) });
    if (!this.vmmMode) this.history.checkpoint(); // under a VMM: once the engine has attached
  }

  /** The VMM engine took the guest: the first checkpoint is of the deprivileged machine, with the engine's state. */
  engineAttached(engine: ExecutionEngine & { readonly log: TransitionLog }): void {
    if (!this.vmmMode || this.history === undefined) return;
    this.vmmWrites?.setRegion(engine);
    this.vmm = new VmmHistory(this.runtime, this.history, engine);
    this.vmm.checkpoint();
  }

  /** True while a VMM travel replays recorded ground (its transitions are not news). */
  get replaying(): boolean {
    return this.vmm?.replaying === true;
  }

  /** Guest instructions per run slice: smaller under a VMM, where checkpoints are taken only between slices. */
  get sliceInstructions(): number {
    return this.vmm !== undefined ? VMM_CHECKPOINT_INTERVAL : 100_000;
  }

  get recorder(): ExecutionHistory | undefined {
    return this.history;
  }

  /** Call from the machine's serial listener: true when this byte index has not been shown yet. */
  admitSerialByte(): boolean {
    const index = this.machine?.serialByteCount ?? 0; // already counts this byte
    if (index <= this.serialShown) return false;
    this.serialShown = index;
    return true;
  }

  /**
   * The debugger changed registers or memory while stopped: checkpoint the edited state at this count, so
   * travelling back to it (or past it from the future) keeps the edit; travelling to before it undoes it.
   */
  noteStateEdit(): void {
    if (this.vmm !== undefined) this.vmm.checkpoint(true);
    else if (this.history?.checkpoint(true) === true) this.edits.add(this.now());
  }

  /**
   * The newest debugger edit before `now` whose checkpoint is still held: a line search stops there (the
   * instructions before it belong to the run before the edit, and replaying them would drop the edit).
   */
  private editBarrier(history: ExecutionHistory, now: number): number | undefined {
    let barrier: number | undefined;
    for (const count of this.edits) {
      if (history.checkpointAt(history.indexAtOrBefore(count)) !== count) this.edits.delete(count);
      else if (count < now && (barrier === undefined || count > barrier)) barrier = count;
    }
    return barrier;
  }

  /** Called between run slices: takes a checkpoint when one is due. */
  record(): void {
    if (this.vmm !== undefined) this.vmm.checkpoint();
    else this.history?.maybeCheckpoint();
  }

  stepBack(granularity: StepGranularity): Job {
    const history = this.requireHistory();
    const vmm = this.vmm;
    if (vmm !== undefined) return { slice: () => this.vmmStepBack(vmm, granularity === 'line' && this.runtime.program?.hasSource === true) };
    // A breakpoint may stop after an interrupt or exception was delivered (on a handler's first
    // instruction); the first instruction step back then returns to before the delivery (same count).
    const reason = this.runtime.lastStopInfo?.reason;
    const afterDelivery = reason === 'breakpoint' || reason === 'function breakpoint' || reason === 'instruction breakpoint';
    return { slice: () => (granularity === 'line' && this.runtime.program?.hasSource === true ? this.stepBackLine(history) : this.stepBackInstruction(history, afterDelivery)) };
  }

  reverseContinue(): Job {
    const history = this.requireHistory();
    const vmm = this.vmm;
    if (vmm !== undefined) return { slice: () => this.vmmReverseContinue(vmm) };
    return new ReverseContinueJob(this, history);
  }

  // ---- under a VMM (vmmReverse.ts) -----------------------------------------------------------------

  private vmmAt(vmm: VmmHistory, target: VmmPosition | undefined, reason: StopReason, what: string): JobResult {
    const rt = this.runtime;
    if (target === undefined) {
      const oldest = vmm.oldest;
      if (oldest === undefined) throw new RuntimeStateError('no recorded history under the VMM yet');
      vmm.travel(oldest);
      return this.stop('entry', `reached the start of the recorded history (instruction ${oldest.retired}) at ${rt.describeAddress(rt.pc())}`);
    }
    vmm.travel(target);
    return this.stop(reason, `${what} at ${rt.describeAddress(rt.pc())} (instruction ${target.retired}, ${target.transitions} VMM transitions so far)`);
  }

  private vmmStepBack(vmm: VmmHistory, byLine: boolean): JobResult {
    const rt = this.runtime;
    const now = vmm.position();
    const inHandler = rt.activeHandler() !== undefined;
    if (!byLine) {
      // Outside a handler, grid points at this count and address (a translation made or a VM exit taken
      // before the instruction ran) are the same guest instruction boundary: step back past them.
      const here = rt.pc();
      const target = vmm.searchBack(now, (positions, pcs) => {
        let j = positions.length - 1;
        if (!inHandler) while (j >= 0 && positions[j]!.retired === now.retired && pcs[j] === here) j--;
        return j >= 0 ? firstOfBoundary(positions, pcs, j) : undefined;
      });
      return this.vmmAt(vmm, target, 'step', inHandler ? 'stepped back out of the VMM handler, to before the trapping instruction' : 'stepped back one guest instruction (a trapped one is undone with its VMM handler)');
    }
    const program = rt.program!;
    const lineKey = (pc: number): string | undefined => {
      const site = program.siteAt(pc);
      return site === undefined ? undefined : `${site.file}:${site.line}`;
    };
    const current = inHandler ? undefined : lineKey(rt.pc());
    const target = vmm.searchBack(now, (_positions, pcs, atStart) => {
      let j = pcs.length - 1;
      while (j >= 0 && (lineKey(pcs[j]!) === undefined || lineKey(pcs[j]!) === current)) j--;
      if (j < 0) return undefined;
      const line = lineKey(pcs[j]!);
      let i = j;
      while (i > 0 && lineKey(pcs[i - 1]!) === line) i--;
      return i > 0 || atStart ? i : undefined;
    });
    return this.vmmAt(vmm, target, 'step', 'stepped back to the previous line');
  }

  private vmmReverseContinue(vmm: VmmHistory): JobResult {
    const rt = this.runtime;
    const now = vmm.position();
    const here = rt.pc();
    const target = vmm.searchBack(now, (positions, pcs) => {
      for (let j = pcs.length - 1; j >= 0; j--) {
        if (positions[j]!.retired === now.retired && pcs[j] === here) continue; // where it started, not a previous hit
        if (rt.breakpoints.isBreakpointAddress(pcs[j]!)) return firstOfBoundary(positions, pcs, j);
      }
      return undefined;
    });
    return this.vmmAt(vmm, target, target === undefined ? 'entry' : 'breakpoint', 'breakpoint');
  }

  private requireHistory(): ExecutionHistory {
    if (this.machine === undefined) throw new RuntimeStateError('no guest is running: launch first');
    if (this.unsupported !== undefined) throw new RuntimeStateError(this.unsupported);
    if (this.history === undefined) throw new RuntimeStateError('reverse debugging is off for this session (reverseHistoryMB is 0)');
    return this.history;
  }

  // ---- travelling ----------------------------------------------------------------------------------

  /** Runs `work` with the runtime's CPU hooks muted, so a replay retraces the recorded run. */
  muted<T>(work: () => T): T {
    const core = this.runtime.regs.core as Cpu;
    const hook = core.eventHook;
    const magic = core.magicBreakpointsEnabled;
    core.eventHook = null;
    core.magicBreakpointsEnabled = false;
    try {
      return work();
    } finally {
      core.eventHook = hook;
      core.magicBreakpointsEnabled = magic;
    }
  }

  /** Travels to instruction `count` (throws if it is not recorded). */
  travel(history: ExecutionHistory, count: number): void {
    const result = this.muted(() => history.travelTo(count));
    if (!result.ok) throw new RuntimeStateError(result.error);
    this.runtime.tracker.reset(); // rebuilt from the stack when the stop is reported
  }

  now(): number {
    return this.runtime.retired();
  }

  stop(reason: StopReason, description: string): JobResult {
    const stop: StopInfo = { reason, description: `Paused (reverse): ${description}` };
    return { kind: 'stop', stop };
  }

  atHistoryStart(history: ExecutionHistory): JobResult {
    const oldest = history.oldest ?? 0;
    this.travel(history, oldest);
    const what = oldest === 0 ? 'the guest entry point' : 'the oldest recorded checkpoint (older history was dropped to stay within reverseHistoryMB)';
    return this.stop(oldest === 0 ? 'entry' : 'pause', `reached the start of the recorded history at instruction ${oldest}, ${what}, at ${this.runtime.describeAddress(this.runtime.pc())}`);
  }

  private stepBackInstruction(history: ExecutionHistory, mayBeAfterDelivery: boolean): JobResult {
    const rt = this.runtime;
    const now = this.now();
    const here = rt.pc();
    if (mayBeAfterDelivery && now >= (history.oldest ?? now)) {
      this.travel(history, now);
      if (rt.pc() !== here) return this.stop('step', `stepped back to before the interrupt/exception delivery, instruction ${now} at ${rt.describeAddress(rt.pc())}`);
    }
    if (now <= (history.oldest ?? now)) return this.atHistoryStart(history);
    this.travel(history, now - 1);
    return this.stop('step', `stepped back to instruction ${now - 1} at ${rt.describeAddress(rt.pc())}`);
  }

  /**
   * Back to where the previous source line began: the last instruction before now whose address maps to
   * another line than the current one, then back to the start of that line's run. Searches growing windows
   * before now, single-stepping forward through each to learn the addresses.
   */
  private stepBackLine(history: ExecutionHistory): JobResult {
    const rt = this.runtime;
    const now = this.now();
    const edit = this.editBarrier(history, now);
    const oldest = Math.max(history.oldest ?? now, edit ?? -1);
    if (now <= oldest) return this.atHistoryStart(history);
    const program = rt.program!;
    const lineKey = (pc: number): string | undefined => {
      const site = program.siteAt(pc);
      return site === undefined ? undefined : `${site.file}:${site.line}`;
    };
    const current = lineKey(rt.pc());
    for (let window = LINE_WINDOW; ; window *= 8) {
      const from = Math.max(oldest, now - window);
      const pcs = this.addressesBetween(history, from, now);
      let j = pcs.length - 1;
      while (j >= 0 && (lineKey(pcs[j]!) === undefined || lineKey(pcs[j]!) === current)) j--;
      if (j >= 0) {
        const target = lineKey(pcs[j]!);
        let i = j;
        while (i > 0 && lineKey(pcs[i - 1]!) === target) i--;
        if (i > 0 || from === oldest) {
          this.travel(history, from + i);
          const site = program.siteAt(rt.pc());
          return this.stop('step', `stepped back to line ${site?.line ?? '?'} (instruction ${from + i}) at ${rt.describeAddress(rt.pc())}`);
        }
      } else if (from === oldest) {
        if (edit === undefined) return this.atHistoryStart(history);
        this.travel(history, edit);
        return this.stop('step', `stepped back to the state edited in the debugger at instruction ${edit}, ${rt.describeAddress(rt.pc())}`);
      }
    }
  }

  /** Linear addresses of the instructions about to execute at counts from … to-1. */
  private addressesBetween(history: ExecutionHistory, from: number, to: number): Uint32Array {
    const rt = this.runtime;
    const pcs = new Uint32Array(to - from);
    this.travel(history, from);
    this.muted(() => {
      for (let k = 0; k < pcs.length; k++) {
        pcs[k] = rt.pc();
        const result = history.replayTo(from + k + 1);
        if (!result.ok) throw new RuntimeStateError(result.error);
      }
    });
    return pcs;
  }
}

/**
 * The first grid point of the instruction boundary at `j`: under a VMM, several grid points can share a
 * retired count and address (binary translation translating the block there, a VM exit handled before the
 * guest resumes); the window handed to pick always holds the whole boundary except at its very start.
 */
function firstOfBoundary(positions: readonly VmmPosition[], pcs: readonly number[], j: number): number {
  while (j > 0 && positions[j - 1]!.retired === positions[j]!.retired && pcs[j - 1] === pcs[j]) j--;
  return j;
}

interface Hit {
  readonly count: number;
  readonly pc: number;
}

/**
 * Reverse-continue: scans the recorded segments backwards, newest first, one per slice (so pause is
 * honoured). Each segment is replayed forward in the debug loop with the breakpoints set; the last hit
 * before now wins. Conditions, hit counts and logpoints are not evaluated in reverse: any execution
 * breakpoint address counts.
 */
class ReverseContinueJob implements Job {
  private readonly start: number;
  private readonly counts: number[];
  private segment: number;

  constructor(private readonly reverse: ReverseDebugger, private readonly history: ExecutionHistory) {
    this.start = reverse.now();
    this.counts = history.checkpointCounts();
    this.segment = history.indexAtOrBefore(this.start - 1);
  }

  slice(): JobResult | undefined {
    if (this.segment < 0) return this.reverse.atHistoryStart(this.history);
    const hit = this.scanSegment(this.segment);
    if (hit === undefined) {
      this.segment--;
      return undefined;
    }
    const rt = this.reverse.runtime;
    this.reverse.travel(this.history, hit.count);
    if (rt.pc() !== hit.pc) {
      // The hit came after an interrupt or exception was delivered at this count: deliver it again.
      this.reverse.muted(() => rt.machineInstance.run(1, { debug: true }));
      if (rt.pc() !== hit.pc || rt.retired() !== hit.count) this.reverse.travel(this.history, hit.count);
    }
    return this.reverse.stop('breakpoint', `breakpoint at ${rt.describeAddress(rt.pc())}, instruction ${hit.count} (${this.start - hit.count} instructions before where reverse-continue started)`);
  }

  /** Replays segment `index` (up to the next checkpoint or the start position); returns its last hit. */
  private scanSegment(index: number): Hit | undefined {
    const rt = this.reverse.runtime;
    const from = this.counts[index]!;
    const to = Math.min(this.counts[index + 1] ?? this.start, this.start);
    this.reverse.travel(this.history, from);
    let last: Hit | undefined;
    if (from < to && rt.breakpoints.isBreakpointAddress(rt.pc())) last = { count: from, pc: rt.pc() };
    const machine = rt.machineInstance;
    this.reverse.muted(() => {
      for (;;) {
        const left = to - machine.cpu.retired();
        if (left <= 0) break;
        const stop = machine.run(left, { debug: true });
        if (stop.reason === 'breakpoint') {
          if (machine.cpu.retired() < to && rt.breakpoints.isBreakpointAddress(rt.pc())) last = { count: machine.cpu.retired(), pc: rt.pc() };
          continue;
        }
        if (stop.reason === 'budget' || stop.reason === 'watchpoint') continue;
        break; // the recorded run ended here too
      }
    });
    return last;
  }
}
