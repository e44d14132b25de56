// The built-in VMM's EPT (SDM Vol. 3C 29.3.2 formats), built lazily: at attach the VMM writes the PML4, PDPT
// and page directories with every page table linked in but no leaf mapped; each first touch of a guest
// 4-KiB page then causes an EPT violation (exit 48) whose handler fills that one PTE — guest-physical =
// host-physical (identity), read/write/execute, write-back — and resumes the guest at the same instruction.
// Guest RAM is [0, guestBytes): the VMM-owned pages above it (VMCS, bitmaps, these tables) are never mapped,
// so a guest access there is reported as a stop instead of being filled. One page outside RAM is mapped at
// build time, uncached and not executable: the xAPIC page at 0xFEE00000 (guest-physical = host-physical), which
// the VMM names as its APIC-access page so the CPU virtualizes the guest's TPR accesses (SDM Vol. 3C 29.4).

const PAGE = 0x1000;
const RWX = 7;
const WRITE_BACK = 6 << 3;
const READ_WRITE = 3;
/** A page directory and a page table for the APIC-access page above guest RAM. */
const APIC_TABLE_PAGES = 2;

export class LazyEpt {
  /** EPT violations that filled a mapping (each maps one 4-KiB page). */
  fills = 0;
  private readonly directories: number;
  private readonly tables: number;

  /** Bytes of VMM memory the tables need for `guestBytes` of guest RAM. */
  static bytesFor(guestBytes: number): number {
    return (2 + Math.ceil(guestBytes / 0x40000000) + Math.ceil(guestBytes / 0x200000) + APIC_TABLE_PAGES) * PAGE;
  }

  constructor(private readonly ram: Uint8Array, readonly base: number, readonly guestBytes: number) {
    this.directories = Math.ceil(guestBytes / 0x40000000);
    this.tables = Math.ceil(guestBytes / 0x200000);
  }

  /** EPTP: write-back, 4-level walk (SDM 25.6.11). */
  get pointer(): number {
    return (this.base | (3 << 3) | 6) >>> 0;
  }

  private view(): DataView {
    return new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
  }

  /** PML4 → PDPT → page directories → page tables, all present (RWX); no page mapped yet. */
  build(): void {
    this.ram.fill(0, this.base, this.base + LazyEpt.bytesFor(this.guestBytes));
    const v = this.view();
    const pdpt = this.base + PAGE;
    const firstDirectory = pdpt + PAGE;
    const firstTable = firstDirectory + this.directories * PAGE;
    v.setUint32(this.base, pdpt | RWX, true);
    for (let d = 0; d < this.directories; d++) v.setUint32(pdpt + 8 * d, (firstDirectory + d * PAGE) | RWX, true);
    // Directories and tables are contiguous, so entry t of "one long directory" is PD t>>9, entry t&511.
    for (let t = 0; t < this.tables; t++) v.setUint32(firstDirectory + 8 * t, (firstTable + t * PAGE) | RWX, true);
    this.fills = 0;
  }

  /**
   * Maps the 4-KiB page at `address` (outside guest RAM, below 4 GiB) identically, read/write, uncached (memory
   * type 0): the APIC-access page. The last two pages of the tables are its directory and table.
   */
  mapApicAccessPage(address: number): boolean {
    const directoryIndex = address >>> 30;
    if (address >>> 0 < this.guestBytes || directoryIndex < this.directories) return false; // never inside RAM's GiBs
    const v = this.view();
    const directory = this.base + (2 + this.directories + this.tables) * PAGE;
    const table = directory + PAGE;
    v.setUint32(this.base + PAGE + 8 * directoryIndex, directory | RWX, true);
    v.setUint32(directory + 8 * ((address >>> 21) & 0x1ff), table | RWX, true);
    v.setUint32(table + 8 * ((address >>> 12) & 0x1ff), ((address & ~0xfff) | READ_WRITE) >>> 0, true);
    return true;
  }

  /** Maps the 4-KiB page holding `gpa` identically; false when `gpa` is not guest RAM. */
  fill(gpa: number): boolean {
    if (gpa >>> 0 >= this.guestBytes) return false;
    const page = gpa >>> 12;
    const table = this.base + (2 + this.directories) * PAGE;
    this.view().setUint32(table + 8 * page, ((page << 12) | WRITE_BACK | RWX) >>> 0, true);
    this.fills++;
    return true;
  }

  /** Guest pages mapped so far (leaf entries present). */
  mappedPages(): number {
    const v = this.view();
    const table = this.base + (2 + this.directories) * PAGE;
    let count = 0;
    for (let page = 0; page < this.guestBytes >>> 12; page++) if ((v.getUint32(table + 8 * page, true) & 7) !== 0) count++;
    return count;
  }
}
