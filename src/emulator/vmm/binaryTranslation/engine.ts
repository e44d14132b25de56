// The binary-translation engine (issue 6, technique `binary-translation`; VMware's BT as Adams & Agesen,
// ASPLOS 2006 §3 describe it). It inherits trap-and-emulate's deprivileging (guest kernel at ring 1 under
// VMM-owned GDT/IDT/TSS), reflection and privileged-instruction handlers, and adds: guest kernel code never
// runs directly — it is translated on demand, one unit at a time, into the translation cache (layout.ts,
// translator.ts, translationCache.ts) and the CPU runs the translation; guest user code (CPL 3) runs directly.
// Sensitive instructions become callouts (an `int 0xbc` in the TC recognised by its address) into the VMM's
// emulation (callouts.ts) or trap-and-emulate's handlers; exits are chained; indirect branches, far transfers
// and software interrupts run in place at their guest address and the target's translation is looked up; a
// write that changes translated guest bytes invalidates those translations; an IDENT store that keeps hitting
// pages with translated code is adaptively re-translated into a callout. Every translation, chaining and
// callout is a transition with costs (btTranslate, btCallout, btIndirectBranch).

import { CPL, CR, CpuMode, EIP, GDTR_BASE, GDTR_LIMIT, MODE, SEG_LIMIT, SEG_RIGHTS, SEG_SELECTOR, SegmentRight } from '../../cpu/stateLayout';
import type { Machine, MachineStop } from '../../machine/machine';
import type { CostParameter } from '../costModel';
import type { EngineState, EngineStop } from '../engine';
import { ExitReason } from '../exitReasons';
import { HandlerExecution, type HandlerExecutionState } from '../handlerSteps';
import type { TranslationCacheInfo } from '../inspection';
import { guestLayerAtCpl, type Technique } from '../layers';
import { SegmentRegister, type GuestInstruction } from '../trapAndEmulate/guestAccess';
import { classifyTrap, type TrapContext } from '../trapAndEmulate/handlers';
import { TrapAndEmulateEngine, type TrapAndEmulateOptions } from '../trapAndEmulate/engine';
import { GDT_OFFSET, VMM_REGION_SIZE } from '../trapAndEmulate/shadowTables';
import { exceptionExit, type VmExit } from '../vmExit';
import { emulationCallout } from './callouts';
import { BT_GDT_LIMIT, installTcDescriptor, TC_CODE_SELECTOR, translationCacheSize } from './layout';
import { TcBreakpoints } from './tcBreakpoints';
import { APIC_BASE, APIC_PAGE_SIZE, APIC_TPR, apicMove, apicOffset, rollbackInlineTpr } from './apicAccess';
import { prefixLength } from './classify';
import { DecodedInstruction, decodeInstruction } from '../../isa/decoder';
import { translationSteps } from './translationSteps';
import { TranslationCache, type CalloutSite, type Translation, type TranslationCacheState } from './translationCache';
import { translateUnit, type UnitPlan } from './translator';

/** Writes from one translated instruction to pages holding translations before it becomes a callout (A&A §3.2). */
export const ADAPTIVE_THRESHOLD = 8;

type ActiveHandler = NonNullable<TrapAndEmulateEngine['active']>;

const apicDecoded = new DecodedInstruction();

interface GuestCodeMode {
  readonly selector: number;
  readonly base: number;
  readonly limit: number;
}

/** A translation in progress (the debugger can step through its named steps). */
interface PendingTranslation {
  readonly execution: HandlerExecution<TranslationWork>;
  readonly work: TranslationWork;
}

export interface TranslationWork {
  readonly startEip: number;
  readonly mode: GuestCodeMode;
  readonly key: number;
  /** The exit slot to chain once the unit exists, when the translation was caused by an unchained exit. */
  readonly chainFrom?: { readonly translation: Translation; readonly exit: number };
  plan?: UnitPlan;
  translation?: Translation;
  problem?: string;
  readonly notes: string[];
}

export class BinaryTranslationEngine extends TrapAndEmulateEngine {
  override readonly technique: Technique = 'binary-translation';
  /** First byte of the translation cache (the guest's segments end below it). */
  readonly tcBase: number;
  readonly cache: TranslationCache;
  /** The guest's code segment while the CPU runs translated code (real CS is then the TC code segment). */
  private guestMode: GuestCodeMode = { selector: 0, base: 0, limit: 0 };
  private inPlaceArmed = false;
  private inPlaceSlice = false;
  private translating: PendingTranslation | null = null;
  private readonly adaptive = new Set<number>();
  private readonly writeCounts = new Map<number, number>();
  /** Debugger breakpoints, mirrored onto the TC addresses of translated guest instructions (tcBreakpoints.ts). */
  private readonly breakpoints: TcBreakpoints;
  /** Stores that kept taking tracing faults on guest page tables, and the count per store so far. */
  private readonly pageTableWriters = new Set<number>();
  private readonly tracingCounts = new Map<number, number>();
  /** VMM page holding the virtual TPR (at APIC_TPR), reached by inline TPR updates through the TC data segment. */
  private readonly virtualApicPage: number | undefined;
  /** TPR stores that kept faulting on the APIC page (inline virtual-TPR updates), and the faults per store so far. */
  private readonly tprWriters = new Set<number>();
  private readonly apicFaultCounts = new Map<number, number>();
  /** The virtual TPR value last written to the machine's local APIC. */
  private syncedTpr = 0;

