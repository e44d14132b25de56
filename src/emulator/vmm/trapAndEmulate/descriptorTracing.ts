// Tracing of the guest's descriptor tables (VMware's "tracing", Adams & Agesen, ASPLOS 2006 §3; issue 5): the
// real GDT/LDT are the VMM's shadows (shadowTables.ts), built from the guest's at LGDT/LTR/LLDT, so a guest that
// rewrites a live descriptor with a plain store and reloads a segment register would see the stale shadow
// (natively the reload reads the descriptor from memory, SDM Vol. 3A 3.4.3). The VMM therefore watches the
// physical pages of the guest's GDT and LDT — through the IA-32 core's page-write hook (Mmu.codePages /
// onCodeWrite, the self-modifying-code mechanism), with paging off and on — and on a guest write ends the run
// slice after the writing instruction; the engine then records the trace and rebuilds the shadow. Only a write
// that changed the tables' bytes counts (compared with a copy taken when the pages were armed): a store to other
// data sharing the page is not a trace. VMM writes that change them (an emulated string input, say) only mark
// the shadow dirty.
// The guest's IDT is not watched: this VMM reads the guest's gates from guest memory at every reflection
// (reflect.ts), so it has no shadow IDT to keep in step.

import type { Cpu } from '../../cpu/cpu';
import type { VirtualCpu } from './virtualCpu';

/** What the tracer needs from the engine. */
export interface DescriptorTracingHost {
  readonly cpu: Cpu;
  /** Guest-physical memory (the tables' bytes are compared in place). */
  readonly ram: Uint8Array;
  readonly vcpu: VirtualCpu;
  /** Guest-linear → guest-physical (identity while the guest does not page); undefined when unmapped. */
  physicalOf(linear: number): number | undefined;
  /** Reads 4 bytes at a guest-linear address (the LDT descriptor in the guest GDT). */
  readLinear32(linear: number): number | undefined;
  /** True while the VMM itself writes guest memory (exception frames, emulated stores). */
  vmmWriting(): boolean;
}

/** Pages of one table are watched up to this many (a 64 KiB GDT spans 16; more is a malformed limit). */
const MAX_PAGES_PER_TABLE = 17;

export class DescriptorTableTracer {
  /** Guest writes to a watched page since the engine last looked, and what wrote. */
  guestWrite: { readonly page: number; readonly table: 'GDT' | 'LDT'; readonly eip: number } | null = null;
  /** A VMM write hit a watched page: the shadow must be rebuilt before the guest resumes. */
  vmmWrote = false;
  /** Traced guest writes so far (the "tracing faults" of the descriptor tables). */
  traces = 0;
  private watched: Uint8Array;
  private watchedPages: number[] = [];
  /** The tables' bytes by physical piece (one per page they span), and their copy at arming time. */
  private pieces: { readonly physical: number; readonly length: number; readonly table: 'GDT' | 'LDT'; readonly offset: number }[] = [];
  private copy = new Uint8Array(0);

  constructor(private readonly host: DescriptorTracingHost) {
    const mmu = host.cpu.mmu;
    this.watched = new Uint8Array(mmu.codePages.length);
    const previous = mmu.onCodeWrite;
    mmu.onCodeWrite = (page) => {
      previous(page);
      if (page < this.watched.length && this.watched[page] !== 0) this.written(page);
    };
  }

  /** Watches the pages of the current virtual GDT and LDT and copies their bytes (after every load or rebuild). */
  arm(): void {
    for (const page of this.watchedPages) this.watched[page] = 0;
    const gdtr = this.host.vcpu.gdtr;
    this.pieces = [];
    let total = 0;
    const add = (table: 'GDT' | 'LDT', base: number, limit: number) => {
      for (const piece of this.piecesOf(base, limit)) {
        this.pieces.push({ ...piece, table, offset: total });
        total += piece.length;
      }
    };
    add('GDT', gdtr.base, gdtr.limit);
    const ldt = this.ldtRange();
    if (ldt !== undefined) add('LDT', ldt.base, ldt.limit);
    this.copy = new Uint8Array(total);
    for (const piece of this.pieces) this.copy.set(this.host.ram.subarray(piece.physical, piece.physical + piece.length), piece.offset);
    this.watchedPages = [...new Set(this.pieces.map((piece) => piece.physical >>> 12))];
    this.rearm();
  }

  /** Marks the watched pages again (the block cache clears the marks when it flushes or invalidates). */
  rearm(): void {
    const marks = this.host.cpu.mmu.codePages;
    for (const page of this.watchedPages) {
      this.watched[page] = 1;
      marks[page] = 1;
    }
  }

  private written(page: number): void {
    this.host.cpu.mmu.codePages[page] = 1; // keep watching (the core's handler unmarked it)
    const table = this.changedTable(page);
    if (table === undefined) return;
    if (this.host.vmmWriting()) {
      this.vmmWrote = true;
      return;
    }
    if (this.guestWrite === null) this.guestWrite = { page, table, eip: this.host.cpu.insnStart >>> 0 };
    // End the slice after this instruction (the machine returns a cpu-event; SDM-wise the write completed).
    const cpu = this.host.cpu;
    if (cpu.stopRequest === null) cpu.stopRequest = 'exit';
    cpu.blockBreak = true;
  }

  /** Withdraws the slice-ending request once the engine handled the write (a single step may end first). */
  withdrawStop(): void {
    if (this.host.cpu.stopRequest === 'exit') this.host.cpu.stopRequest = null;
  }

  /** The table on `page` whose bytes differ from the armed copy, if any. */
  private changedTable(page: number): 'GDT' | 'LDT' | undefined {
    const ram = this.host.ram;
    for (const piece of this.pieces) {
      if (piece.physical >>> 12 !== page) continue;
      for (let i = 0; i < piece.length; i++) if (ram[piece.physical + i] !== this.copy[piece.offset + i]) return piece.table;
    }
    return undefined;
  }

  /** The physical pieces (at most one per page) of the linear range base..base+limit; unmapped parts are skipped. */
  private piecesOf(base: number, limit: number): { physical: number; length: number }[] {
    const pieces: { physical: number; length: number }[] = [];
    const end = base + limit + 1; // plain numbers: a table near 4 GiB must not wrap through signed 32-bit
    for (let linear = base; linear < end && pieces.length < MAX_PAGES_PER_TABLE; linear = linear - (linear % 4096) + 4096) {
      const length = Math.min(end, linear - (linear % 4096) + 4096) - linear;
      const physical = this.host.physicalOf(linear % 0x100000000);
      if (physical !== undefined && physical + length <= this.host.ram.length) pieces.push({ physical, length });
    }
    return pieces;
  }

  /** Base and limit of the guest LDT named by the virtual LDTR (a present type-2 descriptor in the guest GDT). */
  private ldtRange(): { base: number; limit: number } | undefined {
    const v = this.host.vcpu;
    const selector = v.ldtr & 0xfff8;
    if (selector === 0 || (v.ldtr & 4) !== 0 || selector + 7 > v.gdtr.limit) return undefined;
    const low = this.host.readLinear32((v.gdtr.base + selector) >>> 0);
    const high = this.host.readLinear32((v.gdtr.base + selector + 4) >>> 0);
    if (low === undefined || high === undefined || ((high >>> 8) & 0x9f) !== 0x82) return undefined;
    const base = ((low >>> 16) | ((high & 0xff) << 16) | (high & 0xff000000)) >>> 0;
    let limit = (low & 0xffff) | (high & 0xf0000);
    if ((high & 0x800000) !== 0) limit = ((limit << 12) | 0xfff) >>> 0;
    return { base, limit };
  }
}
