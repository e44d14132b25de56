// The bookkeeping behind the shadow page tables (shadowPaging.ts): which shadow page directory belongs to
// which guest CR3, which shadow page table was built from which guest page table (keyed by the guest table's
// frame plus the PDE permissions, so address spaces share them), which guest pages are page directories or
// page tables (and so write-protected in every shadow), the VMM region's own mapping, the open "write window"
// of a tracing fault, and the counters the debugger shows. All state is plain data in Maps and VMM pages.

import { PteBit, type ShadowPhysicalMemory } from './shadowGuestWalk';
import type { ShadowPageAllocator, ShadowRealTlb } from './shadowPaging';

/** Memory-virtualization counters, named as Adams & Agesen and KVM name them (virtualization.md §7). */
export interface ShadowCounters {
  hiddenFaults: number;
  trueFaults: number;
  tracingFaults: number;
  shadowCr3Switches: number;
  invlpg: number;
  shadowEntriesInvalidated: number;
  shadowPageDirectoriesBuilt: number;
  shadowPageTablesBuilt: number;
  shadowFlushes: number;
}

/** Bits of a guest page's role. */
const ROLE_DIRECTORY = 1;
const ROLE_TABLE = 2;

interface AddressSpace {
  readonly guestDirectory: number;
  readonly shadow: number;
  lastUse: number;
}

interface ShadowTable {
  readonly address: number;
  /** Guest page-table frame (or 4 MiB page base for a big page) the table mirrors. */
  readonly guestFrame: number;
  readonly bigPage: boolean;
  /** PD slot when the table also carries VMM-region entries (slot-specific), else -1. */
  readonly vmmSlot: number;
}

interface WriteWindow {
  readonly entryAddress: number;
  readonly entry: number;
  readonly frame: number;
  /** The guest page's contents when the window opened. */
  readonly before: Uint32Array;
}

/** Windows one traced instruction may need at once (a store straddling two guest tables needs two). */
export const MAX_WRITE_WINDOWS = 4;

const zeroCounters = (): ShadowCounters => ({
  hiddenFaults: 0, trueFaults: 0, tracingFaults: 0, shadowCr3Switches: 0, invlpg: 0,
  shadowEntriesInvalidated: 0, shadowPageDirectoriesBuilt: 0, shadowPageTablesBuilt: 0, shadowFlushes: 0,
});

export class ShadowTracker {
  counters: ShadowCounters = zeroCounters();
  private spaces: AddressSpace[] = [];
  private current: AddressSpace | undefined;
  private readonly tables = new Map<number, ShadowTable>();
  private readonly roles = new Map<number, number>();
  /** Per PD slot covering the VMM region: a permanent table holding only the VMM's pages. */
  private readonly vmmTables = new Map<number, number>();
  private windows: WriteWindow[] = [];
  private readonly before = new Uint32Array(1024);
  /** Snapshot buffers for write windows, reused (at most MAX_WRITE_WINDOWS). */
  private readonly windowBuffers: Uint32Array[] = [];
  private clock = 0;
  private tlb: ShadowRealTlb = { invalidatePage: () => undefined, flushAll: () => undefined };

  /** Linear address at which every shadow maps the VMM region (its physical base unless relocated). */
  private readonly vmmLinear: number;
  /** False: the shadows map no VMM window at all (VT-x: the VMM runs in root operation, outside the guest's space). */
  private readonly vmmWindow: boolean;

  constructor(
    private readonly memory: ShadowPhysicalMemory,
    private readonly pages: ShadowPageAllocator,
    private readonly maxSpaces: number,
    vmmLinearBase?: number,
    vmmWindow = true,
  ) {
    this.vmmLinear = (vmmLinearBase ?? pages.base) >>> 0;
    this.vmmWindow = vmmWindow;
  }

  /** The real TLB to flush when write protection is added to live entries. */
  attachTlb(tlb: ShadowRealTlb): void {
    this.tlb = tlb;
  }

  get currentDirectory(): number | undefined {
    return this.current?.shadow;
  }