  constructor(machine: Machine, options: TrapAndEmulateOptions) {
    const regionSize = options.vmmRegionSize ?? VMM_REGION_SIZE;
    const tcSize = translationCacheSize(machine.memory.ram.length, regionSize);
    super(machine, { ...options, vmmRegionSize: regionSize + tcSize }); // the TC comes on top of what T&E needs
    // The TC is the first run of pages the VMM region's allocator hands out (contiguous: it starts empty).
    const pages: number[] = [];
    for (let n = 0; n < tcSize / 4096; n++) {
      const page = this.vmmRegion.allocatePage();
      if (page === undefined || (pages.length > 0 && page !== pages[pages.length - 1]! + 4096)) break;
      pages.push(page);
    }
    this.tcBase = pages[0] ?? this.vmmBase;
    this.virtualApicPage = this.vmmRegion.allocatePage(); // the virtual TPR of inline updates (apicAccess.ts)
    this.cache = new TranslationCache(machine.memory.ram, this.tcBase, pages.length * 4096, (page) => this.cpu.blocks.invalidatePage(page));
    this.breakpoints = this.followBreakpoints();
    const previous = this.cpu.mmu.onCodeWrite;
    this.cpu.mmu.onCodeWrite = (page) => {
      previous(page);
      this.onGuestCodeWrite(page);
    };
  }

  /**
   * Debugger breakpoints are CPU breakpoints on guest linear addresses, which translated code never executes:
   * the engine wraps the CPU's setBreakpoint/clearBreakpoint (calling the originals, which serve guest user
   * code and instructions run in place) and mirrors each onto the TC addresses of the translated instruction
   * (tcBreakpoints.ts), so translations stay as they are. Breakpoints set before the engine existed are not
   * seen (set them after creating the engine).
   */
  private followBreakpoints(): TcBreakpoints {
    const cpu = this.cpu;
    const set = cpu.setBreakpoint.bind(cpu);
    const clear = cpu.clearBreakpoint.bind(cpu);
    const mirror = new TcBreakpoints({ set, clear });
    cpu.setBreakpoint = (linear: number) => {
      set(linear);
      mirror.guest.add(linear >>> 0);
      mirror.invalidate();
    };
    cpu.clearBreakpoint = (linear: number) => {
      clear(linear);
      if (mirror.guest.delete(linear >>> 0)) mirror.invalidate();
    };
    return mirror;
  }

  /** Places the mirrored breakpoints on the TC as it is now (cheap when nothing changed). */
  private syncBreakpoints(): void {
    this.breakpoints.sync(() => this.cache.fragments(), this.cache.generation, this.tcSegmentBase());
  }

  override attach(): EngineStop | undefined {
    const problem = super.attach();
    if (problem !== undefined) return problem;
    if (this.cache.size === 0) return { kind: 'stop', message: 'binary translation: no room for a translation cache in the VMM region' };
    this.installTables();
    return undefined;
  }

  /** The TC code segment follows trap-and-emulate's VMM descriptors in the shadow GDT. */
  private installTables(): void {
    const base = this.tcSegmentBase();
    installTcDescriptor(this.memory, this.vmmBase + GDT_OFFSET, base, this.virtualApicPage === undefined ? undefined : (base + this.virtualApicPage) >>> 0);
    this.cpu.s[GDTR_LIMIT] = BT_GDT_LIMIT;
  }

  /**
   * Where the CPU sees the VMM region minus where it is in RAM: 0 while they coincide; when trap-and-emulate
   * moves its linear window (guest paging), the real GDTR follows it, so the distance is read from there.
   */
  private tcSegmentBase(): number {
    return ((this.cpu.s[GDTR_BASE]! >>> 0) - GDT_OFFSET - this.vmmBase) >>> 0;
  }

  protected override rebuildShadowGdt(): void {
    super.rebuildShadowGdt();
    this.installTables();
  }

  // ---- where the guest runs: translated code for the kernel, directly for user code ----------------------

