// Shadow page tables (issue 6, memory virtualization for trap-and-emulate, binary translation and VT-x with
// EPT off). The guest's CR3 and page tables are virtual: the REAL CR3 points at a shadow page directory in
// VMM-owned pages that maps guest-linear straight to machine-physical addresses, built on demand:
//  - a HIDDEN fault (the shadow lacks an entry the guest's tables have) walks the guest tables, sets their
//    accessed/dirty flags as the CPU would (SDM Vol. 3A 4.8) and fills the shadow entry;
//  - a TRUE fault (the guest's own tables would fault) goes back to the guest with its CR2 and error code;
//  - guest page-directory and page-table pages are write-protected in every shadow, so a guest PTE write is
//    a TRACING fault: the VMM lets the write happen once and invalidates the shadow entries it changed.
// Dirty bits stay exact because a shadow entry is writable only once the guest entry is dirty. Shadow page
// tables are shared by every shadow directory whose guest PDE names the same guest table with the same
// permissions; a few address spaces are cached per guest CR3 (evicting the least recently used), and when the
// VMM runs out of pages every shadow is dropped and rebuilt on demand. The VMM region itself is mapped in every
// shadow at its own linear address, supervisor-only (the CPU reads the VMM's GDT/IDT/TSS through it; the guest
// cannot reach it because its segments end below it), and no guest mapping may point into it.
// Background: Adams & Agesen 2006 §2.4, KVM Documentation/virt/kvm/x86/mmu.rst (virtualization.md §7).

import type { MemoryVirtualizationStats } from '../inspection';
import { PteBit, walkGuestTables, type GuestPagingControls, type GuestWalk, type ShadowPhysicalMemory } from './shadowGuestWalk';
import { ShadowTracker, type ShadowCounters } from './shadowTracker';

/** Where shadow pages come from (the engine's VMM region allocator). */
export interface ShadowPageAllocator {
  allocatePage(): number | undefined;
  freePage(address: number): void;
  /** True for machine-physical addresses inside VMM-owned memory. */
  contains(physical: number): boolean;
  readonly base: number;
  readonly size: number;
}

/** What the shadow needs from the real CPU: TLB invalidation after it changes entries the CPU may cache. */
export interface ShadowRealTlb {
  invalidatePage(linear: number): void;
  flushAll(): void;
  /** The current shadow directory moved (all shadows were dropped for lack of VMM pages): load it into CR3. */
  rootChanged?(directory: number): void;
}

/** The classification of one #PF taken while the real CR3 points at a shadow. */
export type ShadowFault =
  | { readonly kind: 'hidden'; readonly walk: Extract<GuestWalk, { ok: true }> }
  | { readonly kind: 'tracing'; readonly walk: Extract<GuestWalk, { ok: true }>; readonly table: 'page directory' | 'page table' | 'page directory and page table' }
  | { readonly kind: 'true'; readonly errorCode: number; readonly why: string }
  | { readonly kind: 'vmm-memory'; readonly physical: number };

const CR0_PG = 0x80000000;
const CR0_WP = 0x10000;
const CR4_PSE = 0x10;

export interface ShadowPagingOptions {
  /** Shadow page directories kept per guest CR3 (default 4). */
  readonly cachedAddressSpaces?: number;
  /**
   * Linear address at which every shadow maps the VMM region (default: its physical base). The trap-and-emulate
   * engine moves it to the top of the linear space (vmmLinearWindow) so guests keep the addresses below.
   */
  readonly vmmLinearBase?: number;
  /**
   * Map the VMM region into every shadow (default true). Hardware assist with EPT off passes false: its VMM runs
   * in VMX root operation with its own address space, so the guest must see exactly its own mappings.
   */
  readonly vmmWindow?: boolean;
}

/** The top-of-linear-space window for a VMM region of `size` bytes (VMware's VMM sat in the top 4 MiB). */
export function vmmLinearWindow(size: number): number {
  return (0x100000000 - size) >>> 0;
}

export class ShadowPageTables {
  readonly tracker: ShadowTracker;
  private controls: GuestPagingControls = { cr3: 0, pse: false, wp: false };
  private pagingOn = false;
  /** The directory the real CR3 was last told to hold. */
  private lastRoot: number | undefined;
  /** Guest-frame view of memory: reads inside the VMM region fail (the guest's tables cannot live there). */
  private readonly guestMemory: ShadowPhysicalMemory;

  constructor(
    private readonly memory: ShadowPhysicalMemory,
    private readonly pages: ShadowPageAllocator,
    private readonly tlb: ShadowRealTlb,
    options: ShadowPagingOptions = {},
  ) {
    this.tracker = new ShadowTracker(memory, pages, options.cachedAddressSpaces ?? 4, options.vmmLinearBase, options.vmmWindow ?? true);
    this.tracker.attachTlb(tlb);
    this.guestMemory = {
      read32: (address) => (pages.contains(address) ? undefined : memory.read32(address)),
      write32: (address, value) => {
        if (!pages.contains(address)) memory.write32(address, value);
      },
    };
  }

