// The paravirtual engine (issue 5, technique 2): a Xen-style guest kernel in ring 1 that calls the VMM with
// hypercalls (`int 0x82`, ABI in ../hypercalls.ts and docs/vmm/hypercall-abi.md) instead of executing
// privileged instructions. It reuses the trap-and-emulate machinery for deprivileging, reflection and the
// transition/cost records, and adds: the ABI's flat ring-1/ring-3 selectors, the trap table (with fast
// system-call gates the CPU delivers straight to ring 1, never entering the VMM), the shared-info page with the
// event mask as the virtual IF, event channels with one-shot timers (VIRQ_TIMER), serial input (VIRQ_CONSOLE) and
// upcalls, the iret (with the failsafe callback for bad frames), console_io, sched_op and multicall hypercalls,
// and Xen direct paging (./paging.ts, ../memory/directPaging.ts): validated guest page tables under the real CR3.
// The event machinery's state outside guest RAM is one saved record (./eventState.ts), and everything the VMM does
// depends only on the instruction count and virtual time, not on slice boundaries (see sliceLimit/afterSlice), so
// reverse debugging replays a paravirtual run exactly on the debugger's one-instruction grid.

import type { CpuEventKind } from '../../cpu/cpu';
import { CPL, CR, Cr0, GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, TR_ACCESS, TR_BASE, TR_LIMIT, TR_SELECTOR } from '../../cpu/stateLayout';
import { CPU_HZ } from '../../machine/layout';
import type { Machine } from '../../machine/machine';
import type { EngineState, EngineStop } from '../engine';
import type { MemoryVirtualizationStats } from '../inspection';
import { ExitReason } from '../exitReasons';
import { HypercallConstants as K, HypercallError, hypercallLabel, PvSelectors, SharedInfoLayout as SI } from '../hypercalls';
import { guestLayerAtCpl, type Technique } from '../layers';
import { hypercallExit } from '../vmExit';
import { EflagsBit, SegmentRegister } from '../trapAndEmulate/guestAccess';
import { deliverToGuest } from '../trapAndEmulate/reflect';
import { TrapAndEmulateEngine, type TrapAndEmulateOptions } from '../trapAndEmulate/engine';
import { buildShadowGdt, buildVmmIdtAndTss, GDT_OFFSET, IDT_OFFSET, TSS_OFFSET, VMM_TSS } from '../trapAndEmulate/shadowTables';
import { DirectPaging } from '../memory/directPaging';
import { PvPaging } from './paging';
import { applyIretFrame, enterFailsafe } from './iretFrame';
import { SharedInfoPage } from './sharedInfo';
import { copyEventState, initialEventState, parseEventState, type PvEventState } from './eventState';

/** Where the paravirtual extras live in the VMM region (after the trap-and-emulate tables). */
const VIRTUAL_IDT_OFFSET = 0x5000; // the trap table as IDT gates
const CALLBACK_IDT_OFFSET = 0x5800; // one gate: the event callback
const VIRTUAL_TSS_OFFSET = 0x5900; // SS0:ESP0 from stack_switch, for reflections from ring 3
const FLAT_INDEX = 259; // FLAT_RING1_CS = 0x0819 → index 259 … FLAT_RING3_DS = 0x0833 → index 262
const VIRTUAL_TSS_SELECTOR = 263 * 8;
const PV_GDT_LIMIT = 264 * 8 - 1;
const MAX_MULTICALL_ENTRIES = 64;
const MAX_CONSOLE_BYTES = 4096;
const COM1 = 0x3f8;
/** With VIRQ_CONSOLE bound, the VMM looks at COM1 at least every this many guest instructions (and at every hypercall). */
const CONSOLE_POLL_INSTRUCTIONS = 10_000;