  /**
   * Trap-and-emulate's run loop without its interrupt window: translated kernel code changes the virtual IF
   * only in callouts (cli, sti, popf, iret), after which the VMM injects what is pending, so the guest never has
   * to be single-stepped while an interrupt waits (VMware's BT needs no interrupt-window exits either).
   */
  override run(budget: number): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    this.syncBreakpoints();
    if (this.translating !== null) {
      const stop = this.finishTranslation(true);
      if (stop !== undefined) return stop;
    }
    if (this.active !== null) {
      const finished = this.completeActive();
      if (finished !== undefined) return finished;
    }
    let remaining = budget;
    while (remaining > 0) {
      const idle = this.idle();
      if (idle !== 'no') {
        if (idle !== 'yes') return idle;
        continue;
      }
      const inPlace = this.inPlaceSlice;
      const layer = guestLayerAtCpl(this.cpu.s[CPL]!);
      const before = this.cpu.retired;
      const stop = this.machine.run(Math.max(1, Math.min(remaining, this.sliceLimit())));
      const ran = this.cpu.retired - before;
      this.ledger.chargeInstructions(layer, ran, this.options.costModel.cycles('instruction'));
      remaining -= Math.max(ran, 1);
      if (stop.reason === 'cpu-event') {
        const problem = this.handlePending();
        if (problem !== undefined) return problem;
        continue;
      }
      const timed = this.afterSlice();
      if (timed !== undefined) return timed;
      if (inPlace && stop.reason === 'budget') {
        // An instruction run in place may have changed the privilege level or the virtual IF (iret to ring 3).
        this.syncFromRealCpu();
        const problem = this.injectPending('virtual IF is 1');
        if (problem !== undefined) return problem;
        continue;
      }
      if (stop.reason !== 'budget') return this.machineStop(stop);
    }
    return { kind: 'budget' };
  }

  override step(): EngineStop {
    if (!this.attached) {
      const problem = this.attach();
      if (problem !== undefined) return problem;
    }
    this.syncBreakpoints();
    if (this.translating !== null) return this.finishTranslation(false) ?? { kind: 'step-done' };
    // An event the CPU raised in a run the debugger ended early (runtime.ts runWatchedFast holds VMM entries
    // back) is handled before anything moves the guest: trap-and-emulate's step starts its handler.
    if (this.active !== null || this.pending !== null) return super.step();
    this.inPlaceSlice = false;
    if (this.inPlaceArmed) {
      this.inPlaceArmed = false;
      this.inPlaceSlice = true;
      return super.step();
    }
    const prepared = this.prepareGuest(false);
    if (prepared !== undefined) return prepared;
    if (this.translating !== null) return { kind: 'step-done' }; // the debugger walks the translation's steps next
    return super.step();
  }

  override activeHandler(): HandlerExecutionState | undefined {
    return this.translating?.execution.snapshot() ?? super.activeHandler();
  }

  /** Before every slice: kernel code enters the TC; an armed in-place callout runs its one guest instruction. */
  protected override idle(): 'no' | 'yes' | EngineStop {
    const base = super.idle();
    if (base !== 'no') return base;
    this.inPlaceSlice = false;
    if (this.inPlaceArmed) {
      this.inPlaceArmed = false;
      this.inPlaceSlice = true;
      return 'no';
    }
    return this.prepareGuest(true) ?? 'no';
  }

  protected override sliceLimit(): number {
    return this.inPlaceSlice ? 1 : super.sliceLimit();
  }

  private inTc(): boolean {
    return (this.cpu.s[SEG_SELECTOR + SegmentRegister.CS]! & 0xffff) === TC_CODE_SELECTOR;
  }

  /** Enters the TC when the guest kernel is about to run guest code (translating the unit first if needed). */
  private prepareGuest(freeRunning: boolean): EngineStop | undefined {
    this.markTranslatedPages();
    const s = this.cpu.s;
    if (s[CPL] !== 1 || (s[MODE]! & CpuMode.Halted) !== 0 || this.inTc()) return undefined;
    if ((s[SEG_RIGHTS + SegmentRegister.CS]! & SegmentRight.Big) === 0) return { kind: 'stop', message: 'binary translation handles 32-bit kernel code only (the guest runs a 16-bit code segment)' };
    const mode: GuestCodeMode = { selector: this.guest.getSelector(SegmentRegister.CS), base: this.guest.getSegmentBase(SegmentRegister.CS), limit: s[SEG_LIMIT + SegmentRegister.CS]! >>> 0 };
    const eip = this.guest.getEip();
    const key = this.keyOf(mode, eip);
    if (key === undefined) {
      this.inPlaceSlice = true; // the guest cannot fetch there: the CPU raises its #PF (hidden or true) in place
      return undefined;
    }
    const existing = this.cache.lookup(key);
    if (existing !== undefined) {
      this.cache.counters.indirectLookups++;
      this.enter(existing, mode);
      return undefined;
    }
    this.startTranslation({ startEip: eip, mode, key, notes: [] });
    if (!freeRunning) return undefined;
    // A debugger filter on translations may end the run here, with the translation at its first step.
    return this.embeddingHolds() ?? this.finishTranslation(true);
  }

  /**
   * An empty machine run between two pieces of VMM work of a free run: the machine's embedding (the debug
   * adapter's watched run, runtime.ts) answers it with a stop when a transition just recorded matched one of
   * its filters, so the engine stops exactly where a debugger step would have. A breakpoint answer is ignored
   * (no guest instruction runs here); without an embedding the answer is always 'budget'.
   */
  private embeddingHolds(): EngineStop | undefined {
    const held = this.machine.run(0);
    return held.reason === 'budget' || held.reason === 'breakpoint' ? undefined : this.machineStop(held);
  }

  /** Runs the active handler's remaining steps, offering the embedding a stop after each (embeddingHolds). */
  protected override completeActive(): EngineStop | undefined {
    const active = this.active;
    if (active === null) return undefined;
    while (!active.execution.finished) {
      active.execution.step();
      if (active.execution.finished) break;
      const held = this.embeddingHolds();
      if (held !== undefined) {
        this.layerStack.setHandler(active.execution.snapshot());
        return held;
      }
    }
    return this.finishActive();
  }

  /** Translation key: guest physical address of the instruction plus the mode bits; undefined if unmapped. */
  private keyOf(mode: GuestCodeMode, eip: number): number | undefined {
    const physical = this.physicalOf((mode.base + eip) >>> 0);
    return physical === undefined ? undefined : this.cache.keyOf(physical, `${mode.selector}:${mode.base}:32:${this.pagingOn() ? 'paged' : 'flat'}`);
  }

  private pagingOn(): boolean {
    return (this.vcpu.cr0 & 0x80000000) !== 0;
  }

  /** Guest-linear → guest-physical through the guest's own page tables (identity without paging). */
  private physicalOf(linear: number): number | undefined {
    if (!this.pagingOn()) return linear >= this.vmmBase ? undefined : linear;
    return this.shadowPaging.translate(linear, false);
  }

  private enter(translation: Translation, mode: GuestCodeMode): void {
    translation.hits++;
    this.guestMode = mode;
    this.installTables(); // the VMM region's linear window may have moved since (guest paging on or off)
    this.guest.loadSegment(SegmentRegister.CS, TC_CODE_SELECTOR);
    this.guest.setEip(translation.tcStart);
    this.syncBreakpoints();
  }

  /** Maps the real EIP in the TC back to the guest's EIP and CS (precise state for faults and interrupts). */
  private leaveTc(): boolean {
    const eip = this.cpu.s[EIP]! >>> 0;
    let guestEip = this.cache.guestEipAt(eip);
    if (guestEip === undefined) return false;
    const t = this.cache.translationAt(eip)!;
    const site = t.plan.inlineTpr?.find((i) => eip > t.tcStart + i.start && eip < t.tcStart + i.start + i.length);
    if (site !== undefined) {
      // Stopped inside an inline TPR update (an interrupt after its POP FS, a debugger step): undo its pushes
      // and FS load, or complete it when the store already ran, so the guest sees one whole instruction.
      const undo = rollbackInlineTpr(eip - t.tcStart - site.start, site.length);
      if (undo === undefined) return false;
      const esp = this.guest.getGpr(4);
      if (undo.restoreFs) {
        const saved = this.guest.readLinear((this.guest.getSegmentBase(SegmentRegister.SS) + esp) >>> 0, 4);
        if (saved === undefined || !this.guest.loadSegment(SegmentRegister.FS, saved & 0xffff)) return false;
      }
      this.guest.setGpr(4, (esp + 4 * undo.drop) | 0);
      if (undo.completed) guestEip = site.nextEip;
      this.cache.counters.inlineRollbacks++;
    }
    if (!this.guest.loadSegment(SegmentRegister.CS, this.guestMode.selector)) return false;
    this.guest.setEip(guestEip);
    return true;
  }

  // ---- translation as a VMM handler with named steps -----------------------------------------------------

  private startTranslation(work: TranslationWork): void {
    const where = `0x${((work.mode.base + work.startEip) >>> 0).toString(16)}`;
    const reason = `translate the guest unit at ${where}`;
    this.record('guest-kernel', 'vmm', 'translation', reason, [], undefined, { guestAddress: (work.mode.base + work.startEip) >>> 0 });
    const execution = new HandlerExecution(
      translationSteps(work, {
        translate: () => {
          const plan = translateUnit(this.guestCode, work.startEip, { csBase: work.mode.base, csLimit: work.mode.limit, guestCs: work.mode.selector & ~3, adaptive: this.adaptive, pageTableWriters: this.pageTableWriters, ...(this.pagingOn() || this.virtualApicPage === undefined ? {} : { tprWriters: this.tprWriters }) });
          if (typeof plan === 'string') work.problem = plan;
          else work.plan = plan;
        },
        install: () => this.install(work),
        chain: () => {
          const from = work.chainFrom;
          if (from === undefined || work.translation === undefined) return;
          if (this.pagingOn() && work.translation.plan.guestStart >>> 12 !== from.translation.plan.guestStart >>> 12) return;
          this.cache.chain(from.translation, from.exit, work.translation);
        },
      }),
      work,
      (parameter) => {
        const times = parameter === 'btTranslate' ? work.plan?.instructions.length ?? 1 : 1;
        for (let i = 0; i < times; i++) this.charge('vmm', reason, parameter as CostParameter);
      },
    );
    this.translating = { execution, work };
    this.layerStack.setHandler(execution.snapshot());
  }

  private install(work: TranslationWork): void {
    if (work.plan === undefined) return;
    let translation = this.cache.install(work.key, work.plan, this.guestCode.physical);
    if (translation === undefined) {
      this.cache.flush('the translation cache was full');
      translation = this.cache.install(work.key, work.plan, this.guestCode.physical);
    }
    if (translation === undefined) work.problem = 'a translation unit does not fit the translation cache';
    else work.translation = translation;
  }

  /** Runs the translation's remaining steps (free-running) or one step (debugger), then enters the TC. */
  private finishTranslation(toCompletion: boolean): EngineStop | undefined {
    const pending = this.translating;
    if (pending === null) return undefined;
    if (toCompletion) pending.execution.runToCompletion();
    else pending.execution.step();
    this.layerStack.setHandler(pending.execution.snapshot());
    if (!pending.execution.finished) return undefined;
    this.translating = null;
    this.layerStack.setHandler(undefined);
    const { work } = pending;
    const translation = work.translation;
    if (translation === undefined) {
      // Not even the first instruction translates (undecodable, unreadable, beyond the CS limit): run it in
      // place so the CPU raises the guest's own fault, which trap-and-emulate reflects.
      this.record('vmm', 'guest-kernel', 'resume', `run the guest instruction in place: ${work.problem ?? 'no translation'}`, [], undefined, {});
      if (this.inTc()) this.guest.loadSegment(SegmentRegister.CS, work.mode.selector);
      this.guest.setEip(work.startEip);
      this.inPlaceArmed = true;
      return undefined;
    }
    const plan = translation.plan;
    const rewritten = plan.instructions.filter((i) => i.rewrite !== 'ident').length;
    this.record('vmm', 'guest-kernel', 'resume', `enter the TC at 0x${translation.tcStart.toString(16)} (translation #${translation.id}: ${plan.instructions.length} instructions, ${rewritten} rewritten)`, [], undefined, {
      translation: translation.id,
      tcStart: translation.tcStart,
    });
    this.enter(translation, work.mode);
    return undefined;
  }

  private readonly guestCode = {
    read: (linear: number, out: Uint8Array): number => {
      const ram = this.machine.memory.ram;
      for (let i = 0; i < out.length; i++) {
        const physical = this.physicalOf((linear + i) >>> 0);
        if (physical === undefined || physical >= this.vmmBase) return i;
        out[i] = ram[physical]!;
      }
      return out.length;
    },
    physical: (linear: number): number | undefined => this.physicalOf(linear),
  };

  // ---- VMM entries from translated code ------------------------------------------------------------------

  protected override startPending(): EngineStop | undefined {
    const event = this.pending;
    this.syncVirtualTpr();
    if (event !== null && this.inTc()) {
      if (event.kind === 'software-interrupt') {
        const site = this.cache.siteAt(this.cpu.s[EIP]! >>> 0);
        this.pending = null;
        if (site === undefined) return { kind: 'stop', message: `a software interrupt in translated code at 0x${(this.cpu.s[EIP]! >>> 0).toString(16)} is not a callout` };
        return this.callout(site);
      }
      if (!this.leaveTc()) return { kind: 'stop', message: `the CPU stopped at 0x${(this.cpu.s[EIP]! >>> 0).toString(16)} in translated code, not at a guest instruction boundary` };
      if (event.kind === 'exception' && event.code === 14) this.countTracingFault(event.errorCode);
    }
    if (event?.kind === 'exception' && event.code === 13 && this.cpu.s[CPL] === 1 && this.emulateApicAccess()) {
      this.pending = null;
      return this.injectPending('virtual IF is 1');
    }
    return super.startPending();
  }

  /**
   * A #GP of guest kernel code on the local APIC's page (its segments end below the VMM region): the VMM performs
   * the access on the machine's local APIC — the TPR on the virtual-APIC page — advances EIP and resumes; at
   * ADAPTIVE_THRESHOLD faults a TPR store is re-translated into an inline update (apicAccess.ts). False when the
   * #GP is not such an access (it is then the guest's own and reflected).
   */
  private emulateApicAccess(): boolean {
    if (this.pagingOn()) return false;
    const eip = this.guest.getEip();
    const linear = (this.guest.getSegmentBase(SegmentRegister.CS) + eip) >>> 0;
    const instruction = this.guest.decodeAt(linear);
    const offset = apicOffset(instruction?.memoryAddress);
    if (instruction === undefined || offset === undefined || instruction.memoryAddress! + 4 > APIC_BASE + APIC_PAGE_SIZE) return false;
    const d = decodeInstruction(Uint8Array.from(instruction.bytes), 0, instruction.length, 32, apicDecoded);
    const move = apicMove(d, instruction.bytes[prefixLength(instruction.bytes, instruction.length)]!);
    if (move === undefined) return false;
    const reason = `#GP: ${instruction.text} touches the local APIC (register 0x${offset.toString(16)}): the VMM performs the access`;
    this.record('guest-kernel', 'vmm', 'trap', reason, ['exceptionDelivery', 'vmmEntry'], instruction, { exitReason: ExitReason.ExceptionOrNmi, vector: 13, apicRegister: offset });
    const mmio = this.machine.memory.mmio;
    const tprSlot = offset === APIC_TPR && this.virtualApicPage !== undefined ? this.virtualApicPage + APIC_TPR : undefined;
    if (move.kind === 'store') {
      const value = move.value === 'register' ? this.guest.getGpr(move.register) >>> 0 : move.immediate;
      if (tprSlot !== undefined) this.memory.write32(tprSlot, value);
      mmio.write((APIC_BASE + offset) >>> 0, 4, value);
      if (tprSlot !== undefined) this.syncedTpr = value;
    } else {
      const value = tprSlot !== undefined ? this.memory.read32(tprSlot) ?? 0 : mmio.read((APIC_BASE + offset) >>> 0, 4);
      this.guest.setGpr(move.register, value >>> 0);
    }
    this.charge('vmm', reason, 'emulationStep');
    this.charge('vmm', reason, 'apicAccess');
    this.guest.setEip((eip + instruction.length) >>> 0);
    this.record('vmm', 'guest-kernel', 'resume', `resume after ${instruction.text}`, ['vmmExit'], undefined, {});
    const count = (this.apicFaultCounts.get(linear) ?? 0) + 1;
    this.apicFaultCounts.set(linear, count);
    if (count === ADAPTIVE_THRESHOLD && move.kind === 'store' && tprSlot !== undefined && !this.tprWriters.has(linear)) {
      this.tprWriters.add(linear);
      for (const t of this.cache.containing(linear)) this.cache.invalidate(t, `adaptive re-translation: the store at 0x${linear.toString(16)} kept faulting on the local APIC's TPR`);
      this.cache.counters.adaptiveRetranslations++;
    }
    return true;
  }

  /** Inline TPR updates write only the virtual-APIC page: the machine's local APIC follows at each VMM entry. */
  private syncVirtualTpr(): void {
    if (this.tprWriters.size === 0 || this.virtualApicPage === undefined) return;
    const value = this.memory.read32(this.virtualApicPage + APIC_TPR) ?? 0;
    if (value === this.syncedTpr) return;
    this.syncedTpr = value;
    this.machine.memory.mmio.write(APIC_BASE + APIC_TPR, 4, value);
  }

  protected override injectPending(why: string): EngineStop | undefined {
    if (this.inTc() && this.vcpu.interruptFlag && this.vcpu.pendingVectors.length > 0 && !this.leaveTc()) {
      return { kind: 'stop', message: 'cannot map the translated code back to a guest instruction to inject an interrupt' };
    }
    return super.injectPending(why);
  }

  private callout(site: CalloutSite): EngineStop | undefined {
    const { translation, callout } = site;
    this.cache.counters.calloutsExecuted++;
    if (callout.kind === 'exit') return this.followExit(translation, callout.exit ?? 0, callout.guestEip);
    // Leave the TC at the guest instruction: real CS is the guest's again, EIP its guest address.
    this.guest.loadSegment(SegmentRegister.CS, this.guestMode.selector);
    this.guest.setEip(callout.guestEip);
    const instruction = this.guest.decodeAt((this.guestMode.base + callout.guestEip) >>> 0);
    if (instruction === undefined) return { kind: 'stop', message: `the VMM cannot decode the guest instruction at 0x${callout.guestEip.toString(16)}` };
    let kind = callout.kind;
    if (kind === 'iret') kind = this.iretTarget() === 3 ? 'in-place' : 'privileged';
    const why = translation.plan.instructions[callout.instruction]?.why ?? '';
    const reason = `BT callout: ${instruction.text}`;
    const details = { source: 'bt-callout', callout: kind, translation: translation.id, why };
    switch (kind) {
      case 'emulate': {
        this.record('guest-kernel', 'vmm', 'trap', reason, ['btCallout'], instruction, details);
        const context: TrapContext = { guest: this.guest, vcpu: this.vcpu, instruction, notes: [] };
        const execution = new HandlerExecution(emulationCallout(instruction.text), context, (parameter) => this.charge('vmm', reason, parameter as CostParameter));
        this.activate({ execution, context, exit: this.calloutExit(instruction), reason, softwareInterrupt: false, guestLayer: 'guest-kernel', instruction });
        return undefined;
      }
      case 'privileged': {
        this.record('guest-kernel', 'vmm', 'trap', reason, ['btCallout'], instruction, details);
        const trap = classifyTrap(this.guest, instruction, 13, 0, false);
        const exit: VmExit = { ...trap, source: 'bt-callout' };
        const hooks = this.memoryHooks(); // CR0/CR3/CR4 loads and INVLPG drive the inherited shadow page tables
        const context: TrapContext = { guest: this.guest, vcpu: this.vcpu, instruction, notes: [], ...(hooks === undefined ? {} : { memory: hooks }) };
        // The callout replaces the trap's VMM entry and exit: only the emulation steps are charged on top.
        const execution = this.dispatcher.dispatch(exit, context, (parameter) => {
          if (parameter !== 'vmmEntry' && parameter !== 'vmmExit') this.charge('vmm', reason, parameter as CostParameter);
        });
        this.activate({ execution, context, exit, reason, softwareInterrupt: false, guestLayer: 'guest-kernel', instruction });
        return undefined;
      }
      case 'pte-write':
        if (this.pageTableWriteCallout(instruction, reason, details)) return undefined;
        return this.inPlaceCallout(instruction, reason, details); // the store would not fault: it runs in place
      default:
        return this.inPlaceCallout(instruction, reason, details);
    }
  }

  /** An `in-place` callout: the instruction runs once at its guest address, then the target is looked up. */
  private inPlaceCallout(instruction: GuestInstruction, reason: string, details: Record<string, string | number | boolean>): EngineStop | undefined {
    // An indirect branch is priced as VMware's inline TC lookup (A&A: call/ret 51 cycles = native 11 +
    // btIndirectBranch 40); HyperStep performs that lookup in the VMM, which costs host time, not cycles.
    const indirect = /^(ret|call|jmp)\b/.test(instruction.mnemonic);
    this.record('guest-kernel', 'vmm', 'trap', reason, indirect ? ['btIndirectBranch'] : ['btCallout'], instruction, details);
    this.record('vmm', 'guest-kernel', 'resume', `run ${instruction.text} at its guest address 0x${instruction.address.toString(16)}, then look up the translation where it went`, [], undefined, {});
    this.inPlaceArmed = true;
    return undefined;
  }

  /**
   * A #PF taken by translated code: when the shadow MMU will call it a tracing fault (a write to a guest page
   * table), count it for the faulting store; at ADAPTIVE_THRESHOLD the store is re-translated into a
   * `pte-write` callout (Adams & Agesen §3.2: ptemod 391 cycles with adaptive BT instead of a trap each time).
   */
  private countTracingFault(errorCode: number): void {
    if (!this.shadowPaging.active) return;
    const preview = this.shadowPaging.classify(this.cpu.s[CR + 2]! >>> 0, errorCode, false);
    if (preview.kind !== 'tracing') return;
    const linear = (this.guestMode.base + this.guest.getEip()) >>> 0;
    const count = (this.tracingCounts.get(linear) ?? 0) + 1;
    this.tracingCounts.set(linear, count);
    if (count < ADAPTIVE_THRESHOLD || this.pageTableWriters.has(linear)) return;
    this.pageTableWriters.add(linear);
    for (const t of this.cache.containing(linear)) this.cache.invalidate(t, `adaptive re-translation: the store at 0x${linear.toString(16)} kept writing guest page tables`);
    this.cache.counters.adaptiveRetranslations++;
  }

  /**
   * The `pte-write` callout: if the store would take a tracing fault, run trap-and-emulate's #PF handler for it
   * directly (unprotect, execute the write once, resynchronise the shadow) with the callout's cost instead of
   * the fault's delivery, VMM entry and exit; otherwise the store runs in place.
   */
  private pageTableWriteCallout(instruction: GuestInstruction, reason: string, details: Record<string, string | number | boolean>): boolean {
    const hooks = this.memoryHooks();
    const linear = instruction.memoryAddress;
    if (hooks === undefined || linear === undefined || !this.shadowPaging.active) return false;
    const errorCode = 0x3; // present, write, supervisor: what the CPU would report for the write-protected table page
    if (this.shadowPaging.classify(linear, errorCode, false).kind !== 'tracing') return false;
    this.record('guest-kernel', 'vmm', 'shadow-paging', `${reason} (page-table write without a fault)`, ['btCallout'], instruction, details);
    const exit: VmExit = { ...exceptionExit({ source: 'bt-callout', cpl: this.cpu.s[CPL]!, instruction: { address: instruction.address, bytes: instruction.bytes, text: instruction.text } }, 14, errorCode) };
    const context: TrapContext = { guest: this.guest, vcpu: this.vcpu, instruction, notes: [], memory: hooks, pageFault: { linear, errorCode } };
    const execution = this.dispatcher.dispatch(exit, context, (parameter) => {
      if (parameter !== 'vmmEntry' && parameter !== 'vmmExit') this.charge('vmm', reason, parameter as CostParameter);
    });
    this.activate({ execution, context, exit, reason, softwareInterrupt: false, guestLayer: 'guest-kernel', instruction });
    return true;
  }

  private activate(handler: ActiveHandler): void {
    this.active = handler;
    this.layerStack.setHandler(handler.execution.snapshot());
  }

  private calloutExit(instruction: GuestInstruction): VmExit {
    return {
      reason: ExitReason.ExceptionOrNmi,
      source: 'bt-callout',
      qualification: 0,
      instructionLength: instruction.length,
      instruction: { address: instruction.address, bytes: instruction.bytes, text: instruction.text },
      cpl: this.cpu.s[CPL]!,
    };
  }

  /** RPL of the CS an IRET at the current guest state would return to. */
  private iretTarget(): number {
    const cs = this.guest.readLinear((this.guest.getSegmentBase(SegmentRegister.SS) + this.guest.getGpr(4) + 4) >>> 0, 2);
    return (cs ?? 0) & 3;
  }

  /** An unchained exit: find or translate the target unit, chain the slot to it, continue there. */
  private followExit(from: Translation, exit: number, targetEip: number): EngineStop | undefined {
    const mode = this.guestMode;
    const key = this.keyOf(mode, targetEip);
    if (key === undefined) {
      this.guest.loadSegment(SegmentRegister.CS, mode.selector);
      this.guest.setEip(targetEip);
      this.inPlaceArmed = true; // the target is not mapped: the CPU faults there as on bare metal
      return undefined;
    }
    const target = this.cache.lookup(key);
    if (target === undefined) {
      this.guest.loadSegment(SegmentRegister.CS, mode.selector);
      this.guest.setEip(targetEip);
      this.startTranslation({ startEip: targetEip, mode, key, chainFrom: { translation: from, exit }, notes: [] });
      return undefined; // run(): finished by handlePending's caller loop (idle); step(): walked by the debugger
    }
    // With guest paging, an exit is chained only within its own guest page: a jump to another page must see
    // that page's current mapping, so it keeps looking its target up by physical address.
    const samePage = ((mode.base + targetEip) >>> 12) === from.plan.guestStart >>> 12;
    const chained = (!this.pagingOn() || samePage) && this.cache.chain(from, exit, target);
    if (!chained) this.cache.counters.indirectLookups++;
    this.record('guest-kernel', 'vmm', 'translation', `${chained ? 'chain' : 'follow'} exit ${exit} of translation #${from.id} to #${target.id} (guest 0x${((mode.base + targetEip) >>> 0).toString(16)})`, ['btCallout'], undefined, {
      from: from.id,
      to: target.id,
      chained,
    });
    this.record('vmm', 'guest-kernel', 'resume', `continue in translation #${target.id}`, [], undefined, {});
    target.hits++;
    this.guest.setEip(target.tcStart);
    return undefined;
  }

  protected override handlePending(): EngineStop | undefined {
    const stop = super.handlePending();
    if (stop !== undefined || this.translating === null) return stop;
    return this.finishTranslation(true);
  }

  // ---- self-modifying code and adaptive translation --------------------------------------------------------

  /** Keeps every guest page with live translations marked, so the CPU reports writes to it. */
  private markTranslatedPages(): void {
    const codePages = this.cpu.mmu.codePages;
    for (const page of this.cache.livePages()) if (page < codePages.length) codePages[page] = 1;
  }

  private onGuestCodeWrite(page: number): void {
    if (!this.cache.hasLiveTranslations(page)) return;
    const writer = this.cpu.insnStart >>> 0;
    const fromTc = this.inTc() && this.cache.contains(writer);
    const stale = this.cache.checkWrite(page, `guest write to page 0x${(page * 4096).toString(16)} changed the translated bytes`);
    if (this.cache.hasLiveTranslations(page)) this.cpu.mmu.codePages[page] = 1;
    const from = this.layerStack.current;
    if (from === 'vmm') return; // the VMM itself wrote (e.g. an exception frame): no trap, only the check
    if (!this.inPlaceSlice) {
      // The page is write-protected for the VMM: the write traps (A&A's "tracing fault"), unless it came from
      // a store that adaptive BT already turned into a callout.
      for (const parameter of ['exceptionDelivery', 'vmmEntry', 'vmmExit'] as const) this.charge('vmm', 'write to a page holding translated code', parameter);
    }
    for (const t of stale) {
      this.record(from, 'vmm', 'translation', `invalidate translation #${t.id}: ${t.invalidated ?? ''}`, [], undefined, { translation: t.id });
      this.record('vmm', from, 'resume', 'resume after the invalidation', [], undefined, {});
    }
    if (!fromTc) return;
    const guestEip = this.cache.guestEipAt(writer);
    if (guestEip === undefined) return;
    const linear = (this.guestMode.base + guestEip) >>> 0;
    const count = (this.writeCounts.get(linear) ?? 0) + 1;
    this.writeCounts.set(linear, count);
    if (count === ADAPTIVE_THRESHOLD && !this.adaptive.has(linear)) {
      this.adaptive.add(linear);
      // Every live translation holding the store is re-translated with it as a callout (the running one too).
      const holders = this.cache.containing(linear);
      const running = this.cache.translationAt(writer);
      if (running !== undefined && !holders.includes(running)) holders.push(running);
      for (const t of holders) this.cache.invalidate(t, `adaptive re-translation: the store at 0x${linear.toString(16)} kept writing to pages with translated code`);
      this.cache.counters.adaptiveRetranslations++;
    }
  }

  // ---- inspection and snapshots ----------------------------------------------------------------------------

  translationCache(): TranslationCacheInfo {
    return this.cache.info();
  }

  /** The guest address of a linear address the CPU may be executing (translated code maps back to the guest). */
  guestAddressOf(linear: number): number | undefined {
    if (!this.cache.contains(linear)) return linear;
    const eip = this.cache.guestEipAt(linear);
    return eip === undefined ? undefined : (this.guestMode.base + eip) >>> 0;
  }

  override saveState(): EngineState {
    const base = super.saveState();
    return {
      ...base,
      extra: {
        ...(base.extra as Record<string, unknown> | undefined),
        cache: this.cache.toJSON(),
        guestMode: this.guestMode,
        adaptive: [...this.adaptive],
        writeCounts: [...this.writeCounts],
        pageTableWriters: [...this.pageTableWriters],
        tracingCounts: [...this.tracingCounts],
        tprWriters: [...this.tprWriters],
        apicFaultCounts: [...this.apicFaultCounts],
        syncedTpr: this.syncedTpr,
        inPlaceArmed: this.inPlaceArmed,
      },
    };
  }

  override loadState(state: EngineState): void {
    super.loadState(state);
    const extra = state.extra as
      | { cache?: TranslationCacheState; guestMode: GuestCodeMode; adaptive: number[]; writeCounts: [number, number][]; pageTableWriters?: number[]; tracingCounts?: [number, number][]; tprWriters?: number[]; apicFaultCounts?: [number, number][]; syncedTpr?: number; inPlaceArmed: boolean }
      | undefined;
    this.translating = null;
    if (extra?.cache === undefined) {
      this.cache.flush('engine state without a translation cache');
      return;
    }
    this.cache.loadJSON(extra.cache);
    this.guestMode = { ...extra.guestMode };
    this.adaptive.clear();
    for (const address of extra.adaptive) this.adaptive.add(address);
    this.writeCounts.clear();
    for (const [address, count] of extra.writeCounts) this.writeCounts.set(address, count);
    this.pageTableWriters.clear();
    for (const address of extra.pageTableWriters ?? []) this.pageTableWriters.add(address);
    this.tracingCounts.clear();
    for (const [address, count] of extra.tracingCounts ?? []) this.tracingCounts.set(address, count);
    this.tprWriters.clear();
    for (const address of extra.tprWriters ?? []) this.tprWriters.add(address);
    this.apicFaultCounts.clear();
    for (const [address, count] of extra.apicFaultCounts ?? []) this.apicFaultCounts.set(address, count);
    this.syncedTpr = extra.syncedTpr ?? 0;
    this.inPlaceArmed = extra.inPlaceArmed;
    this.breakpoints.invalidate();
  }

  /** A breakpoint the CPU stopped at in the TC is reported at the guest EIP it stands for. */
  protected override machineStop(stop: MachineStop): EngineStop {
    if (stop.reason !== 'breakpoint' || !this.inTc()) return super.machineStop(stop);
    return { kind: 'breakpoint', address: this.cache.guestEipAt(this.cpu.s[EIP]! >>> 0) ?? this.guest.getEip() };
  }

  /** Real CR0 as the CPU holds it (tests compare it with the virtual one). */
  get realCr0(): number {
    return this.cpu.s[CR]! >>> 0;
  }
}