  /** Shadow pages in use: directories, tables and the VMM-region tables. */
  get pagesInUse(): number {
    return this.spaces.length + this.tables.size + this.vmmTables.size;
  }

  get addressSpaces(): number {
    return this.spaces.length;
  }

  get trackedGuestPages(): number {
    return this.roles.size;
  }

  roleOf(frame: number): number {
    return this.roles.get(frame) ?? 0;
  }

  /** Makes the shadow of guest directory `guestDirectory` current, building an empty one if none is cached. */
  switchTo(guestDirectory: number): void {
    const cached = this.spaces.find((space) => space.guestDirectory === guestDirectory);
    if (cached !== undefined) {
      cached.lastUse = ++this.clock;
      this.current = cached;
      return;
    }
    if (this.spaces.length >= this.maxSpaces) this.evictLeastRecentlyUsed();
    let page = this.allocate();
    if (page === undefined) {
      this.dropAll();
      page = this.allocate();
    }
    if (page === undefined) throw new RangeError('the VMM region has no page left for a shadow page directory');
    const space: AddressSpace = { guestDirectory, shadow: page, lastUse: ++this.clock };
    this.spaces.push(space);
    this.current = space;
    for (const slot of this.vmmSlots()) this.memory.write32(page + slot * 4, this.vmmEmptyPde(slot));
    this.counters.shadowPageDirectoriesBuilt++;
    this.addRole(guestDirectory >>> 12, ROLE_DIRECTORY);
  }

  /**
   * The shadow page table that maps `linear` in the current address space for the guest PDE the walk used,
   * built (and hooked into the shadow directory) if needed. Undefined when the VMM is out of pages even after
   * dropping every shadow.
   */
  tableFor(linear: number, walk: { readonly pde: number; readonly bigPage: boolean }): number | undefined {
    const slot = linear >>> 22;
    const vmmSlotIndex = this.vmmSlots().indexOf(slot);
    const guestFrame = (walk.bigPage ? walk.pde & 0xffc00000 : walk.pde & ~0xfff) >>> 0;
    const key = (guestFrame | (walk.bigPage ? 1 : 0) | (walk.pde & (PteBit.RW | PteBit.US)) | ((vmmSlotIndex + 1) << 3)) >>> 0;
    let table = this.tables.get(key);
    if (table === undefined) {
      let page = this.allocate();
      if (page === undefined) {
        this.dropAll();
        if (this.current === undefined && this.lastDirectory !== undefined) this.switchTo(this.lastDirectory);
        page = this.allocate();
        if (page === undefined) return undefined;
      }
      table = { address: page, guestFrame, bigPage: walk.bigPage, vmmSlot: vmmSlotIndex >= 0 ? slot : -1 };
      if (vmmSlotIndex >= 0) this.mapVmmRegion(page, slot);
      this.tables.set(key, table);
      this.counters.shadowPageTablesBuilt++;
      if (!walk.bigPage) this.addRole(guestFrame >>> 12, ROLE_TABLE);
    }
    const directory = this.current!.shadow;
    this.memory.write32(directory + slot * 4, (table.address | PteBit.P | PteBit.RW | PteBit.US) >>> 0);
    return table.address;
  }

  /** Guest INVLPG: clears the current shadow's entry for `linear` (never a VMM-region entry). */
  dropEntry(linear: number): void {
    if (this.current === undefined || this.isVmmLinear(linear)) return;
    const pde = this.memory.read32(this.current.shadow + (linear >>> 22) * 4) ?? 0;
    if ((pde & PteBit.P) === 0) return;
    this.memory.write32((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2), 0);
    this.counters.shadowEntriesInvalidated++;
  }

  /** Write windows open now (a traced instruction whose store spans two guest tables opens a second one). */
  get openWindows(): number {
    return this.windows.length;
  }

