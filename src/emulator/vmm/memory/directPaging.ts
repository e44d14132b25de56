// Xen-style direct paging for the paravirtual engine (issue 6, "memory virtualization"; virtualization.md §5,
// §7): the guest's page tables are real IA-32 page tables the real CR3 points at, but only after the VMM has
// validated them, and from then on every page-table page is read-only to the guest. Updates go through
// hypercalls that this class checks: mmu_update (a batch of {ptr, val} writes to page-table entries),
// update_va_mapping (the PTE of one linear address) and mmuext_op (pin/unpin a page directory, new_baseptr).
// Rules, simplified from Xen's page types and reference counts (xen/arch/x86/mm.c ideas, not its code):
//  * a frame is a page directory (L2) or a page table (L1) while a validated directory references it;
//  * no present entry may map a frame of the VMM region (resource control: the guest never touches VMM memory);
//  * no present leaf entry may map a page-table frame writable, and a frame mapped writable somewhere cannot
//    become a page table (so the guest cannot change a validated table behind the VMM's back);
//  * the directory slots that cover the VMM region are the VMM's (the analogue of HYPERVISOR_VIRT_START): the
//    VMM installs its own entry there in every validated directory, the guest may not;
//  * 4 MiB pages (PDE.PS) and directories used as page tables ("linear page tables") are refused.
// A refused request is an error result (-EPERM / -EINVAL with a reason), never a crash. Entry formats: SDM Vol. 3A
// 4.3 (32-bit paging), Tables 4-5 and 4-6.

export interface PhysicalWords {
  read32(address: number): number | undefined;
  write32(address: number, value: number): void;
}

export type PagingResult = { readonly ok: true; readonly newTables: boolean } | { readonly ok: false; readonly error: 'EPERM' | 'EINVAL'; readonly problem: string };

const PRESENT = 0x1;
const WRITABLE = 0x2;
const PAGE_SIZE_BIT = 0x80;
const ENTRIES = 1024;

const refuse = (error: 'EPERM' | 'EINVAL', problem: string): PagingResult => ({ ok: false, error, problem });
const hex = (value: number): string => `0x${(value >>> 0).toString(16)}`;

export interface DirectPagingLayout {
  /** Bytes of guest RAM (frames at or above it are not RAM). */
  readonly ramBytes: number;
  /** The VMM region [vmmBase, vmmBase + vmmSize): never mappable by the guest. */
  readonly vmmBase: number;
  readonly vmmSize: number;
  /**
   * Physical addresses of the VMM-owned page tables that map the VMM region into every address space, one per
   * 4 MiB directory slot the region touches (vmmSlotCount gives how many).
   */
  readonly vmmTableAddresses: readonly number[];
}

export class DirectPaging {
  /** Validated page directories (frame numbers). */
  private readonly directories = new Set<number>();
  /** Validated page tables: frame → number of directory entries that reference it. */
  private readonly tableRefs = new Map<number, number>();
  /** Frames mapped writable by validated leaf entries: frame → number of such entries. */
  private readonly writableRefs = new Map<number, number>();
  readonly counters = {
    mmuUpdates: 0, // mmu_update hypercalls
    mmuUpdateRequests: 0, // {ptr, val} requests applied
    vaMappingUpdates: 0, // update_va_mapping hypercalls applied
    baseptrSwitches: 0, // new_baseptr (the PV "mov cr3")
    tablesValidated: 0, // page directories and page tables that became page-table frames
    tablesReleased: 0,
    rejectedUpdates: 0, // requests refused with -EPERM / -EINVAL
    tlbFlushes: 0,
    invlpgs: 0,
  };
  readonly firstVmmSlot: number;
  readonly lastVmmSlot: number;
  private readonly firstVmmFrame: number;
  private readonly endVmmFrame: number;