  /** True while the guest runs with CR0.PG = 1 (the real CR3 then points at `realCr3`). */
  get active(): boolean {
    return this.pagingOn;
  }

  get counters(): ShadowCounters {
    return this.tracker.counters;
  }

  /** The shadow page directory the real CR3 must hold (undefined while guest paging is off). */
  get realCr3(): number | undefined {
    return this.pagingOn ? this.tracker.currentDirectory : undefined;
  }

  /** The guest's paging controls as the shadow last saw them. */
  get guestControls(): GuestPagingControls {
    return this.controls;
  }

  /**
   * The guest loaded CR0, CR3 or CR4 (virtual values). Returns true when the real CR3 changed (a shadow
   * switch). Turning paging or PSE on/off drops every shadow; a CR3 load switches to the cached shadow of
   * that guest directory or builds an empty one, and always flushes the real TLB as the CR3 load would.
   */
  setControls(cr0: number, cr3: number, cr4: number, cr3Loaded: boolean): boolean {
    const pagingOn = (cr0 & CR0_PG) !== 0;
    const pse = (cr4 & CR4_PSE) !== 0;
    const changedShape = pagingOn !== this.pagingOn || pse !== this.controls.pse;
    const newDirectory = (cr3 & ~0xfff) !== (this.controls.cr3 & ~0xfff);
    this.controls = { cr3: cr3 >>> 0, pse, wp: (cr0 & CR0_WP) !== 0 };
    this.pagingOn = pagingOn;
    if (changedShape) this.tracker.dropAll();
    if (!pagingOn) {
      this.tlb.flushAll();
      return false;
    }
    const before = this.tracker.currentDirectory;
    if (changedShape || newDirectory || cr3Loaded) {
      this.tracker.switchTo(cr3 & ~0xfff);
      if (cr3Loaded) this.tracker.counters.shadowCr3Switches++;
    }
    this.tlb.flushAll();
    this.lastRoot = this.tracker.currentDirectory;
    return this.tracker.currentDirectory !== before || changedShape;
  }

  /** After an operation that may have dropped every shadow: make the real CR3 follow the rebuilt directory. */
  private syncRoot(): void {
    const root = this.tracker.currentDirectory;
    if (!this.pagingOn || root === undefined || root === this.lastRoot) return;
    this.lastRoot = root;
    this.tlb.rootChanged?.(root);
    this.tlb.flushAll();
  }

  /**
   * Classifies a #PF the real CPU raised at `linear` (error code bits W and U describe the access) and, for a
   * hidden or tracing fault, walks the guest tables setting their accessed/dirty flags. Does not change the
   * shadow yet: `fill` (hidden) or `beginTracedWrite` (tracing) do. `setFlags` false: inspection only.
   */
  classify(linear: number, errorCode: number, setFlags = true): ShadowFault {
    const write = (errorCode & 2) !== 0;
    const user = (errorCode & 4) !== 0;
    const walk = walkGuestTables(this.guestMemory, this.controls, linear, write, user, setFlags);
    if (!walk.ok) return { kind: 'true', errorCode: walk.errorCode, why: walk.why };
    if (this.pages.contains(walk.physical)) return { kind: 'vmm-memory', physical: walk.physical };
    const role = this.tracker.roleOf(walk.physical >>> 12);
    if (write && role !== 0) {
      const table = role === 3 ? 'page directory and page table' : role === 1 ? 'page directory' : 'page table';
      return { kind: 'tracing', walk, table };
    }
    return { kind: 'hidden', walk };
  }

  /** Fills the shadow entry for a classified hidden (or tracing) fault. False when no VMM page is left. */
  fill(linear: number, walk: Extract<GuestWalk, { ok: true }>, write: boolean, user: boolean): boolean {
    const table = this.tracker.tableFor(linear, walk);
    this.syncRoot();
    if (table === undefined) return false;
    const frame = walk.physical & ~0xfff;
    const dirty = (walk.leaf & PteBit.D) !== 0;
    let writable = walk.writable && dirty;
    let userBit = walk.user;
    if (!walk.writable && !this.controls.wp && write && !user) {
      // CR0.WP = 0 lets the guest kernel write a read-only page: map it writable but supervisor-only, so a
      // later user access faults again and gets the read-only user mapping back (as KVM does).
      writable = dirty;
      userBit = false;
    }
    if (this.tracker.roleOf(frame >>> 12) !== 0) writable = false; // guest page tables stay write-protected
    const entry = frame | PteBit.P | (writable ? PteBit.RW : 0) | (userBit ? PteBit.US : 0);
    this.memory.write32(table + (((linear >>> 12) & 0x3ff) << 2), entry >>> 0);
    this.tlb.invalidatePage(linear);
    return true;
  }