  /**
   * Opens a write window of a tracing fault: remembers the shadow entry and the guest table's contents. False
   * when MAX_WRITE_WINDOWS are already open.
   */
  openWindow(entryAddress: number, entry: number, frame: number): boolean {
    if (this.windows.length >= MAX_WRITE_WINDOWS) return false;
    const index = this.windows.length;
    const before = (this.windowBuffers[index] ??= new Uint32Array(1024));
    const base = frame * 4096;
    for (let i = 0; i < 1024; i++) before[i] = this.memory.read32(base + i * 4) ?? 0;
    this.windows.push({ entryAddress, entry, frame, before });
    return true;
  }

  /** Closes every window: the shadow entries are read-only again; changed guest entries are invalidated. */
  closeWindow(): number {
    const windows = this.windows;
    this.windows = [];
    let changed = 0;
    for (const window of windows) {
      const current = this.memory.read32(window.entryAddress) ?? 0;
      if ((current & ~0xfff) === (window.entry & ~0xfff)) this.memory.write32(window.entryAddress, (current & ~PteBit.RW) >>> 0);
    }
    for (const window of windows) {
      this.before.set(window.before);
      changed += this.invalidateChanged(window.frame);
    }
    return changed;
  }

  /** Runs `write` (a VMM write into guest page `frame`) and resyncs the shadow if that page is a guest table. */
  resyncAround(frame: number, write: () => void): void {
    if (this.roleOf(frame) === 0) {
      write();
      return;
    }
    this.snapshot(frame);
    write();
    if (this.invalidateChanged(frame) > 0) this.tlb.flushAll();
  }

  /** Frees every shadow directory and table (not the permanent VMM-region tables) and forgets all roles. */
  dropAll(): void {
    if (this.spaces.length > 0 || this.tables.size > 0) this.counters.shadowFlushes++;
    this.lastDirectory = this.current?.guestDirectory ?? this.lastDirectory;
    for (const space of this.spaces) this.pages.freePage(space.shadow);
    for (const table of this.tables.values()) this.pages.freePage(table.address);
    this.spaces = [];
    this.current = undefined;
    this.tables.clear();
    this.roles.clear();
    this.windows = [];
  }

  private lastDirectory: number | undefined;

  toJSON(): unknown {
    return {
      counters: this.counters,
      spaces: this.spaces.map((space) => ({ ...space })),
      current: this.current === undefined ? -1 : this.spaces.indexOf(this.current),
      tables: [...this.tables.entries()].map(([key, table]) => [key, { ...table }]),
      roles: [...this.roles.entries()],
      vmmTables: [...this.vmmTables.entries()],
      clock: this.clock,
    };
  }

  restore(state: unknown): void {
    const value = state as {
      counters: ShadowCounters; spaces: AddressSpace[]; current: number; tables: [number, ShadowTable][];
      roles: [number, number][]; vmmTables: [number, number][]; clock: number;
    } | undefined;
    if (value === undefined || !Array.isArray(value.spaces)) return;
    this.counters = { ...zeroCounters(), ...value.counters };
    this.spaces = value.spaces.map((space) => ({ ...space }));
    this.current = value.current >= 0 ? this.spaces[value.current] : undefined;
    this.tables.clear();
    for (const [key, table] of value.tables) this.tables.set(key, { ...table });
    this.roles.clear();
    for (const [frame, role] of value.roles) this.roles.set(frame, role);
    this.vmmTables.clear();
    for (const [slot, address] of value.vmmTables) this.vmmTables.set(slot, address);
    this.clock = value.clock;
    this.windows = [];
  }

  // ---- internals ---------------------------------------------------------------------------------

  private allocate(): number | undefined {
    return this.pages.allocatePage();
  }

  private evictLeastRecentlyUsed(): void {
    let victim: AddressSpace | undefined;
    for (const space of this.spaces) if (space !== this.current && (victim === undefined || space.lastUse < victim.lastUse)) victim = space;
    if (victim === undefined) return;
    this.spaces.splice(this.spaces.indexOf(victim), 1);
    this.pages.freePage(victim.shadow);
  }