  constructor(private readonly memory: PhysicalWords, private readonly layout: DirectPagingLayout) {
    this.firstVmmSlot = layout.vmmBase >>> 22;
    this.lastVmmSlot = (layout.vmmBase + layout.vmmSize - 1) >>> 22;
    this.firstVmmFrame = layout.vmmBase >>> 12;
    this.endVmmFrame = (layout.vmmBase + layout.vmmSize) >>> 12;
    // The VMM's own page table: the VMM region mapped at its physical address, supervisor, read/write. The
    // guest's flat segments end below vmmBase, so ring 1 cannot reach it through them (segment truncation).
    if (layout.vmmTableAddresses.length < this.lastVmmSlot - this.firstVmmSlot + 1) throw new RangeError('direct paging needs one VMM page table per directory slot of the VMM region');
    for (const table of layout.vmmTableAddresses) for (let i = 0; i < ENTRIES; i++) memory.write32(table + i * 4, 0);
    for (let frame = this.firstVmmFrame; frame < this.endVmmFrame; frame++) {
      memory.write32(this.vmmTableFor(frame >>> 10) + (frame & 0x3ff) * 4, ((frame << 12) | 0x63) >>> 0);
    }
  }

  /** How many directory slots (so VMM page tables) a region of `size` bytes at `base` touches. */
  static vmmSlotCount(base: number, size: number): number {
    return ((base + size - 1) >>> 22) - (base >>> 22) + 1;
  }

  private vmmTableFor(slot: number): number {
    return this.layout.vmmTableAddresses[slot - this.firstVmmSlot]!;
  }

  /** The lowest linear address the guest may not map (Xen's HYPERVISOR_VIRT_START). */
  get hypervisorVirtStart(): number {
    return (this.firstVmmSlot << 22) >>> 0;
  }

  isDirectory(frame: number): boolean {
    return this.directories.has(frame);
  }

  isPageTable(frame: number): boolean {
    return this.tableRefs.has(frame);
  }

  /** Validates (pins) a page directory and every page table it references; idempotent. */
  pinDirectory(frame: number): PagingResult {
    if (this.directories.has(frame)) return { ok: true, newTables: false };
    const problem = this.frameProblem(frame, 'page directory');
    if (problem !== undefined) return this.rejected(problem);
    if (this.tableRefs.has(frame)) return this.rejected(refuse('EINVAL', `frame ${hex(frame)} is already a page table, it cannot also be a page directory`));
    const base = frame << 12;
    const newTables = new Set<number>([frame]);
    for (let slot = 0; slot < ENTRIES; slot++) {
      const pde = this.memory.read32(base + slot * 4) ?? 0;
      if ((pde & PRESENT) === 0) continue;
      if (slot >= this.firstVmmSlot && slot <= this.lastVmmSlot) {
        return this.rejected(refuse('EPERM', `directory entry ${slot} (linear ${hex(slot << 22)}) is reserved for the VMM`));
      }
      const pdeProblem = this.directoryEntryProblem(pde, slot);
      if (pdeProblem !== undefined) return this.rejected(pdeProblem);
      const table = pde >>> 12;
      if (!this.tableRefs.has(table)) newTables.add(table);
    }
    for (const table of newTables) {
      if (table === frame) continue;
      const leafProblem = this.tableLeavesProblem(table, newTables);
      if (leafProblem !== undefined) return this.rejected(leafProblem);
    }
    // Commit: reference counts, then the VMM's own directory entries.
    this.directories.add(frame);
    this.counters.tablesValidated++;
    for (let slot = 0; slot < ENTRIES; slot++) {
      if (slot >= this.firstVmmSlot && slot <= this.lastVmmSlot) continue;
      const pde = this.memory.read32(base + slot * 4) ?? 0;
      if ((pde & PRESENT) !== 0) this.referenceTable(pde >>> 12);
    }
    for (let slot = this.firstVmmSlot; slot <= this.lastVmmSlot; slot++) {
      this.memory.write32(base + slot * 4, ((this.vmmTableFor(slot) & ~0xfff) | 0x63) >>> 0);
    }
    return { ok: true, newTables: true };
  }