export class ParavirtualEngine extends TrapAndEmulateEngine {
  override readonly technique: Technique = 'paravirtual';
  private readonly shared: SharedInfoPage;
  private readonly paging: PvPaging;
  /** Event channels, callbacks, timer, block state: everything of the event machinery outside guest RAM (saved). */
  private ev: PvEventState = initialEventState();
  /** Retired count and virtual time when the current slice began (a slice that changed nothing ends quietly). */
  private sliceStartRetired = -1;
  private sliceStartCycles = -1;
  /** The current slice began with an upcall waiting only for the event mask (see sliceLimit). */
  private windowOpen = false;
  /** The current slice or step ended in a VMM entry (a CPU event the VMM handled or started a handler for). */
  private eventInSlice = false;

  constructor(machine: Machine, options: TrapAndEmulateOptions) {
    super(machine, options);
    this.shared = new SharedInfoPage(machine.memory.ram);
    const region = this.vmmRegion;
    // One VMM page table per directory slot the region touches, from the region's own page allocator.
    const vmmTableAddresses = Array.from({ length: DirectPaging.vmmSlotCount(region.base, region.size) }, (_, i) => region.allocatePage() ?? region.base + region.size - 0x1000 * (i + 1));
    const tables = new DirectPaging(this.memory, { ramBytes: machine.memory.ram.length, vmmBase: region.base, vmmSize: region.size, vmmTableAddresses });
    this.paging = new PvPaging(tables, this.cpu, this.guest, this.vcpu);
  }

  /** Direct paging counters (scheme 'none' until the guest's first new_baseptr turns paging on). */
  memoryStats(): MemoryVirtualizationStats {
    return { scheme: (this.cpu.s[CR]! & Cr0.PG) !== 0 ? 'direct-paging' : 'none', counters: { ...this.paging.tables.counters } };
  }

  /** The trap-and-emulate state plus direct paging and the event machinery (./eventState.ts). */
  override saveState(): EngineState {
    const base = super.saveState();
    const events: PvEventState = { ...copyEventState(this.ev), sharedInfoAddress: this.shared.address };
    return { ...base, extra: { ...(base.extra as object | undefined), directPaging: this.paging.tables.toJSON(), events } };
  }

  override loadState(state: EngineState): void {
    super.loadState(state);
    const extra = state.extra as { directPaging?: ReturnType<DirectPaging['toJSON']>; events?: unknown } | undefined;
    if (extra?.directPaging !== undefined) this.paging.tables.restore(extra.directPaging);
    if (extra?.events !== undefined) {
      this.ev = parseEventState(extra.events);
      this.shared.address = this.ev.sharedInfoAddress;
    }
    this.pending = null; // states are saved between runs, with no CPU event waiting for the VMM
  }

  /** The guest enters at CPL 1 with the ABI's flat selectors, events masked. */
  override attach(): EngineStop | undefined {
    const s = this.cpu.s;
    buildShadowGdt(this.memory, this.vmmBase, 0, 0); // no guest descriptors: a PV guest uses the ABI's flat selectors
    buildVmmIdtAndTss(this.memory, this.vmmBase);
    const gdt = this.vmmBase + GDT_OFFSET;
    const limitField = ((this.vmmBase >>> 12) - 1) & 0xfffff; // flat segments end below the VMM region
    const flat = (index: number, access: number) => {
      this.memory.write32(gdt + index * 8, (limitField & 0xffff) >>> 0);
      this.memory.write32(gdt + index * 8 + 4, ((access << 8) | (limitField & 0xf0000) | (0xc << 20)) >>> 0);
    };
    flat(FLAT_INDEX, 0xba); // ring-1 code
    flat(FLAT_INDEX + 1, 0xb2); // ring-1 data
    flat(FLAT_INDEX + 2, 0xfa); // ring-3 code
    flat(FLAT_INDEX + 3, 0xf2); // ring-3 data
    const vtss = this.vmmBase + VIRTUAL_TSS_OFFSET;
    this.memory.write32(gdt + VIRTUAL_TSS_SELECTOR, (((vtss & 0xffff) << 16) | 103) >>> 0);
    this.memory.write32(gdt + VIRTUAL_TSS_SELECTOR + 4, (((vtss >>> 16) & 0xff) | 0x8900 | (vtss & 0xff000000)) >>> 0);
    s[GDTR_BASE] = gdt;
    s[GDTR_LIMIT] = PV_GDT_LIMIT;
    s[IDTR_BASE] = this.vmmBase + IDT_OFFSET;
    s[IDTR_LIMIT] = 0x7ff;
    s[TR_SELECTOR] = VMM_TSS;
    s[TR_BASE] = this.vmmBase + TSS_OFFSET;
    s[TR_LIMIT] = 103;
    s[TR_ACCESS] = 0x8b;
    const v = this.vcpu;
    v.gdtr = { base: gdt, limit: PV_GDT_LIMIT };
    v.idtr = { base: this.vmmBase + VIRTUAL_IDT_OFFSET, limit: 0x7ff };
    v.tr = VIRTUAL_TSS_SELECTOR;
    v.interruptFlag = false;
    v.cpl = 0;
    for (let offset = 0; offset < 0x800; offset += 4) this.memory.write32(v.idtr.base + offset, 0);
    if (!this.guest.loadSegment(SegmentRegister.CS, PvSelectors.FLAT_RING1_CS)) return { kind: 'stop', message: 'cannot load FLAT_RING1_CS' };
    for (const segment of [SegmentRegister.SS, SegmentRegister.DS, SegmentRegister.ES, SegmentRegister.FS, SegmentRegister.GS]) {
      this.guest.loadSegment(segment, PvSelectors.FLAT_RING1_DS);
    }
    this.guest.setEflags((this.guest.getEflags() & ~EflagsBit.IOPL) | EflagsBit.IF);
    this.cpu.blocks.clear();
    this.installHook();
    this.attached = true;
    return undefined;
  }

