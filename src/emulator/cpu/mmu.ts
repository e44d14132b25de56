// Paging and physical memory for the CPU: the two-level 32-bit page walk with 4 KiB and 4 MiB pages
// (SDM Vol. 3A 4.3), U/S and R/W checks with CR0.WP (4.6), accessed/dirty bits (4.8), #PF error codes and
// CR2 (4.7), a TLB in typed arrays flushed by INVLPG and CR3 loads with global pages kept under CR4.PGE
// (4.10), and physical access to RAM (directly) or MMIO (through the bus). Also the side-effect-free
// translate used by debuggers, and the write hook that invalidates decoded code on self-modification.
// In VMX non-root operation with "enable EPT" (`ept`, set by the VMX unit) TLB misses take the two-dimensional
// walk of nestedWalk (the guest walk over EPT, ept.ts); TLB entries then hold guest-linear → host-physical
// with the guest's and the EPT's permissions combined (SDM Vol. 3C 29.4.2 "combined mappings").

import type { AccessSize, PhysicalMemoryBus } from '../hw/contracts';
import { EptAccess, type EptWalker } from './ept';
import { GuestFault, PageFaultCode, Vector } from './faults';
import { CR, Cr0, Cr4 } from './stateLayout';
import type { PhysicalInterposer } from './vmxHooks';

/** TLB entry bits (low 12 bits of an entry; the high 20 bits are the physical frame). */
const enum TlbBit {
  Valid = 1, SupervisorWrite = 2, UserRead = 4, UserWrite = 8, Global = 16,
  /** EPT only: the combined mapping does not allow instruction fetches (EPT X clear). */
  NoExecute = 32,
}

const TLB_LIST_CAPACITY = 4096;

/** The TLB-entry bit that grants an access (what translate() tests before walking). */
export function tlbPermissionBit(user: boolean, write: boolean): number {
  return user ? (write ? TlbBit.UserWrite : TlbBit.UserRead) : write ? TlbBit.SupervisorWrite : TlbBit.Valid;
}

/** The arrays the block compiler's inline fast path reads (fixed for the Mmu's lifetime). */
export interface MmuFastView {
  readonly tlb: Int32Array;
  readonly pageKind: Uint8Array;
  readonly codePages: Uint8Array;
  readonly ram32: Int32Array;
}

export class Mmu {
  /** One entry per linear page; 0 = not cached. */
  private readonly tlb = new Int32Array(1 << 20);
  /** RAM as 32-bit words for aligned fast-path accesses (null if the bus's RAM view is not 4-aligned). */
  private readonly ram32: Int32Array | null;
  /**
   * The arrays the block compiler's inline fast path reads (compiledMemory.ts). Under EPT with guest paging
   * off the generated code takes linear (= guest-physical) addresses for host-physical ones, so then `fast`
   * is a view whose pageKind marks only pages the TLB holds as identity-mapped RAM (guest-physical page =
   * host-physical page, EPT readable and writable): `eptIdentityPages`, dropped with the TLB entries.
   */
  fast: MmuFastView;
  private readonly fullView: MmuFastView;
  private readonly unpagedEptView: MmuFastView;
  private readonly eptIdentityPages: Uint8Array;
  private readonly eptIdentityList = new Int32Array(TLB_LIST_CAPACITY);
  private eptIdentityCount = 0;
  /** EPT in force (VMX non-root operation with "enable EPT"); null otherwise. */
  ept: EptWalker | null = null;
  private readonly filled = new Int32Array(TLB_LIST_CAPACITY);
  private filledCount = 0;
  private filledOverflow = false;
  readonly ram: Uint8Array;
  /** Bytes of RAM the CPU may touch directly (pages classified as RAM, see pageKind). */
  private readonly ramBytes: number;
  /** Per RAM page: 0 unclassified, 1 RAM, 2 MMIO (page-granular, asked once from the bus). */
  private readonly pageKind: Uint8Array;
  /** Per RAM page: 1 when decoded code is cached from it (writes must invalidate). */
  readonly codePages: Uint8Array;
  /** Set on every CPU of a multiprocessor machine once a second CPU shares the map (cpuAdapter.ts). */
  codePagesShared: boolean;
  /** Called when cached translations are dropped (INVLPG, CR3/CR0/CR4 flushes). */
  onTranslationChange: () => void = () => undefined;
  /** Called with a physical page number when a write hits a page holding decoded code. */
  onCodeWrite: (page: number) => void = () => undefined;
  /** VMX "virtualize APIC accesses" in non-root operation: accesses outside RAM to its page go to it, not the bus. */
  apicAccess: PhysicalInterposer | null = null;