  /** Releases a pinned directory that is not in use (MMUEXT_UNPIN_TABLE); its tables go when unreferenced. */
  unpinDirectory(frame: number, currentDirectory: number): PagingResult {
    if (!this.directories.has(frame)) return this.rejected(refuse('EINVAL', `frame ${hex(frame)} is not a pinned page directory`));
    if (frame === currentDirectory) return this.rejected(refuse('EINVAL', `frame ${hex(frame)} is the current page directory (CR3)`));
    const base = frame << 12;
    for (let slot = 0; slot < ENTRIES; slot++) {
      if (slot >= this.firstVmmSlot && slot <= this.lastVmmSlot) {
        this.memory.write32(base + slot * 4, 0);
        continue;
      }
      const pde = this.memory.read32(base + slot * 4) ?? 0;
      if ((pde & PRESENT) !== 0) this.dereferenceTable(pde >>> 12);
    }
    this.directories.delete(frame);
    this.counters.tablesReleased++;
    return { ok: true, newTables: false };
  }

  /** One MMU_NORMAL_PT_UPDATE request: `pointer` = physical address of the entry, `value` = the new entry. */
  updateEntry(pointer: number, value: number): PagingResult {
    if ((pointer & 3) !== 0) return this.rejected(refuse('EINVAL', `request pointer ${hex(pointer)}: command ${pointer & 3} is not MMU_NORMAL_PT_UPDATE`));
    const frame = pointer >>> 12;
    const index = (pointer & 0xfff) >>> 2;
    const old = this.memory.read32(pointer) ?? 0;
    let newTables = false;
    if (this.directories.has(frame)) {
      if (index >= this.firstVmmSlot && index <= this.lastVmmSlot) {
        return this.rejected(refuse('EPERM', `directory entry ${index} (linear ${hex(index << 22)}) is reserved for the VMM`));
      }
      if ((value & PRESENT) !== 0) {
        const problem = this.directoryEntryProblem(value, index);
        if (problem !== undefined) return this.rejected(problem);
        const table = value >>> 12;
        if (!this.tableRefs.has(table)) {
          const leafProblem = this.tableLeavesProblem(table, new Set([table]));
          if (leafProblem !== undefined) return this.rejected(leafProblem);
          newTables = true;
        }
        this.referenceTable(table);
      }
      if ((old & PRESENT) !== 0) this.dereferenceTable(old >>> 12);
    } else if (this.tableRefs.has(frame)) {
      if ((value & PRESENT) !== 0) {
        const problem = this.leafProblem(value, undefined);
        if (problem !== undefined) return this.rejected(problem);
        if ((value & WRITABLE) !== 0) this.addWritable(value >>> 12, 1);
      }
      if ((old & (PRESENT | WRITABLE)) === (PRESENT | WRITABLE)) this.addWritable(old >>> 12, -1);
    } else {
      return this.rejected(refuse('EINVAL', `${hex(pointer)} is not in a validated page table or page directory`));
    }
    this.memory.write32(pointer, value);
    this.counters.mmuUpdateRequests++;
    return { ok: true, newTables };
  }

