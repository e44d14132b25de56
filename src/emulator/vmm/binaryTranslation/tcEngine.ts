// The translation-cache half of the binary-translation engine (issue 6, technique `binary-translation`): where the
// guest runs (translated kernel code from the TC, user code directly), the run and step loops, entering and
// leaving the TC with precise guest state (incl. rolling back an inline TPR update, apicAccess.ts), translation
// as a VMM handler with named steps (translator.ts, translationSteps.ts), debugger breakpoints mirrored onto TC
// addresses (tcBreakpoints.ts), the TC descriptors (layout.ts) and inspection. engine.ts adds what the VMM does
// when translated code enters it: callouts, chaining, adaptive re-translation, APIC accesses, snapshots.

import { CPL, CR, CpuMode, EIP, GDTR_BASE, GDTR_LIMIT, MODE, SEG_LIMIT, SEG_RIGHTS, SEG_SELECTOR, SegmentRight } from '../../cpu/stateLayout';
import type { Machine, MachineStop } from '../../machine/machine';
import type { CostParameter } from '../costModel';
import type { EngineStop } from '../engine';
import { HandlerExecution, type HandlerExecutionState } from '../handlerSteps';
import type { TranslationCacheInfo } from '../inspection';
import { guestLayerAtCpl, type Technique } from '../layers';
import { SegmentRegister } from '../trapAndEmulate/guestAccess';
import { TrapAndEmulateEngine, type TrapAndEmulateOptions } from '../trapAndEmulate/engine';
import { GDT_OFFSET, VMM_REGION_SIZE } from '../trapAndEmulate/shadowTables';
import { rollbackInlineTpr } from './apicAccess';
import { BT_GDT_LIMIT, installTcDescriptor, TC_CODE_SELECTOR, translationCacheSize } from './layout';
import { TcBreakpoints } from './tcBreakpoints';
import { translationSteps } from './translationSteps';
import { TranslationCache, type Translation } from './translationCache';
import { translateUnit, type UnitPlan } from './translator';

export interface GuestCodeMode {
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

export abstract class TranslationCacheEngine extends TrapAndEmulateEngine {
  override readonly technique: Technique = 'binary-translation';
  /** First byte of the translation cache (the guest's segments end below it). */
  readonly tcBase: number;
  readonly cache: TranslationCache;
  /** The guest's code segment while the CPU runs translated code (real CS is then the TC code segment). */
  protected guestMode: GuestCodeMode = { selector: 0, base: 0, limit: 0 };
  protected inPlaceArmed = false;
  protected inPlaceSlice = false;
  protected translating: PendingTranslation | null = null;
  protected readonly adaptive = new Set<number>();
  /** Debugger breakpoints, mirrored onto the TC addresses of translated guest instructions (tcBreakpoints.ts). */
  protected readonly breakpoints: TcBreakpoints;
  /** Stores that kept taking tracing faults on guest page tables, and the count per store so far. */
  protected readonly pageTableWriters = new Set<number>();
  /** VMM page holding the virtual TPR (at APIC_TPR), reached by inline TPR updates through the TC data segment. */
  protected readonly virtualApicPage: number | undefined;
  /** TPR stores that kept faulting on the APIC page (inline virtual-TPR updates), and the faults per store so far. */
  protected readonly tprWriters = new Set<number>();
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
  protected followBreakpoints(): TcBreakpoints {
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
  protected syncBreakpoints(): void {
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
  protected installTables(): void {
    const base = this.tcSegmentBase();
    installTcDescriptor(this.memory, this.vmmBase + GDT_OFFSET, base, this.virtualApicPage === undefined ? undefined : (base + this.virtualApicPage) >>> 0);
    this.cpu.s[GDTR_LIMIT] = BT_GDT_LIMIT;
  }

  /**
   * Where the CPU sees the VMM region minus where it is in RAM: 0 while they coincide; when trap-and-emulate
   * moves its linear window (guest paging), the real GDTR follows it, so the distance is read from there.
   */
  protected tcSegmentBase(): number {
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

  protected inTc(): boolean {
    return (this.cpu.s[SEG_SELECTOR + SegmentRegister.CS]! & 0xffff) === TC_CODE_SELECTOR;
  }

  /** Enters the TC when the guest kernel is about to run guest code (translating the unit first if needed). */
  protected prepareGuest(freeRunning: boolean): EngineStop | undefined {
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
  protected embeddingHolds(): EngineStop | undefined {
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
  protected keyOf(mode: GuestCodeMode, eip: number): number | undefined {
    const physical = this.physicalOf((mode.base + eip) >>> 0);
    return physical === undefined ? undefined : this.cache.keyOf(physical, `${mode.selector}:${mode.base}:32:${this.pagingOn() ? 'paged' : 'flat'}`);
  }

  protected pagingOn(): boolean {
    return (this.vcpu.cr0 & 0x80000000) !== 0;
  }

  /** Guest-linear → guest-physical through the guest's own page tables (identity without paging). */
  protected physicalOf(linear: number): number | undefined {
    if (!this.pagingOn()) return linear >= this.vmmBase ? undefined : linear;
    return this.shadowPaging.translate(linear, false);
  }

  protected enter(translation: Translation, mode: GuestCodeMode): void {
    translation.hits++;
    this.guestMode = mode;
    this.installTables(); // the VMM region's linear window may have moved since (guest paging on or off)
    this.guest.loadSegment(SegmentRegister.CS, TC_CODE_SELECTOR);
    this.guest.setEip(translation.tcStart);
    this.syncBreakpoints();
  }

  /** Maps the real EIP in the TC back to the guest's EIP and CS (precise state for faults and interrupts). */
  protected leaveTc(): boolean {
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

  protected startTranslation(work: TranslationWork): void {
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

  protected install(work: TranslationWork): void {
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
  protected finishTranslation(toCompletion: boolean): EngineStop | undefined {
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

  protected readonly guestCode = {
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

  protected override injectPending(why: string): EngineStop | undefined {
    if (this.inTc() && this.vcpu.interruptFlag && this.vcpu.pendingVectors.length > 0 && !this.leaveTc()) {
      return { kind: 'stop', message: 'cannot map the translated code back to a guest instruction to inject an interrupt' };
    }
    return super.injectPending(why);
  }

  protected override handlePending(): EngineStop | undefined {
    const stop = super.handlePending();
    if (stop !== undefined || this.translating === null) return stop;
    return this.finishTranslation(true);
  }

  // ---- self-modifying code ----------------------------------------------------------------------------------

  /** A guest write hit a page with live translations (the engine wraps the MMU's onCodeWrite); see engine.ts. */
  protected onGuestCodeWrite(page: number): void {
    void page;
  }

  /** Keeps every guest page with live translations marked, so the CPU reports writes to it. */
  protected markTranslatedPages(): void {
    const codePages = this.cpu.mmu.codePages;
    for (const page of this.cache.livePages()) if (page < codePages.length) codePages[page] = 1;
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
