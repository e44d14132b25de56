// SPDX-License-Identifier: MIT
// The machine-level execution history behind reverse debugging: periodic checkpoints of the whole machine
// (CPU, devices, virtual time, serial counters) taken every `interval` retired instructions, with RAM kept
// as page-granular deltas, and deterministic replay (Machine.run with an exact instruction budget) to land
// on any recorded instruction count. Pure TypeScript, built only on the Machine's public API.
//
// RAM scheme: memory is split into 4 KiB pages; every page has a chain of versions ordered by checkpoint
// count. A checkpoint stores a page only when it differs from the page's latest version (or from all-zero
// bytes when the page has none yet), so the first checkpoint holds only the pages the loader wrote and
// later ones only what the guest changed. The latest version of every page is exactly RAM as of the latest
// checkpoint, so no shadow copy of RAM is needed. Evicting the oldest checkpoint drops the page versions
// superseded by the next one, so memory stays within the budget.
//
// Positions: the state "at instruction count K" is the machine right after its K-th retired instruction,
// before it delivers any interrupt or exception that follows (what Machine.run(exact budget) stops on).
import type { Machine, MachineState, MachineStop } from '../machine/machine';
import { trackPageWrites, type PageWriteSource } from './pageWrites';

export const PAGE_BYTES = 4096;
/** Default spacing of checkpoints (retired instructions): a reverse step replays at most this many. */
export const DEFAULT_CHECKPOINT_INTERVAL = 1_000_000;
/** A travel further than this past its checkpoint leaves another checkpoint this far before its target. */
export const NEAR_CHECKPOINT_DISTANCE = 1024;

export interface HistoryOptions {
  /** Memory budget for checkpoints in bytes; the oldest checkpoints are dropped beyond it. */
  readonly budgetBytes: number;
  /** Retired instructions between checkpoints. */
  readonly interval?: number;
  /** Where written pages come from (default: the CPU's write hook, else comparing every page). */
  readonly writes?: PageWriteSource;
}

/** One checkpoint: everything but RAM, plus the pages first stored here. */
interface Checkpoint {
  readonly count: number;
  readonly cpu: unknown;
  /** Device state as JSON: a deep copy that later device activity cannot alias. */
  readonly devices: string;
  readonly idleCycles: number;
  readonly serialBytes: number;
  readonly finalStop: MachineStop | null;
  /** Pages that have a version recorded at this checkpoint. */
  readonly pages: number[];
  /** Bytes this checkpoint costs beyond its pages (including what the embedder keeps beside it: chargeNewest). */
  overhead: number;
}

interface PageVersion {
  readonly count: number;
  readonly data: Uint8Array;
}

export type TravelResult = { readonly ok: true; readonly count: number } | { readonly ok: false; readonly error: string };

export interface HistoryStats {
  readonly checkpoints: number;
  readonly oldest: number;
  readonly newest: number;
  readonly pageVersions: number;
  /** Bytes held by checkpoints (page copies + CPU and device state). */
  readonly bytes: number;
  /** Bytes a full RAM copy per checkpoint would take, for comparison. */
  readonly fullCopyBytes: number;
}

export class ExecutionHistory {
  readonly interval: number;
  private budgetBytes: number;
  private readonly checkpoints: Checkpoint[] = [];
  private readonly versions: (PageVersion[] | undefined)[];
  private readonly pageCount: number;
  private readonly ramWords: Int32Array;
  private totalBytes = 0;
  private versionCount = 0;
  private readonly writes: PageWriteSource;