  /** Marks a guest page as a directory/table; a newly traced page loses write access in every shadow table. */
  private addRole(frame: number, role: number): void {
    const previous = this.roles.get(frame) ?? 0;
    if ((previous & role) !== 0) return;
    this.roles.set(frame, previous | role);
    if (previous !== 0) return;
    let protectedEntries = 0;
    for (const table of this.tables.values()) {
      for (let index = 0; index < 1024; index++) {
        const address = table.address + index * 4;
        const entry = this.memory.read32(address) ?? 0;
        if ((entry & PteBit.P) !== 0 && (entry & PteBit.RW) !== 0 && entry >>> 12 === frame) {
          this.memory.write32(address, (entry & ~PteBit.RW) >>> 0);
          protectedEntries++;
        }
      }
    }
    if (protectedEntries > 0) this.tlb.flushAll();
  }

  private snapshot(frame: number): void {
    const base = frame * 4096;
    for (let index = 0; index < 1024; index++) this.before[index] = this.memory.read32(base + index * 4) ?? 0;
  }

  /** Compares the guest page with the snapshot and drops the shadow entries derived from changed entries. */
  private invalidateChanged(frame: number): number {
    const base = frame * 4096;
    const role = this.roleOf(frame);
    let changed = 0;
    for (let index = 0; index < 1024; index++) {
      if ((this.memory.read32(base + index * 4) ?? 0) >>> 0 === this.before[index]) continue;
      changed++;
      if ((role & ROLE_DIRECTORY) !== 0) {
        for (const space of this.spaces) {
          if (space.guestDirectory >>> 12 !== frame) continue;
          const vmmSlot = this.vmmSlots().includes(index);
          this.memory.write32(space.shadow + index * 4, vmmSlot ? this.vmmEmptyPde(index) : 0);
          this.counters.shadowEntriesInvalidated++;
        }
      }
      if ((role & ROLE_TABLE) !== 0) {
        for (const table of this.tables.values()) {
          if (table.bigPage || table.guestFrame >>> 12 !== frame) continue;
          if (table.vmmSlot >= 0 && this.isVmmLinear(((table.vmmSlot << 22) | (index << 12)) >>> 0)) continue;
          this.memory.write32(table.address + index * 4, 0);
          this.counters.shadowEntriesInvalidated++;
        }
      }
    }
    return changed;
  }

  private isVmmLinear(linear: number): boolean {
    return this.vmmWindow && linear >= this.vmmLinear && linear - this.vmmLinear < this.pages.size;
  }

  /** PD slots (4 MiB each) the VMM region touches. */
  private vmmSlots(): number[] {
    if (!this.vmmWindow) return [];
    const first = this.vmmLinear >>> 22;
    const last = (this.vmmLinear + this.pages.size - 1) >>> 22;
    const slots: number[] = [];
    for (let slot = first; slot <= last; slot++) slots.push(slot);
    return slots;
  }

  /** The shadow PDE of a VMM slot whose guest PDE maps nothing: the permanent VMM-only table. */
  private vmmEmptyPde(slot: number): number {
    let table = this.vmmTables.get(slot);
    if (table === undefined) {
      table = this.pages.allocatePage();
      if (table === undefined) throw new RangeError('the VMM region has no page left for its own mapping');
      this.mapVmmRegion(table, slot);
      this.vmmTables.set(slot, table);
    }
    return (table | PteBit.P | PteBit.RW) >>> 0;
  }

  /** Maps the VMM region's pages of `slot` (at the VMM's linear window) into `table`, supervisor-only (the guest
   * kernel runs at CPL 1 but its segments end below the window, so only the CPU's implicit GDT/IDT/TSS accesses
   * reach these). */
  private mapVmmRegion(table: number, slot: number): void {
    for (let index = 0; index < 1024; index++) {
      const linear = ((slot << 22) | (index << 12)) >>> 0;
      if (!this.isVmmLinear(linear)) continue;
      const physical = (this.pages.base + (linear - this.vmmLinear)) >>> 0;
      this.memory.write32(table + index * 4, (physical | PteBit.P | PteBit.RW | PteBit.A | PteBit.D) >>> 0);
    }
  }
}
