// The binary-translation engine (issue 6, technique `binary-translation`; VMware's BT as Adams & Agesen,
// ASPLOS 2006 §3 describe it). It inherits trap-and-emulate's deprivileging (guest kernel at ring 1 under
// VMM-owned GDT/IDT/TSS), reflection and privileged-instruction handlers, and adds: guest kernel code never
// runs directly — it is translated on demand, one unit at a time, into the translation cache (tcEngine.ts: the
// run loop, entering and leaving the TC, translation steps; layout.ts, translator.ts, translationCache.ts) and
// the CPU runs the translation; guest user code (CPL 3) runs directly. This file is what the VMM does when
// translated code enters it.
// Sensitive instructions become callouts (an `int 0xbc` in the TC recognised by its address) into the VMM's
// emulation (callouts.ts) or trap-and-emulate's handlers; exits are chained; indirect branches, far transfers
// and software interrupts run in place at their guest address and the target's translation is looked up; a
// write that changes translated guest bytes invalidates those translations; an IDENT store that keeps hitting
// pages with translated code is adaptively re-translated into a callout. Every translation, chaining and
// callout is a transition with costs (btTranslate, btCallout, btIndirectBranch).

import { CPL, CR, EIP } from '../../cpu/stateLayout';
import { DecodedInstruction, decodeInstruction } from '../../isa/decoder';
import type { CostParameter } from '../costModel';
import type { EngineState, EngineStop } from '../engine';
import { ExitReason } from '../exitReasons';
import { HandlerExecution } from '../handlerSteps';
import { SegmentRegister, type GuestInstruction } from '../trapAndEmulate/guestAccess';
import { classifyTrap, type TrapContext } from '../trapAndEmulate/handlers';
import type { TrapAndEmulateEngine } from '../trapAndEmulate/engine';
import { exceptionExit, type VmExit } from '../vmExit';
import { APIC_BASE, APIC_PAGE_SIZE, APIC_TPR, apicMove, apicOffset } from './apicAccess';
import { emulationCallout } from './callouts';
import { prefixLength } from './classify';
import { TranslationCacheEngine, type GuestCodeMode, type TranslationWork } from './tcEngine';
import type { CalloutSite, Translation, TranslationCacheState } from './translationCache';

export type { TranslationWork };

/** Writes from one translated instruction to pages holding translations before it becomes a callout (A&A §3.2). */
export const ADAPTIVE_THRESHOLD = 8;

type ActiveHandler = NonNullable<TrapAndEmulateEngine['active']>;

const apicDecoded = new DecodedInstruction();

export class BinaryTranslationEngine extends TranslationCacheEngine {
  private readonly writeCounts = new Map<number, number>();
  private readonly tracingCounts = new Map<number, number>();
  private readonly apicFaultCounts = new Map<number, number>();
  /** The virtual TPR value last written to the machine's local APIC. */
  private syncedTpr = 0;

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

  protected override onGuestCodeWrite(page: number): void {
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

}