  constructor(
    private readonly s: Int32Array,
    private readonly bus: PhysicalMemoryBus,
    private readonly fault: GuestFault,
    /** Shared with the other CPUs of a multiprocessor machine, so a store by any CPU sees code cached by any. */
    sharedCodePages?: Uint8Array,
  ) {
    this.ram = bus.ram;
    this.ramBytes = bus.ram.length;
    this.pageKind = new Uint8Array((this.ramBytes + 0xfff) >>> 12);
    this.codePages = sharedCodePages ?? new Uint8Array(this.pageKind.length);
    this.codePagesShared = sharedCodePages !== undefined;
    const ram = bus.ram;
    this.ram32 = ram.byteOffset % 4 === 0 ? new Int32Array(ram.buffer, ram.byteOffset, ram.length >>> 2) : null;
    // Without an aligned word view no page counts as RAM for generated code, so its fast path never hits.
    this.fullView = this.ram32 !== null
      ? { tlb: this.tlb, pageKind: this.pageKind, codePages: this.codePages, ram32: this.ram32 }
      : { tlb: this.tlb, pageKind: new Uint8Array(0), codePages: this.codePages, ram32: new Int32Array(0) };
    this.eptIdentityPages = new Uint8Array(this.ram32 !== null ? this.pageKind.length : 0);
    this.unpagedEptView = { tlb: this.tlb, pageKind: this.eptIdentityPages, codePages: this.codePages, ram32: this.fullView.ram32 };
    this.fast = this.fullView;
  }

  /** The VMX unit switches EPT on (VM entry with "enable EPT") or off (VM exit); the TLB is flushed. */
  setEpt(ept: EptWalker | null): void {
    this.ept = ept;
    this.flush(true);
  }

  private selectFastView(): void {
    this.fast = this.ept !== null && (this.s[CR]! & Cr0.PG) === 0 ? this.unpagedEptView : this.fullView;
  }

  /** Forget the RAM/MMIO classification (the machine calls this after remapping devices). */
  invalidateMemoryMap(): void {
    this.pageKind.fill(0);
  }

  // ---- translation -------------------------------------------------------------------------------

  /** Linear → physical for an access by the guest, faulting with #PF as the SDM says. */
  translate(linear: number, write: boolean, user: boolean): number {
    if ((this.s[CR]! & Cr0.PG) === 0 && this.ept === null) return linear >>> 0;
    const entry = this.tlb[linear >>> 12]!;
    const need = user ? (write ? TlbBit.UserWrite : TlbBit.UserRead) : write ? TlbBit.SupervisorWrite : TlbBit.Valid;
    if ((entry & need) !== 0) return ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
    if (this.ept !== null) return this.nestedWalk(linear, write ? EptAccess.Write : EptAccess.Read, user);
    return this.walk(linear, write, user, true);
  }

  /** Linear → physical for an instruction fetch (differs from a read only under EPT: the X permission). */
  translateFetch(linear: number, user: boolean): number {
    if (this.ept === null) return this.translate(linear, false, user);
    const entry = this.tlb[linear >>> 12]!;
    if ((entry & (user ? TlbBit.UserRead : TlbBit.Valid)) !== 0 && (entry & TlbBit.NoExecute) === 0) return ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
    return this.nestedWalk(linear, EptAccess.Fetch, user);
  }