  /** Physical address of the PTE that maps `linear` under the directory at `directoryFrame`, if any. */
  pteAddress(directoryFrame: number, linear: number): number | undefined {
    const slot = linear >>> 22;
    if (slot >= this.firstVmmSlot && slot <= this.lastVmmSlot) return undefined;
    const pde = this.memory.read32((directoryFrame << 12) + slot * 4) ?? 0;
    if ((pde & PRESENT) === 0 || (pde & PAGE_SIZE_BIT) !== 0) return undefined;
    return ((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4) >>> 0;
  }

  /** Plain data for snapshots. */
  toJSON(): { directories: number[]; tables: [number, number][]; writable: [number, number][]; counters: Record<string, number> } {
    return { directories: [...this.directories], tables: [...this.tableRefs], writable: [...this.writableRefs], counters: { ...this.counters } };
  }

  restore(state: ReturnType<DirectPaging['toJSON']>): void {
    this.directories.clear();
    this.tableRefs.clear();
    this.writableRefs.clear();
    for (const frame of state.directories) this.directories.add(frame);
    for (const [frame, count] of state.tables) this.tableRefs.set(frame, count);
    for (const [frame, count] of state.writable) this.writableRefs.set(frame, count);
    Object.assign(this.counters, state.counters);
  }

  // ---- checks ---------------------------------------------------------------------------------------

  private rejected(result: PagingResult): PagingResult {
    this.counters.rejectedUpdates++;
    return result;
  }

  private isVmmFrame(frame: number): boolean {
    return frame >= this.firstVmmFrame && frame < this.endVmmFrame;
  }

  /** Can `frame` become a page-table frame at all? */
  private frameProblem(frame: number, what: string): PagingResult | undefined {
    if (this.isVmmFrame(frame)) return refuse('EPERM', `${what} frame ${hex(frame)} is VMM memory`);
    if (frame << 12 >= this.layout.ramBytes || frame < 0) return refuse('EINVAL', `${what} frame ${hex(frame)} is not RAM`);
    if ((this.writableRefs.get(frame) ?? 0) > 0) return refuse('EPERM', `${what} frame ${hex(frame)} is still mapped writable (${this.writableRefs.get(frame)} mapping(s)): a page-table page must be read-only`);
    return undefined;
  }

  private directoryEntryProblem(pde: number, slot: number): PagingResult | undefined {
    if ((pde & PAGE_SIZE_BIT) !== 0) return refuse('EINVAL', `directory entry ${slot}: 4 MiB pages (PS) are not supported under direct paging`);
    const table = pde >>> 12;
    if (this.directories.has(table)) return refuse('EINVAL', `directory entry ${slot} points at a page directory (linear page tables are not supported)`);
    if (this.tableRefs.has(table)) return undefined;
    return this.frameProblem(table, `directory entry ${slot}: page table`);
  }

  /** A leaf entry: never VMM memory; never a writable mapping of a page-table frame (validated or `pending`). */
  private leafProblem(pte: number, pending: ReadonlySet<number> | undefined): PagingResult | undefined {
    const frame = pte >>> 12;
    if (this.isVmmFrame(frame)) return refuse('EPERM', `entry ${hex(pte)} maps VMM memory (frame ${hex(frame)})`);
    if ((pte & WRITABLE) !== 0 && (this.directories.has(frame) || this.tableRefs.has(frame) || pending?.has(frame) === true)) {
      return refuse('EPERM', `entry ${hex(pte)} maps page-table frame ${hex(frame)} writable`);
    }
    return undefined;
  }

  private tableLeavesProblem(table: number, pending: ReadonlySet<number>): PagingResult | undefined {
    const base = table << 12;
    for (let i = 0; i < ENTRIES; i++) {
      const pte = this.memory.read32(base + i * 4) ?? 0;
      if ((pte & PRESENT) === 0) continue;
      const problem = this.leafProblem(pte, pending);
      if (problem !== undefined && !problem.ok) return refuse(problem.error, `page table ${hex(table)} entry ${i}: ${problem.problem}`);
    }
    return undefined;
  }

  private referenceTable(table: number): void {
    const count = this.tableRefs.get(table);
    if (count !== undefined) {
      this.tableRefs.set(table, count + 1);
      return;
    }
    this.tableRefs.set(table, 1);
    this.counters.tablesValidated++;
    const base = table << 12;
    for (let i = 0; i < ENTRIES; i++) {
      const pte = this.memory.read32(base + i * 4) ?? 0;
      if ((pte & (PRESENT | WRITABLE)) === (PRESENT | WRITABLE)) this.addWritable(pte >>> 12, 1);
    }
  }

  private dereferenceTable(table: number): void {
    const count = this.tableRefs.get(table) ?? 0;
    if (count > 1) {
      this.tableRefs.set(table, count - 1);
      return;
    }
    this.tableRefs.delete(table);
    this.counters.tablesReleased++;
    const base = table << 12;
    for (let i = 0; i < ENTRIES; i++) {
      const pte = this.memory.read32(base + i * 4) ?? 0;
      if ((pte & (PRESENT | WRITABLE)) === (PRESENT | WRITABLE)) this.addWritable(pte >>> 12, -1);
    }
  }

  private addWritable(frame: number, delta: number): void {
    const count = (this.writableRefs.get(frame) ?? 0) + delta;
    if (count <= 0) this.writableRefs.delete(frame);
    else this.writableRefs.set(frame, count);
  }
}