  /** Fast-trap vectors are delivered by the CPU itself (real DPL-3 gates to ring 1): no VMM entry. */
  protected override intercept(kind: CpuEventKind, code: number, errorCode: number): boolean {
    if (kind === 'software-interrupt' && this.ev.fastVectors.includes(code)) return false;
    return super.intercept(kind, code, errorCode);
  }

  /** The guest unmasks events with a plain store to shared info (no VMM entry): pending events need a window. */
  protected override virtualIfChangesWithoutExit(): boolean {
    return true;
  }

  /** The virtual IF of a PV guest is the inverse of the shared-info event mask. */
  protected override syncFromRealCpu(): void {
    this.vcpu.cpl = this.cpu.s[CPL]! === 3 ? 3 : 0;
    this.vcpu.interruptFlag = this.shared.mask === 0 || this.vcpu.cpl === 3;
  }

  /** A page fault reaches a PV guest with CR2 in the shared-info page (MOV from CR2 is privileged at CPL 1). */
  protected override startPending(): EngineStop | undefined {
    this.eventInSlice = true;
    if (this.pending?.kind === 'exception' && this.pending.code === 14) {
      this.vcpu.cr2 = this.cpu.s[CR + 2]! >>> 0;
      this.shared.setCr2(this.vcpu.cr2);
    }
    return super.startPending();
  }

  protected override handlePending(): ReturnType<TrapAndEmulateEngine['run']> | undefined {
    this.eventInSlice = true; // the slice ended in a VMM entry: no end-of-slice look (as the run loop does)
    const event = this.pending;
    if (event?.kind === 'software-interrupt' && event.code === 0x82) {
      this.pending = null;
      return this.hypercall();
    }
    if (event?.kind === 'external-interrupt') {
      this.pending = null; // physical PC interrupts are not forwarded to a PV guest (it has event channels)
      return undefined;
    }
    return super.handlePending();
  }

  protected override handlesItself(vector: number): boolean {
    return vector === 0x82;
  }

  /** Events instead of vectors: an upcall when a port is pending and the mask is clear. */
  protected override injectPending(): EngineStop | undefined {
    return this.deliverUpcall();
  }