  /**
   * Fast path for a data access: the physical RAM address when the access stays in one page, hits the TLB
   * (or paging is off) with the needed permission already cached (so no #PF and no accessed/dirty update
   * is due), lands in a page classified as RAM, and, for a write, in a page holding no decoded code.
   * Otherwise -1: the caller takes the precise path (translate/readPhysical/writePhysical), which faults,
   * sets A/D bits, reaches MMIO or invalidates code exactly as before. Never faults, never changes state.
   */
  fastPhysical(linear: number, size: number, write: boolean, user: boolean): number {
    if ((linear & 0xfff) + size > 0x1000) return -1;
    let physical: number;
    if ((this.s[CR]! & Cr0.PG) === 0 && this.ept === null) {
      physical = linear >>> 0;
    } else {
      const entry = this.tlb[linear >>> 12]!;
      const need = user ? (write ? TlbBit.UserWrite : TlbBit.UserRead) : write ? TlbBit.SupervisorWrite : TlbBit.Valid;
      if ((entry & need) === 0) return -1;
      physical = ((entry & ~0xfff) | (linear & 0xfff)) >>> 0;
    }
    const page = physical >>> 12;
    if (this.pageKind[page] !== 1) return -1; // unclassified, MMIO, or beyond RAM
    if (write && this.codePages[page] !== 0) return -1;
    return physical;
  }

  /** Read `size` bytes of RAM at a fastPhysical address (little-endian). */
  loadRam(address: number, size: number): number {
    const r = this.ram;
    if (size === 4) {
      if ((address & 3) === 0 && this.ram32 !== null) return this.ram32[address >>> 2]!;
      return r[address]! | (r[address + 1]! << 8) | (r[address + 2]! << 16) | (r[address + 3]! << 24);
    }
    if (size === 1) return r[address]!;
    return r[address]! | (r[address + 1]! << 8);
  }

  /** Write `size` bytes of RAM at a fastPhysical address (little-endian). */
  storeRam(address: number, size: number, value: number): void {
    const r = this.ram;
    if (size === 4 && (address & 3) === 0 && this.ram32 !== null) {
      this.ram32[address >>> 2] = value;
      return;
    }
    r[address] = value;
    if (size >= 2) {
      r[address + 1] = value >> 8;
      if (size === 4) {
        r[address + 2] = value >> 16;
        r[address + 3] = value >> 24;
      }
    }
  }

