// The VMM-owned region at the top of guest RAM and a small allocator of its 4 KiB pages. The first
// VMM_FIXED_AREA_SIZE bytes hold the fixed tables (shadow GDT, VMM IDT and TSS, gate target, VMM stack, and
// the paravirtual engine's virtual IDT/TSS at 0x5000); the pages above are handed out on demand to whatever
// the VMM builds at run time (shadow page tables, a binary translator's code cache…). The guest can never
// address the region: segment limits end below `base` (shadowTables.ts) and shadow page tables never map it.

import { VMM_REGION_SIZE } from './shadowTables';

/** Bytes at the start of the region reserved for fixed-offset structures (GDT … PV virtual TSS). */
export const VMM_FIXED_AREA_SIZE = 0x8000;
export const VMM_PAGE_SIZE = 0x1000;

/** Zeroes or reads VMM pages: the RAM the region lives in. */
export interface VmmRegionMemory {
  readonly length: number;
  fill(value: number, start: number, end: number): unknown;
}

/** Validates a requested region size: whole pages, at least the fixed area plus one page, at most half of RAM. */
export function vmmRegionSizeProblem(size: number, ramBytes: number): string | undefined {
  if (!Number.isInteger(size) || size % VMM_PAGE_SIZE !== 0) return `the VMM region size must be a whole number of 4 KiB pages, got ${size}`;
  if (size < VMM_FIXED_AREA_SIZE + VMM_PAGE_SIZE) return `the VMM region needs at least ${VMM_FIXED_AREA_SIZE + VMM_PAGE_SIZE} bytes, got ${size}`;
  if (size > ramBytes / 2) return `a VMM region of ${size} bytes would take more than half of the guest's ${ramBytes} bytes of RAM`;
  return undefined;
}

/**
 * The region and its page allocator. Pages are allocated next-fit from a free bitmap (deterministic, so runs
 * and snapshots reproduce), zeroed on allocation, and returned with `freePage`.
 */
export class VmmRegion {
  readonly base: number;
  readonly size: number;
  private readonly used: Uint8Array;
  private inUse = 0;
  private searchFrom = 0;

  constructor(
    private readonly ram: VmmRegionMemory,
    size: number = VMM_REGION_SIZE,
  ) {
    const problem = vmmRegionSizeProblem(size, ram.length);
    if (problem !== undefined) throw new RangeError(problem);
    this.size = size;
    this.base = (ram.length - size) & ~0xfff;
    this.used = new Uint8Array((size - VMM_FIXED_AREA_SIZE) / VMM_PAGE_SIZE);
  }

  /** Pages available to the allocator in total. */
  get capacityPages(): number {
    return this.used.length;
  }

  get pagesInUse(): number {
    return this.inUse;
  }

  get pagesFree(): number {
    return this.used.length - this.inUse;
  }

  /** True when `physical` lies in the VMM region (the guest must never reach it). */
  contains(physical: number): boolean {
    return physical >= this.base && physical < this.base + this.size;
  }

  /** A zeroed VMM page (its physical address), or undefined when the region is full. */
  allocatePage(): number | undefined {
    const count = this.used.length;
    for (let n = 0; n < count; n++) {
      const index = (this.searchFrom + n) % count;
      if (this.used[index] !== 0) continue;
      this.used[index] = 1;
      this.inUse++;
      this.searchFrom = index + 1;
      const address = this.pageAddress(index);
      this.ram.fill(0, address, address + VMM_PAGE_SIZE);
      return address;
    }
    return undefined;
  }

  /** Returns a page to the allocator; pages it never handed out are ignored. */
  freePage(address: number): void {
    const index = (address - this.base - VMM_FIXED_AREA_SIZE) / VMM_PAGE_SIZE;
    if (!Number.isInteger(index) || index < 0 || index >= this.used.length || this.used[index] === 0) return;
    this.used[index] = 0;
    this.inUse--;
    if (index < this.searchFrom) this.searchFrom = index;
  }

  /** Physical addresses of the pages in use, lowest first (snapshots, inspection). */
  allocatedPages(): number[] {
    const pages: number[] = [];
    for (let index = 0; index < this.used.length; index++) if (this.used[index] !== 0) pages.push(this.pageAddress(index));
    return pages;
  }

  /** Marks exactly these pages as in use (restoring a snapshot). */
  restoreAllocation(pages: readonly number[]): void {
    this.used.fill(0);
    this.inUse = 0;
    this.searchFrom = 0;
    for (const address of pages) {
      const index = (address - this.base - VMM_FIXED_AREA_SIZE) / VMM_PAGE_SIZE;
      if (Number.isInteger(index) && index >= 0 && index < this.used.length && this.used[index] === 0) {
        this.used[index] = 1;
        this.inUse++;
      }
    }
  }

  private pageAddress(index: number): number {
    return this.base + VMM_FIXED_AREA_SIZE + index * VMM_PAGE_SIZE;
  }
}