  /**
   * Slices end exactly where an event may arise, so the full-speed run and the debugger's one-instruction
   * replay grid (reverse debugging) see every event at the same instruction: at the timer deadline, at each
   * multiple of CONSOLE_POLL_INSTRUCTIONS retired while VIRQ_CONSOLE is bound, and after every instruction
   * while an upcall waits only for the event mask, which the guest clears with a plain store (PV_STI, no VMM
   * entry: the software analogue of an interrupt window).
   */
  protected override sliceLimit(): number {
    const retired = this.cpu.retired;
    this.beginSlice();
    if (this.windowOpen || this.consolePollDue(retired)) return 1;
    let limit = this.ev.consolePort >= 0 ? CONSOLE_POLL_INSTRUCTIONS - (retired % CONSOLE_POLL_INSTRUCTIONS) : Number.POSITIVE_INFINITY;
    if (this.ev.timerDeadlineNs !== 0) {
      const cycles = Math.ceil((this.ev.timerDeadlineNs * CPU_HZ) / 1e9) - this.machine.now();
      limit = Math.min(limit, Math.max(1, Math.ceil(cycles / this.machine.recipe.cyclesPerInstruction)));
    }
    return limit;
  }

  /**
   * The VMM's look at the end of a slice: the timer, the console poll, and the upcall that a cleared event
   * mask made deliverable. Nothing happens after a slice that ran nothing, nor while a CPU event the debugger
   * holds back waits to be handled (an upcall then would move EIP under it); everything else here depends only
   * on the instruction count and virtual time, never on where a slice happened to end.
   */
  protected override afterSlice(): EngineStop | undefined {
    const retired = this.cpu.retired;
    if (this.pending !== null || (retired === this.sliceStartRetired && this.machine.now() === this.sliceStartCycles)) return undefined;
    let raised = false;
    if (this.ev.timerDeadlineNs !== 0 && this.systemTimeNs() >= this.ev.timerDeadlineNs) {
      this.ev.timerDeadlineNs = 0;
      this.updateSystemTime();
      if (this.ev.timerPort >= 0) raised = this.raiseEvent(this.ev.timerPort, 'VIRQ_TIMER');
    }
    if (this.consolePollDue(retired)) {
      this.ev.consolePollBlock = Math.floor(retired / CONSOLE_POLL_INSTRUCTIONS);
      raised = this.pollConsole() || raised;
    }
    return raised || this.windowOpen ? this.deliverUpcall() : undefined;
  }

  /** Notes where a slice (or a debugger step) begins, for afterSlice. */
  private beginSlice(): void {
    this.sliceStartRetired = this.cpu.retired;
    this.sliceStartCycles = this.machine.now();
    this.windowOpen = this.upcallWaitsForEventMask();
    this.eventInSlice = false;
  }

  /**
   * A debugger step is one instruction of the replay grid too: a blocked guest's step is its wake-up (the
   * upcall's first instruction is shown before it runs; run(1) wakes and runs it at once), and after an instruction that did not enter the VMM the end-of-slice look runs (timer,
   * console, the upcall a cleared event mask allows), so single-stepping meets timer upcalls exactly where
   * the full-speed run and the reverse-debugging replay do. A VMM handler in progress steps as under
   * trap-and-emulate.
   */
  override step(): EngineStop {
    if (this.active !== null || !this.attached) return super.step();
    if (this.ev.blocked) {
      const woke = this.idle(); // the wake-up (time skipped, upcall delivered) is the whole step
      if (woke !== 'no') return woke === 'yes' ? { kind: 'step-done' } : woke;
    }
    this.beginSlice();
    const stop = super.step();
    if (stop.kind !== 'step-done' || this.eventInSlice || this.active !== null) return stop;
    return this.afterSlice() ?? stop;
  }

  /** An upcall is due and held back only by the event mask (a store away from delivery). */
  private upcallWaitsForEventMask(): boolean {
    return this.shared.registered && this.ev.eventCallback !== 0 && !this.ev.blocked && this.shared.mask !== 0 &&
      this.shared.byte(SI.UPCALL_PENDING) !== 0 && this.shared.deliverable !== 0;
  }

  /** VIRQ_CONSOLE is bound and the instruction count passed a poll point not yet polled. */
  private consolePollDue(retired: number): boolean {
    return this.ev.consolePort >= 0 && Math.floor(retired / CONSOLE_POLL_INSTRUCTIONS) > this.ev.consolePollBlock;
  }