  /** Side-effect-free translation for debuggers: undefined when not mapped (never faults, sets no A/D). */
  peekTranslate(linear: number): number | undefined {
    if (this.ept !== null) return this.peekNested(linear);
    if ((this.s[CR]! & Cr0.PG) === 0) return linear >>> 0;
    const pdeAddress = ((this.s[CR + 3]! & ~0xfff) + ((linear >>> 22) << 2)) >>> 0;
    const pde = this.peekPhysical32(pdeAddress);
    if (pde === undefined || (pde & 1) === 0) return undefined;
    if ((pde & 0x80) !== 0 && (this.s[CR + 4]! & Cr4.PSE) !== 0) return ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0;
    const pte = this.peekPhysical32(((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0);
    if (pte === undefined || (pte & 1) === 0) return undefined;
    return ((pte & ~0xfff) | (linear & 0xfff)) >>> 0;
  }

  private peekPhysical32(address: number): number | undefined {
    if (address + 4 > this.ramBytes) return undefined;
    const r = this.ram;
    return r[address]! | (r[address + 1]! << 8) | (r[address + 2]! << 16) | (r[address + 3]! << 24);
  }

  /** The page walk (SDM Vol. 3A 4.3, 4.6, 4.8); fills the TLB or throws #PF. */
  private walk(linear: number, write: boolean, user: boolean, fill: boolean): number {
    const s = this.s;
    const pdeAddress = ((s[CR + 3]! & ~0xfff) + ((linear >>> 22) << 2)) >>> 0;
    const pde = this.readPhysical(pdeAddress, 4);
    let code = (write ? PageFaultCode.Write : 0) | (user ? PageFaultCode.User : 0);
    if ((pde & 1) === 0) return this.pageFault(linear, code);
    const bigPage = (pde & 0x80) !== 0 && (s[CR + 4]! & Cr4.PSE) !== 0;
    let pte = 0;
    let pteAddress = 0;
    if (!bigPage) {
      pteAddress = ((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
      pte = this.readPhysical(pteAddress, 4);
      if ((pte & 1) === 0) return this.pageFault(linear, code);
    }
    const leaf = bigPage ? pde : pte;
    const userOk = (pde & leaf & 4) !== 0;
    const writableOk = (pde & leaf & 2) !== 0;
    const wp = (s[CR]! & Cr0.WP) !== 0;
    code |= PageFaultCode.Present;
    if (user && !userOk) return this.pageFault(linear, code);
    if (write && !writableOk && (user || wp)) return this.pageFault(linear, code);
    // Accessed and dirty bits (SDM Vol. 3A 4.8): set in memory, atomically on hardware.
    if ((pde & 0x20) === 0 || (bigPage && write && (pde & 0x40) === 0)) {
      this.writePhysical(pdeAddress, 4, pde | 0x20 | (bigPage && write ? 0x40 : 0));
    }
    if (!bigPage && ((pte & 0x20) === 0 || (write && (pte & 0x40) === 0))) {
      this.writePhysical(pteAddress, 4, pte | 0x20 | (write ? 0x40 : 0));
    }
    const frame = bigPage ? (pde & 0xffc00000) | (linear & 0x3ff000) : pte & ~0xfff;
    if (fill) {
      const dirty = write || (bigPage ? (pde & 0x40) !== 0 : (pte & 0x40) !== 0);
      let bits = TlbBit.Valid;
      if (dirty && (writableOk || !wp)) bits |= TlbBit.SupervisorWrite;
      if (userOk) bits |= TlbBit.UserRead;
      if (userOk && writableOk && dirty) bits |= TlbBit.UserWrite;
      if ((leaf & 0x100) !== 0 && (s[CR + 4]! & Cr4.PGE) !== 0) bits |= TlbBit.Global;
      this.fillEntry(linear >>> 12, frame | bits);
    }
    return ((frame & ~0xfff) | (linear & 0xfff)) >>> 0;
  }

  /**
   * The two-dimensional walk (SDM Vol. 3C 29.3.2): each guest paging-structure address (from CR3, the PDE)
   * is a guest-physical address translated through EPT before it is read, then the final guest-physical
   * address is. Guest #PF checks are those of walk(); EPT violations carry bit 8 clear for the guest-entry
   * accesses and set for the final one (Table 28-7). Fills the TLB with the combined permissions.
   */
  private nestedWalk(linear: number, access: number, user: boolean): number {
    const ept = this.ept!;
    const s = this.s;
    const write = access === EptAccess.Write;
    ept.references = 0;
    let bits = TlbBit.Valid | TlbBit.SupervisorWrite | TlbBit.UserRead | TlbBit.UserWrite;
    let frame = linear & ~0xfff;
    if ((s[CR]! & Cr0.PG) !== 0) {
      const pdeGuest = ((s[CR + 3]! & ~0xfff) + ((linear >>> 22) << 2)) >>> 0;
      const pdeAddress = ept.translate(pdeGuest, EptAccess.Read, linear, true, false);
      const pde = this.guestEntry(pdeAddress);
      let code = (write ? PageFaultCode.Write : 0) | (user ? PageFaultCode.User : 0);
      if ((pde & 1) === 0) return this.pageFault(linear, code);
      const bigPage = (pde & 0x80) !== 0 && (s[CR + 4]! & Cr4.PSE) !== 0;
      let pte = 0;
      let pteGuest = 0;
      if (!bigPage) {
        pteGuest = ((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
        pte = this.guestEntry(ept.translate(pteGuest, EptAccess.Read, linear, true, false));
        if ((pte & 1) === 0) return this.pageFault(linear, code);
      }
      const leaf = bigPage ? pde : pte;
      const userOk = (pde & leaf & 4) !== 0;
      const writableOk = (pde & leaf & 2) !== 0;
      const wp = (s[CR]! & Cr0.WP) !== 0;
      code |= PageFaultCode.Present;
      if (user && !userOk) return this.pageFault(linear, code);
      if (write && !writableOk && (user || wp)) return this.pageFault(linear, code);
      // A/D updates write the guest entries: a write access to their guest-physical addresses (not counted).
      if ((pde & 0x20) === 0 || (bigPage && write && (pde & 0x40) === 0)) {
        this.writeGuestEntry(pdeGuest, linear, pde | 0x20 | (bigPage && write ? 0x40 : 0));
      }
      if (!bigPage && ((pte & 0x20) === 0 || (write && (pte & 0x40) === 0))) {
        this.writeGuestEntry(pteGuest, linear, pte | 0x20 | (write ? 0x40 : 0));
      }
      frame = bigPage ? (pde & 0xffc00000) | (linear & 0x3ff000) : pte & ~0xfff;
      const dirty = write || (bigPage ? (pde & 0x40) !== 0 : (pte & 0x40) !== 0);
      bits = TlbBit.Valid;
      if (dirty && (writableOk || !wp)) bits |= TlbBit.SupervisorWrite;
      if (userOk) bits |= TlbBit.UserRead;
      if (userOk && writableOk && dirty) bits |= TlbBit.UserWrite;
      if ((leaf & 0x100) !== 0 && (s[CR + 4]! & Cr4.PGE) !== 0) bits |= TlbBit.Global;
    }
    const physical = ept.translate(((frame & ~0xfff) | (linear & 0xfff)) >>> 0, access, linear, true, true);
    if ((ept.permissions & EptAccess.Write) === 0) bits &= ~(TlbBit.SupervisorWrite | TlbBit.UserWrite);
    if ((ept.permissions & EptAccess.Fetch) === 0) bits |= TlbBit.NoExecute;
    this.fillEntry(linear >>> 12, (physical & ~0xfff) | bits);
    const page = linear >>> 12;
    if ((s[CR]! & Cr0.PG) === 0 && physical >>> 12 === page && (ept.permissions & EptAccess.Write) !== 0 && page < this.eptIdentityPages.length &&
      this.eptIdentityPages[page] === 0 && this.eptIdentityCount < TLB_LIST_CAPACITY && this.isRamPage(page)) {
      this.eptIdentityPages[page] = 1; // the compiled fast path may now use this guest-physical page directly
      this.eptIdentityList[this.eptIdentityCount++] = page;
    }
    ept.missDone();
    return physical;
  }

  /** A guest paging-structure entry read during the 2-D walk (one counted reference). */
  private guestEntry(hostAddress: number): number {
    const ept = this.ept!;
    ept.references++;
    ept.counters.guestReferences++;
    return this.readPhysical(hostAddress, 4);
  }

  private writeGuestEntry(guestAddress: number, linear: number, value: number): void {
    const ept = this.ept!;
    const references = ept.references;
    const eptReferences = ept.counters.eptReferences;
    const host = ept.translate(guestAddress, EptAccess.Write, linear, true, false);
    ept.references = references;
    ept.counters.eptReferences = eptReferences;
    this.writePhysical(host, 4, value);
  }

  /** peekTranslate under EPT: the guest walk over EPT without faults, A/D updates or counting. */
  private peekNested(linear: number): number | undefined {
    const ept = this.ept!;
    const s = this.s;
    let frame = linear & ~0xfff;
    if ((s[CR]! & Cr0.PG) !== 0) {
      const pdeAddress = ept.peek(((s[CR + 3]! & ~0xfff) + ((linear >>> 22) << 2)) >>> 0);
      const pde = pdeAddress < 0 ? undefined : this.peekPhysical32(pdeAddress);
      if (pde === undefined || (pde & 1) === 0) return undefined;
      if ((pde & 0x80) !== 0 && (s[CR + 4]! & Cr4.PSE) !== 0) {
        frame = (pde & 0xffc00000) | (linear & 0x3ff000);
      } else {
        const pteAddress = ept.peek(((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0);
        const pte = pteAddress < 0 ? undefined : this.peekPhysical32(pteAddress);
        if (pte === undefined || (pte & 1) === 0) return undefined;
        frame = pte & ~0xfff;
      }
    }
    const physical = ept.peek(((frame & ~0xfff) | (linear & 0xfff)) >>> 0);
    return physical < 0 ? undefined : physical;
  }

  private pageFault(linear: number, code: number): never {
    this.s[CR + 2] = linear;
    const f = this.fault;
    f.vector = Vector.PF;
    f.errorCode = code;
    f.hasErrorCode = true;
    f.reason = '';
    throw f;
  }

  private fillEntry(page: number, entry: number): void {
    if (this.tlb[page] === 0) {
      if (this.filledCount < TLB_LIST_CAPACITY) this.filled[this.filledCount++] = page;
      else this.filledOverflow = true;
    }
    this.tlb[page] = entry;
  }

  /** INVLPG (SDM Vol. 2 INVLPG): drop one page, global or not. */
  invalidatePage(linear: number): void {
    this.tlb[linear >>> 12] = 0;
    if (this.eptIdentityCount > 0 && (linear >>> 12) < this.eptIdentityPages.length) this.eptIdentityPages[linear >>> 12] = 0;
    this.onTranslationChange();
  }

  /** CR3 load: flush all non-global entries (SDM Vol. 3A 4.10.4.1); `all` also drops global ones. */
  flush(all: boolean): void {
    this.onTranslationChange();
    if (this.ept !== null || this.fast !== this.fullView) this.selectFastView();
    if (this.eptIdentityCount > 0) {
      for (let i = 0; i < this.eptIdentityCount; i++) this.eptIdentityPages[this.eptIdentityList[i]!] = 0;
      this.eptIdentityCount = 0;
    }
    if (this.filledOverflow) {
      if (all) this.tlb.fill(0);
      else for (let i = 0; i < this.tlb.length; i++) if ((this.tlb[i]! & TlbBit.Global) === 0) this.tlb[i] = 0;
      this.filledOverflow = false;
      this.filledCount = 0;
      if (!all) this.rebuildFilledList();
      return;
    }
    let kept = 0;
    for (let i = 0; i < this.filledCount; i++) {
      const page = this.filled[i]!;
      if (!all && (this.tlb[page]! & TlbBit.Global) !== 0) this.filled[kept++] = page;
      else this.tlb[page] = 0;
    }
    this.filledCount = kept;
  }

  private rebuildFilledList(): void {
    for (let i = 0; i < this.tlb.length; i++) {
      if (this.tlb[i] !== 0) {
        if (this.filledCount < TLB_LIST_CAPACITY) this.filled[this.filledCount++] = i;
        else this.filledOverflow = true;
      }
    }
  }

  // ---- physical access ---------------------------------------------------------------------------

  private isRamPage(page: number): boolean {
    const kind = this.pageKind[page];
    if (kind === 1) return true;
    if (kind === 2 || kind === undefined) return false;
    const base = page << 12;
    const mmio = this.bus.isMmio(base, 1) || this.bus.isMmio(Math.min(base + 0xfff, this.ramBytes - 1), 1);
    this.pageKind[page] = mmio ? 2 : 1;
    return !mmio;
  }

  readPhysical(address: number, size: AccessSize): number {
    const page = address >>> 12;
    if (this.pageKind[page] === 1 || this.isRamPage(page)) {
      const r = this.ram;
      if (size === 1) return r[address]!;
      if (size === 2) return r[address]! | (r[address + 1]! << 8);
      return r[address]! | (r[address + 1]! << 8) | (r[address + 2]! << 16) | (r[address + 3]! << 24);
    }
    if (this.apicAccess !== null && page === this.apicAccess.page) return this.apicAccess.read(address, size);
    return this.bus.mmioRead(address, size);
  }

  writePhysical(address: number, size: AccessSize, value: number): void {
    const page = address >>> 12;
    if (this.pageKind[page] === 1 || this.isRamPage(page)) {
      const r = this.ram;
      r[address] = value;
      if (size >= 2) {
        r[address + 1] = value >> 8;
        if (size === 4) {
          r[address + 2] = value >> 16;
          r[address + 3] = value >> 24;
        }
      }
      if (this.codePages[page] !== 0) this.onCodeWrite(page);
      return;
    }
    if (this.apicAccess !== null && page === this.apicAccess.page) return this.apicAccess.write(address, size, value);
    this.bus.mmioWrite(address, size, value);
  }

  /** Debugger read of one byte: undefined outside RAM (MMIO reads have side effects). */
  peekPhysical(address: number): number | undefined {
    return address >= 0 && address < this.ramBytes ? this.ram[address] : undefined;
  }

  /** Debugger write of one byte into RAM; invalidates decoded code. Returns false outside RAM. */
  pokePhysical(address: number, value: number): boolean {
    if (address < 0 || address >= this.ramBytes) return false;
    this.ram[address] = value;
    if (this.codePages[address >>> 12] !== 0) this.onCodeWrite(address >>> 12);
    return true;
  }
}