  /** A guest walk for the VMM's own accesses to guest-linear memory (A/D set as the CPU would). */
  translate(linear: number, write: boolean): number | undefined {
    if (!this.pagingOn) return linear >>> 0;
    const walk = walkGuestTables(this.guestMemory, this.controls, linear, write, false, true);
    if (!walk.ok || this.pages.contains(walk.physical)) return undefined;
    return walk.physical;
  }

  /** `translate` for inspection and decoding: no accessed/dirty flags are set (read access, supervisor). */
  peek(linear: number): number | undefined {
    if (!this.pagingOn) return linear >>> 0;
    const walk = walkGuestTables(this.guestMemory, this.controls, linear, false, false, false);
    if (!walk.ok || this.pages.contains(walk.physical)) return undefined;
    return walk.physical;
  }

  /**
   * Tracing fault, first half: makes the shadow entry for `linear` writable so the guest instruction can be
   * executed once; remembers the guest table page's contents. `finishTracedWrite` re-protects and resyncs.
   */
  beginTracedWrite(linear: number, walk: Extract<GuestWalk, { ok: true }>): boolean {
    if (!this.fill(linear, walk, false, false)) return false;
    const table = this.tracker.tableFor(linear, walk)!;
    const entryAddress = table + (((linear >>> 12) & 0x3ff) << 2);
    const entry = this.memory.read32(entryAddress) ?? 0;
    if (!this.tracker.openWindow(entryAddress, entry, walk.physical >>> 12)) return false;
    this.memory.write32(entryAddress, (entry | PteBit.RW) >>> 0);
    this.tlb.invalidatePage(linear);
    return true;
  }

  /**
   * While a traced instruction runs, it faulted again: if that fault is a write to another guest table page
   * (a store straddling two tables), open a second window and return true so the instruction is retried.
   */
  extendTracedWrite(linear: number, errorCode: number): boolean {
    if (this.tracker.openWindows === 0) return false;
    const fault = this.classify(linear, errorCode, false);
    if (fault.kind !== 'tracing') return false;
    const walked = this.classify(linear, errorCode, true);
    if (walked.kind !== 'tracing' || !this.beginTracedWrite(linear, walked.walk)) return false;
    this.tracker.counters.tracingFaults++;
    return true;
  }

  /** Tracing fault, second half: write-protects the page again and invalidates the shadow entries derived from
   * the guest entries that changed. Returns how many guest entries changed. */
  finishTracedWrite(): number {
    const changed = this.tracker.closeWindow();
    this.tlb.flushAll();
    return changed;
  }

  /** The VMM itself wrote guest-physical memory (a reflected exception frame…): resync if it was a table. */
  guestPhysicalWritten(physical: number, write: () => void): void {
    this.tracker.resyncAround(physical >>> 12, write);
  }

  /** Guest INVLPG: drop the shadow entry for `linear` (refilled on the next access) and the real TLB entry. */
  invalidatePage(linear: number): void {
    this.tracker.counters.invlpg++;
    if (this.pagingOn) this.tracker.dropEntry(linear);
    this.tlb.invalidatePage(linear);
  }

  /** Drops every shadow (out of VMM pages, snapshot restore); the current one is rebuilt on demand. */
  flushAll(): void {
    this.tracker.dropAll();
    if (this.pagingOn) this.tracker.switchTo(this.controls.cr3 & ~0xfff);
    this.syncRoot();
    this.tlb.flushAll();
  }

  /** The counters as ExecutionEngine.memoryStats reports them, plus the engine's own figures in `extra`. */
  stats(extra: Readonly<Record<string, number>> = {}): MemoryVirtualizationStats {
    const tracker = this.tracker;
    const used = this.pagingOn || tracker.counters.shadowPageDirectoriesBuilt > 0;
    return {
      scheme: used ? 'shadow-paging' : 'none',
      counters: {
        ...tracker.counters,
        shadowPagesInUse: tracker.pagesInUse,
        shadowAddressSpaces: tracker.addressSpaces,
        trackedGuestPages: tracker.trackedGuestPages,
        ...extra,
      },
    };
  }

  /** JSON for snapshots (the pages themselves live in RAM, which the machine snapshots). */
  toJSON(): unknown {
    return { controls: this.controls, pagingOn: this.pagingOn, tracker: this.tracker.toJSON() };
  }

  restore(state: unknown): void {
    const value = state as { controls?: GuestPagingControls; pagingOn?: boolean; tracker?: unknown } | undefined;
    if (value?.controls === undefined) return;
    this.controls = { ...value.controls };
    this.pagingOn = value.pagingOn === true;
    this.tracker.restore(value.tracker);
    this.lastRoot = this.tracker.currentDirectory;
    this.tlb.flushAll();
  }
}