  /** VIRQ_CONSOLE: serial input waiting in COM1 raises the bound port (once until the guest clears it). */
  private pollConsole(): boolean {
    if (this.ev.consolePort < 0 || (this.machine.ports.read(COM1 + 5, 1) & 1) === 0) return false;
    if ((this.shared.pending & (1 << this.ev.consolePort)) === 0) this.raiseEvent(this.ev.consolePort, 'VIRQ_CONSOLE');
    return true;
  }

  /** sched_op(block): skip virtual time to the timer deadline, raise the event, deliver it. */
  protected override idle(): 'no' | 'yes' | EngineStop {
    if (!this.ev.blocked) return 'no';
    if (this.shared.pending !== 0) {
      this.ev.blocked = false;
      return this.deliverUpcall() ?? 'yes';
    }
    if (this.pollConsole()) {
      this.ev.blocked = false;
      return this.deliverUpcall() ?? 'yes';
    }
    if (this.ev.timerDeadlineNs === 0) return { kind: 'stop', message: 'sched_op(block) with no timer armed and no event source: the guest would sleep forever' };
    const target = Math.ceil((this.ev.timerDeadlineNs * CPU_HZ) / 1e9);
    this.machine.addCycles(target - this.machine.now());
    this.ev.blocked = false;
    this.updateSystemTime();
    this.ev.timerDeadlineNs = 0;
    if (this.ev.timerPort >= 0) this.raiseEvent(this.ev.timerPort, 'VIRQ_TIMER');
    return this.deliverUpcall() ?? 'yes';
  }

  // ---- hypercalls ---------------------------------------------------------------------------------

  private hypercall(): EngineStop | undefined {
    this.syncFromRealCpu();
    const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
    this.reconcileStack(layer);
    const number = this.guest.getGpr(0);
    const reason = hypercallLabel(number);
    const instruction = this.faultingInstruction(true);
    const args = [3, 1, 2, 6, 7].map((register) => this.guest.getGpr(register));
    this.record(layer, 'vmm', 'hypercall', reason, ['hypercall'], instruction, {
      exitReason: ExitReason.Vmcall,
      hypercall: number,
      ebx: args[0]!, ecx: args[1]!, edx: args[2]!, esi: args[3]!, edi: args[4]!,
    });
    this.dispatcher.count(hypercallExit({ source: 'hypercall', cpl: this.cpu.s[CPL]! }, number)); // a VMCALL, reason 18
    if (layer !== 'guest-kernel') return this.finishHypercall(layer, reason, HypercallError.EPERM);
    this.charge('vmm', reason, 'vmmEntry');
    this.updateSystemTime(); // the VMM refreshes system time whenever the guest enters it (and at upcalls)
    this.ev.hypercallProblem = '';
    const result = this.perform(number, args, reason);
    if (typeof result === 'object') return result;
    if (result === 'no-return') return this.deliverUpcall();
    if (this.ev.blocked) {
      // sched_op(block): the VMM keeps the CPU until an event arrives (idle() skips virtual time to it).
      this.guest.setGpr(0, 0);
      this.charge('vmm', reason, 'vmmExit');
      return undefined;
    }
    return this.finishHypercall(layer, reason, result);
  }

  private finishHypercall(layer: 'guest-kernel' | 'guest-user' | string, reason: string, result: number): EngineStop | undefined {
    this.guest.setGpr(0, result >>> 0);
    this.pollConsole();
    this.charge('vmm', reason, 'vmmExit');
    const why = result < 0 && this.ev.hypercallProblem !== '' ? ` (${this.ev.hypercallProblem})` : '';
    this.record('vmm', layer === 'guest-user' ? 'guest-user' : 'guest-kernel', 'resume', `return from ${reason}: eax = ${result | 0}${why}`, [], undefined, { result: result | 0 });
    return this.deliverUpcall();
  }