  constructor(private readonly machine: Machine, options: HistoryOptions) {
    this.budgetBytes = Math.max(0, options.budgetBytes);
    this.interval = Math.max(1, Math.floor(options.interval ?? DEFAULT_CHECKPOINT_INTERVAL));
    const ram = machine.memory.ram;
    this.pageCount = Math.ceil(ram.length / PAGE_BYTES);
    this.versions = new Array<PageVersion[] | undefined>(this.pageCount).fill(undefined);
    this.ramWords = new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2);
    this.writes = options.writes ?? trackPageWrites(machine);
  }

  /** Instruction count of the oldest checkpoint (the earliest reachable position), or undefined. */
  get oldest(): number | undefined {
    return this.checkpoints[0]?.count;
  }

  get newestCheckpoint(): number | undefined {
    return this.checkpoints[this.checkpoints.length - 1]?.count;
  }

  /**
   * Counts `bytes` the embedder keeps beside the newest checkpoint (a VMM engine's state) against the budget;
   * they are freed with the checkpoint.
   */
  chargeNewest(bytes: number): void {
    const newest = this.checkpoints[this.checkpoints.length - 1];
    if (newest === undefined || !(bytes > 0)) return;
    newest.overhead += bytes;
    this.totalBytes += bytes;
    this.evict();
  }

  /** Instruction count of checkpoint `index` (0 = oldest), or undefined. */
  checkpointAt(index: number): number | undefined {
    return this.checkpoints[index]?.count;
  }

  /** Instruction counts of all checkpoints, oldest first. */
  checkpointCounts(): number[] {
    return this.checkpoints.map((c) => c.count);
  }

  setBudget(bytes: number): void {
    this.budgetBytes = Math.max(0, bytes);
    this.evict();
  }

  stats(): HistoryStats {
    return {
      checkpoints: this.checkpoints.length,
      oldest: this.oldest ?? 0,
      newest: this.newestCheckpoint ?? 0,
      pageVersions: this.versionCount,
      bytes: this.totalBytes,
      fullCopyBytes: this.checkpoints.length * this.machine.memory.ram.length,
    };
  }

  /** Takes a checkpoint when `interval` instructions have retired since the last one. */
  maybeCheckpoint(): boolean {
    const last = this.newestCheckpoint;
    if (last !== undefined && this.machine.cpu.retired() - last < this.interval) return false;
    return this.checkpoint();
  }

  /**
   * Takes a checkpoint now. One at the same count as the newest is skipped, or replaces it with
   * `replace` (after a debugger edited registers or memory, the edited state is what this count means).
   */
  checkpoint(replace = false): boolean {
    const m = this.machine;
    const count = m.cpu.retired();
    const last = this.newestCheckpoint;
    let replaced: readonly number[] = [];
    if (replace && last === count) {
      replaced = [...this.checkpoints[this.checkpoints.length - 1]!.pages]; // to compare again below
      this.discardAfter(this.checkpoints.length - 2);
    } else if (last !== undefined && count <= last) return false;
    const pages: number[] = [];
    const ram = m.memory.ram;
    const written = this.writes.collect();
    const candidates = written === 'all' || this.checkpoints.length === 0 ? this.allPages() : new Set([...written, ...replaced]);
    for (const p of candidates) {
      const chain = this.versions[p];
      const previous = chain === undefined ? undefined : chain[chain.length - 1]!.data;
      if (this.pageEquals(p, previous)) continue;
      const start = p * PAGE_BYTES;
      const data = ram.slice(start, Math.min(start + PAGE_BYTES, ram.length));
      if (chain === undefined) this.versions[p] = [{ count, data }];
      else chain.push({ count, data });
      pages.push(p);
      this.totalBytes += data.byteLength;
      this.versionCount++;
    }
    const cpu = m.cpu.saveState();
    const devices = JSON.stringify(m.devices.saveState());
    const overhead = approximateBytes(cpu) + devices.length * 2 + pages.length * 8 + 64;
    this.totalBytes += overhead;
    this.checkpoints.push({
      count, cpu, devices,
      idleCycles: m.now() - count * m.recipe.cyclesPerInstruction,
      serialBytes: m.serialByteCount,
      finalStop: m.ended,
      pages, overhead,
    });
    this.evict();
    return true;
  }

  /**
   * Restores the nearest checkpoint at or before `target` and replays to exactly `target` retired
   * instructions. Checkpoints after the restored one are discarded (the future is re-recorded when the
   * guest runs forward again). `beforeReplay`/`afterReplay` let the embedder mute its hooks.
   */
  travelTo(target: number): TravelResult {
    const index = this.indexAtOrBefore(target);
    if (index < 0) {
      return { ok: false, error: `instruction ${target} is before the recorded history (oldest checkpoint: ${this.oldest ?? 'none'})` };
    }
    this.restore(index);
    // Leave a checkpoint just short of the destination on the way, so the next step back (the usual
    // follow-up) replays a few thousand instructions instead of up to a whole interval.
    const near = target - NEAR_CHECKPOINT_DISTANCE;
    if (near - this.checkpoints[index]!.count > NEAR_CHECKPOINT_DISTANCE) {
      const partial = this.replayTo(near);
      if (!partial.ok) return partial;
      this.checkpoint();
    }
    return this.replayTo(target);
  }

  /** Runs forward from the current position to exactly `target` retired instructions (no breakpoints). */
  replayTo(target: number): TravelResult {
    const m = this.machine;
    for (;;) {
      const left = target - m.cpu.retired();
      if (left <= 0) break;
      const stop = m.run(left, { debug: false });
      if (stop.reason !== 'budget' && m.cpu.retired() < target) {
        return { ok: false, error: `replay stopped at instruction ${m.cpu.retired()} before ${target}: ${stop.detail}` };
      }
    }
    const at = m.cpu.retired();
    return at === target ? { ok: true, count: at } : { ok: false, error: `replay overshot to instruction ${at} (wanted ${target})` };
  }

  /** Restores checkpoint `index` into the machine and discards every later checkpoint. */
  restore(index: number): void {
    const cp = this.checkpoints[index];
    if (cp === undefined) throw new RangeError(`no checkpoint ${index}`);
    // Pages that may differ from the checkpoint: those stored by later checkpoints and those written since
    // the newest one.
    const written = this.writes.collect();
    const stale = written === 'all' ? new Set(this.allPages()) : new Set(written);
    for (const later of this.checkpoints.slice(index + 1)) for (const p of later.pages) stale.add(p);
    this.discardAfter(index);
    const m = this.machine;
    const ram = m.memory.ram;
    for (const p of stale) {
      const chain = this.versions[p];
      const start = p * PAGE_BYTES;
      // After discardAfter, a page's latest version is its content as of this checkpoint.
      if (chain === undefined) ram.fill(0, start, Math.min(start + PAGE_BYTES, ram.length));
      else ram.set(chain[chain.length - 1]!.data, start);
    }
    const state: MachineState = {
      recipe: m.recipe,
      ram, // already in place: loadState copies it onto itself
      cpu: cp.cpu,
      devices: JSON.parse(cp.devices) as MachineState['devices'],
      idleCycles: cp.idleCycles,
      serialBytes: cp.serialBytes,
      finalStop: cp.finalStop,
    };
    m.loadState(state);
    this.writes.reset();
  }

  private allPages(): Uint32Array {
    const pages = new Uint32Array(this.pageCount);
    for (let p = 0; p < pages.length; p++) pages[p] = p;
    return pages;
  }

  /** Index of the last checkpoint with count ≤ target, or -1. */
  indexAtOrBefore(target: number): number {
    let lo = 0;
    let hi = this.checkpoints.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.checkpoints[mid]!.count <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  /** Drops every checkpoint after `index` with the page versions first stored there. */
  discardAfter(index: number): void {
    while (this.checkpoints.length - 1 > index) {
      const cp = this.checkpoints.pop()!;
      for (const p of cp.pages) {
        const chain = this.versions[p]!;
        const v = chain.pop()!;
        this.totalBytes -= v.data.byteLength;
        this.versionCount--;
        if (chain.length === 0) this.versions[p] = undefined;
      }
      this.totalBytes -= cp.overhead;
    }
  }

  /** Drops the oldest checkpoints while over budget (the newest one always stays). */
  private evict(): void {
    while (this.totalBytes > this.budgetBytes && this.checkpoints.length > 1) {
      const dropped = this.checkpoints.shift()!;
      const nextCount = this.checkpoints[0]!.count;
      this.totalBytes -= dropped.overhead;
      for (const p of dropped.pages) {
        const chain = this.versions[p]!;
        // The dropped version is still needed as the base unless the next checkpoint superseded it.
        if (chain.length > 1 && chain[1]!.count <= nextCount) {
          const v = chain.shift()!;
          this.totalBytes -= v.data.byteLength;
          this.versionCount--;
        } else {
          this.checkpoints[0]!.pages.push(p); // the base version now belongs to the oldest checkpoint
        }
      }
    }
  }

  /** Compares RAM page `p` with `previous` (or with zero bytes), a word at a time. */
  private pageEquals(p: number, previous: Uint8Array | undefined): boolean {
    const words = this.ramWords;
    const from = p * (PAGE_BYTES >>> 2);
    const to = Math.min(from + (PAGE_BYTES >>> 2), words.length);
    if (previous === undefined) {
      for (let i = from; i < to; i++) if (words[i] !== 0) return false;
      return true;
    }
    const old = new Int32Array(previous.buffer, previous.byteOffset, previous.byteLength >>> 2);
    for (let i = from, j = 0; i < to; i++, j++) if (words[i] !== old[j]) return false;
    return true;
  }
}

/** Bytes held by typed arrays inside a snapshot object (one level deep), plus a small constant. */
function approximateBytes(value: unknown): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (typeof value !== 'object' || value === null) return 8;
  let total = 32;
  for (const v of Object.values(value as Record<string, unknown>)) total += ArrayBuffer.isView(v) ? v.byteLength : 8;
  return total;
}