  /** Performs one hypercall; returns EAX, 'no-return' (iret), or a stop. */
  private perform(number: number, args: readonly number[], reason: string): number | 'no-return' | EngineStop {
    const [ebx = 0, ecx = 0, edx = 0, esi = 0] = args;
    this.charge('vmm', reason, 'emulationStep');
    switch (number) {
      case 0: return this.setTrapTable(ebx);
      case 1: return this.pagingResult(this.paging.mmuUpdate(ebx, ecx, edx, esi), reason);
      case 14: return this.pagingResult(this.paging.updateVaMapping(ebx, ecx, edx), reason);
      case 26: return this.pagingResult(this.paging.mmuextOp(ebx, ecx, edx, esi), reason);
      case 3: {
        if ((ebx & 3) !== 1) return HypercallError.EINVAL;
        const vtss = this.vmmBase + VIRTUAL_TSS_OFFSET;
        this.memory.write32(vtss + 4, ecx);
        this.memory.write32(vtss + 8, ebx & 0xffff);
        const tss = this.vmmBase + TSS_OFFSET; // the real TSS's ring-1 stack, for fast traps the CPU delivers
        this.memory.write32(tss + 12, ecx);
        this.memory.write32(tss + 16, ebx & 0xffff);
        return 0;
      }
      case 4:
        if ((edx & 0xfff) !== 0 || edx + SI.SIZE > this.vmmBase) return HypercallError.EINVAL;
        this.ev.eventCallback = ebx;
        this.ev.failsafeCallback = ecx;
        if (!this.shared.registered) {
          this.shared.address = edx;
          this.shared.mask = 1; // the virtual IF stays 0 (the guest was entered with events masked) until it unmasks
        } else {
          this.shared.address = edx;
        }
        this.writeGate(this.vmmBase + CALLBACK_IDT_OFFSET, PvSelectors.FLAT_RING1_CS, ebx, 0x8e);
        this.updateSystemTime();
        return 0;
      case 13: return this.multicall(ebx, ecx, reason);
      case 15:
        this.ev.timerDeadlineNs = ebx + ecx * 0x100000000;
        return 0;
      case 17:
        if (ebx === K.XENVER_platform_parameters) return this.paging.tables.hypervisorVirtStart;
        return ebx === K.XENVER_version ? K.ABI_VERSION : HypercallError.ENOSYS;
      case 18: return this.consoleIo(ebx, ecx, edx);
      case 23: return this.iret();
      case 29: return this.schedOp(ebx, ecx, edx);
      case 32: return this.eventChannelOp(ebx, ecx);
      default: return HypercallError.ENOSYS;
    }
  }

  /** A paging hypercall's EAX; a refusal keeps its reason for the trace (the guest sees only the errno). */
  private pagingResult(result: number, reason: string): number {
    if (result < 0) {
      this.ev.hypercallProblem = this.paging.lastProblem;
      this.charge('vmm', reason, 'emulationStep');
    }
    return result;
  }

  private setTrapTable(table: number): number {
    for (let entry = 0; entry < 256; entry++) {
      const address = table + entry * 8;
      const head = this.guest.readLinear(address, 4);
      const handler = this.guest.readLinear(address + 4, 4);
      if (head === undefined || handler === undefined) return HypercallError.EFAULT;
      if (handler === 0) return 0;
      const vector = head & 0xff;
      const flags = (head >>> 8) & 0xff;
      const cs = head >>> 16;
      if ((cs & 3) === 0 || (cs & 3) === 2) return HypercallError.EINVAL;
      const dpl = flags & K.TI_DPL_MASK;
      const gateType = (flags & K.TI_MASK_EVENTS) !== 0 ? 0xe : 0xf;
      this.writeGate(this.vcpu.idtr.base + vector * 8, cs, handler, 0x80 | (dpl << 5) | gateType);
      if ((flags & K.TI_FAST) !== 0) {
        if (dpl !== 3 || vector < 32) return HypercallError.EINVAL;
        this.writeGate(this.vmmBase + IDT_OFFSET + vector * 8, cs, handler, 0xef); // real DPL-3 trap gate to ring 1
        if (!this.ev.fastVectors.includes(vector)) this.ev.fastVectors.push(vector);
      }
    }
    return HypercallError.EINVAL;
  }

  private consoleIo(cmd: number, count: number, buffer: number): number | EngineStop {
    if (cmd === K.CONSOLEIO_read) return this.consoleRead(count, buffer);
    if (cmd !== K.CONSOLEIO_write) return HypercallError.ENOSYS;
    if (count > MAX_CONSOLE_BYTES) return HypercallError.EINVAL;
    const bytes: number[] = [];
    for (let i = 0; i < count; i++) {
      const byte = this.guest.readLinear(buffer + i, 1);
      if (byte === undefined) return HypercallError.EFAULT;
      bytes.push(byte);
    }
    // The console is COM1; the bytes reach it at the hop that performs the access (../io/devicePath.ts).
    this.recordIoPath(`console_io write ${count} bytes`, () => { for (const byte of bytes) this.machine.ports.write(0x3f8, 1, byte); });
    return count;
  }

  /** CONSOLEIO_read: up to `count` bytes of pending serial input (COM1's receive buffer), 0 when none. */
  private consoleRead(count: number, buffer: number): number {
    if (count > MAX_CONSOLE_BYTES) return HypercallError.EINVAL;
    let read = 0;
    while (read < count && (this.machine.ports.read(COM1 + 5, 1) & 1) !== 0) {
      // Probe the destination first (rewrite its own value): a byte taken from the UART must never be lost.
      const old = this.guest.readLinear(buffer + read, 1);
      if (old === undefined || !this.guest.writeLinear(buffer + read, 1, old)) return read === 0 ? HypercallError.EFAULT : read;
      this.guest.writeLinear(buffer + read, 1, this.machine.ports.read(COM1, 1));
      read++;
    }
    if (read > 0) this.recordIoPath(`console_io read ${read} bytes`);
    return read;
  }

  private schedOp(cmd: number, reason: number, status: number): number | EngineStop {
    switch (cmd) {
      case K.SCHEDOP_yield:
        return 0;
      case K.SCHEDOP_block:
        this.shared.mask = 0;
        this.ev.blocked = true;
        return 0;
      case K.SCHEDOP_shutdown:
        this.machine.ports.write(0xf4, 4, reason === K.SHUTDOWN_crash ? status | 1 : status); // the same exit path as native
        return 0;
      default:
        return HypercallError.ENOSYS;
    }
  }

  private eventChannelOp(cmd: number, arg: number): number {
    switch (cmd) {
      case K.EVTCHNOP_bind_virq:
        if ((arg !== K.VIRQ_TIMER && arg !== K.VIRQ_CONSOLE) || this.ev.nextPort > 31) return HypercallError.EINVAL;
        if (arg === K.VIRQ_TIMER) this.ev.timerPort = this.ev.nextPort++;
        else {
          this.ev.consolePort = this.ev.nextPort++;
          this.ev.consolePollBlock = Math.floor(this.cpu.retired / CONSOLE_POLL_INSTRUCTIONS); // first poll at the next multiple
        }
        return arg === K.VIRQ_TIMER ? this.ev.timerPort : this.ev.consolePort;
      case K.EVTCHNOP_send:
        if (arg < 0 || arg > 31) return HypercallError.EINVAL;
        this.raiseEvent(arg, `port ${arg}`);
        return 0;
      case K.EVTCHNOP_unmask:
        if (arg < 0 || arg > 31 || !this.shared.registered) return HypercallError.EINVAL;
        this.shared.unmask(arg);
        return 0;
      case K.EVTCHNOP_close:
        if (arg === this.ev.timerPort) this.ev.timerPort = -1;
        if (arg === this.ev.consolePort) this.ev.consolePort = -1;
        return 0;
      default:
        return HypercallError.ENOSYS;
    }
  }

  private multicall(calls: number, count: number, reason: string): number | EngineStop {
    if (count > MAX_MULTICALL_ENTRIES) return HypercallError.EINVAL;
    for (let i = 0; i < count; i++) {
      const entry = calls + i * 32;
      const op = this.guest.readLinear(entry, 4);
      if (op === undefined || op === 13 || op === 23) return HypercallError.EINVAL;
      const args = [0, 1, 2, 3, 4].map((n) => this.guest.readLinear(entry + 8 + n * 4, 4) ?? 0);
      const result = this.perform(op, args, reason);
      if (typeof result === 'object') return result;
      this.guest.writeLinear(entry + 4, 4, (result === 'no-return' ? 0 : result) >>> 0);
    }
    return 0;
  }

  /** The iret hypercall (./iretFrame.ts); a bad frame goes to the failsafe callback. */
  private iret(): 'no-return' | EngineStop {
    const outcome = applyIretFrame(this.guest, this.shared);
    if (outcome.kind === 'invalid') return this.failsafe(outcome.problem);
    this.vcpu.cpl = outcome.toUser ? 3 : 0;
    this.charge('vmm', hypercallLabel(23), 'vmmExit');
    this.record('vmm', outcome.toUser ? 'guest-user' : 'guest-kernel', 'resume', `iret hypercall to ${outcome.toUser ? 'ring 3' : 'the kernel'} at 0x${outcome.eip.toString(16)}`, [], undefined, {});
    this.popHandlerFrame();
    return 'no-return';
  }

  /** Without a failsafe callback the guest is stopped, as Xen crashes a domain that has none. */
  private failsafe(problem: string): 'no-return' | EngineStop {
    if (this.ev.failsafeCallback === 0) return { kind: 'stop', message: `iret hypercall with an invalid frame (${problem}) and no failsafe callback registered` };
    if (!enterFailsafe(this.guest, this.shared, this.ev.failsafeCallback)) return { kind: 'stop', message: 'cannot enter the failsafe callback' };
    this.vcpu.cpl = 0;
    this.record('vmm', 'guest-kernel', 'fault-reflection', `iret hypercall with an invalid frame (${problem}): failsafe callback at 0x${this.ev.failsafeCallback.toString(16)}`, ['vmmExit'], undefined, {});
    return 'no-return';
  }

  // ---- events -------------------------------------------------------------------------------------

  /** Marks `port` pending (the upcall becomes due); false before the shared-info page exists. */
  private raiseEvent(port: number, what: string): boolean {
    if (!this.shared.registered) return false;
    this.shared.raise(port);
    this.ev.lastEvent = `port ${port}, ${what}`;
    return true;
  }

  private deliverUpcall(): EngineStop | undefined {
    if (!this.shared.registered || this.ev.eventCallback === 0 || this.ev.blocked) return undefined;
    if (this.shared.byte(SI.UPCALL_PENDING) === 0 || this.shared.mask !== 0 || this.shared.deliverable === 0) return undefined;
    this.vcpu.cpl = this.cpu.s[CPL]! === 3 ? 3 : 0;
    this.vcpu.interruptFlag = true;
    const from = this.layerStack.current;
    if (from !== 'vmm') this.record(from, 'vmm', 'trap', `VMM regains control: ${this.ev.lastEvent} pending`, [], undefined, {});
    const saved = this.vcpu.idtr;
    this.vcpu.idtr = { base: this.vmmBase + CALLBACK_IDT_OFFSET, limit: 7 };
    const result = deliverToGuest(this.guest, this.vcpu, 0, -1, 'external-interrupt');
    this.vcpu.idtr = saved;
    if (!result.ok) return { kind: 'stop', message: `cannot deliver the event upcall: ${result.problem}` };
    this.shared.mask = 1;
    this.updateSystemTime();
    this.record('vmm', 'guest-kernel', 'interrupt-injection', `event upcall (${this.ev.lastEvent})`, ['interruptInjection'], undefined, {});
    return undefined;
  }

  private writeGate(address: number, selector: number, handler: number, typeAttributes: number): void {
    this.memory.write32(address, ((handler & 0xffff) | (selector << 16)) >>> 0);
    this.memory.write32(address + 4, ((handler & 0xffff0000) | (typeAttributes << 8)) >>> 0);
  }

  private systemTimeNs(): number {
    return Math.floor((this.machine.now() * 1e9) / CPU_HZ);
  }

  private updateSystemTime(): void {
    if (this.shared.registered) this.shared.setSystemTime(this.systemTimeNs());
  }
}
