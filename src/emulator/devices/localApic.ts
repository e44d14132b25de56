// The local APIC in xAPIC mode (Intel SDM Vol. 3A ch. 11 "Advanced Programmable Interrupt Controller"; ch. 10 in
// older editions): the 4 KiB register page at 0xFEE00000 (Table 11-1), interrupt acceptance into IRR/ISR/TMR with
// the priority rules of §11.8.3 (TPR, PPR, APR), EOI, the error status register (§11.5.3), the local vector table
// (timer, thermal, performance, LINT0, LINT1, error), the APIC timer (§11.5.4: one-shot and periodic, divide
// configuration) on the machine's VIRTUAL clock (one bus tick per CPU cycle, QEMU's 1 GHz APIC bus), and the
// ICR, whose writes hand the IPI to the machine's router (apicBus.ts). The APIC is also the CPU's INTR pin
// (hw/contracts InterruptLine): its own fixed interrupts first, then the 8259A through LINT0 in ExtINT mode
// ("virtual wire", §11.4.3 / MP spec 3.6.2.2) or while the APIC is globally disabled.
// Not modelled: NMI/SMI delivery, x2APIC, TSC-deadline mode, relocating the register page through
// IA32_APIC_BASE (the base stays 0xFEE00000), focus-processor checks, remote read (RRD reads 0).
import type { AccessSize, InterruptLine, VirtualClock } from '../hw/contracts';
import type { AddressRange, MmioDevice, StatefulDevice, TimedDevice } from './device';

export const LAPIC_BASE = 0xfee00000;
/** Version register as QEMU's APIC reports it: version 0x14 (xAPIC), max LVT entry 5 (six entries). */
export const LAPIC_VERSION = 0x00050014;

/** Register offsets in the APIC page (SDM Table 11-1). */
export const ApicReg = {
  ID: 0x20, VERSION: 0x30, TPR: 0x80, APR: 0x90, PPR: 0xa0, EOI: 0xb0, RRD: 0xc0, LDR: 0xd0, DFR: 0xe0, SVR: 0xf0,
  ISR: 0x100, TMR: 0x180, IRR: 0x200, ESR: 0x280, ICR_LOW: 0x300, ICR_HIGH: 0x310,
  LVT_TIMER: 0x320, LVT_THERMAL: 0x330, LVT_PERF: 0x340, LVT_LINT0: 0x350, LVT_LINT1: 0x360, LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380, TIMER_CURRENT: 0x390, TIMER_DIVIDE: 0x3e0,
} as const;

/** LVT entry indexes (registers 0x320..0x370 in order). */
export const Lvt = { TIMER: 0, THERMAL: 1, PERF: 2, LINT0: 3, LINT1: 4, ERROR: 5 } as const;
export const LVT_MASKED = 1 << 16;
const LVT_PERIODIC = 1 << 17;
/** Writable bits per LVT entry (SDM Figure 11-8): vector, delivery mode, polarity, trigger, mask, timer mode. */
const LVT_WRITABLE = [0x300ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff] as const;
const DELIVERY_EXTINT = 7 << 8;
export const SVR_ENABLE = 1 << 8;
/** IA32_APIC_BASE (MSR 0x1B) bits: BSP flag, global enable (SDM Figure 11-5). */
export const APIC_BASE_BSP = 1 << 8;
export const APIC_BASE_ENABLE = 1 << 11;

/** Error status bits (SDM Figure 11-9). */
export const Esr = { SEND_ILLEGAL_VECTOR: 1 << 5, RECEIVE_ILLEGAL_VECTOR: 1 << 6, ILLEGAL_REGISTER: 1 << 7 } as const;

/** Where ICR writes go: the machine's IPI router (apicBus.ts). */
export interface IpiRouter {
  sendIpi(source: LocalApic, icrLow: number, icrHigh: number): void;
}

export interface LocalApicState {
  id: number;
  baseMsr: number;
  tpr: number;
  ldr: number;
  dfr: number;
  svr: number;
  irr: number[];
  isr: number[];
  tmr: number[];
  esr: number;
  errorsSinceEsrWrite: number;
  icrLow: number;
  icrHigh: number;
  lvt: number[];
  timerInitial: number;
  timerDivide: number;
  /** Virtual cycle at which the current count was loaded (or the divisor changed), -1 when stopped. */
  timerStart: number;
  /** Count of timer expiries already raised since timerStart. */
  timerExpiries: number;
}

function highestBit(words: Uint32Array): number {
  for (let w = 7; w >= 0; w--) {
    const word = words[w]!;
    if (word !== 0) return w * 32 + 31 - Math.clz32(word);
  }
  return -1;
}

/** The timer divisor from the divide configuration register bits 0, 1 and 3 (SDM Figure 11-10). */
export function timerDivisor(divideConfig: number): number {
  const code = (divideConfig & 3) | ((divideConfig & 8) >> 1);
  return code === 7 ? 1 : 2 << code;
}

export class LocalApic implements MmioDevice, TimedDevice, InterruptLine, StatefulDevice<LocalApicState> {
  readonly name: string;
  readonly mmioRanges: readonly AddressRange[] = [{ base: LAPIC_BASE, length: 0x1000 }];
  onDeadlineChange?: () => void;
  /** Called when a fixed interrupt may have become deliverable (the CPU should look between instructions). */
  onInterruptChange?: () => void;
  readonly irr = new Uint32Array(8);
  readonly isr = new Uint32Array(8);
  readonly tmr = new Uint32Array(8);
  readonly lvt = new Uint32Array(6);
  id: number;
  baseMsr: number;
  tpr = 0;
  ldr = 0;
  dfr = 0xffffffff;
  svr = 0xff;
  esr = 0;
  icrLow = 0;
  icrHigh = 0;
  timerInitial = 0;
  timerDivide = 0;
  private errorsSinceEsrWrite = 0;
  private timerStart = -1;
  private timerExpiries = 0;
  /** Cached: the highest IRR vector beats the processor priority (kept current on every change). */
  private deliverable = false;
  /** Cached picWired() (LINT0 and the global enable change rarely; pending() runs between guest blocks). */
  private picConnected = false;

  constructor(
    private readonly clock: VirtualClock,
    private readonly router: IpiRouter,
    /** Initial APIC ID (CPU index). */
    readonly initialId: number,
    /** The 8259A wired to LINT0 (the BSP's only), or null. */
    private readonly pic: InterruptLine | null,
  ) {
    this.name = `local APIC ${initialId}`;
    this.id = initialId;
    this.baseMsr = LAPIC_BASE | APIC_BASE_ENABLE | (initialId === 0 ? APIC_BASE_BSP : 0);
    this.resetRegisters();
  }

  get isBsp(): boolean {
    return (this.baseMsr & APIC_BASE_BSP) !== 0;
  }

  get globallyEnabled(): boolean {
    return (this.baseMsr & APIC_BASE_ENABLE) !== 0;
  }

  get softwareEnabled(): boolean {
    return this.globallyEnabled && (this.svr & SVR_ENABLE) !== 0;
  }

  /**
   * Power-up / INIT state of the registers (SDM §11.4.7.1): everything zero but DFR all ones, SVR 0xFF, LVT masked;
   * the APIC ID is kept (INIT does not change it). As in QEMU, the BSP's LINT0 comes up in ExtINT mode so the 8259A
   * reaches the CPU before any firmware programs the APIC.
   */
  resetRegisters(): void {
    this.irr.fill(0);
    this.isr.fill(0);
    this.tmr.fill(0);
    this.lvt.fill(LVT_MASKED);
    if (this.isBsp) this.lvt[Lvt.LINT0] = DELIVERY_EXTINT;
    this.tpr = 0;
    this.ldr = 0;
    this.dfr = 0xffffffff;
    this.svr = 0xff;
    this.esr = 0;
    this.errorsSinceEsrWrite = 0;
    this.icrLow = 0;
    this.icrHigh = 0;
    this.timerInitial = 0;
    this.timerDivide = 0;
    this.timerStart = -1;
    this.timerExpiries = 0;
    this.deliverable = false;
    this.picConnected = this.picWired();
    this.onDeadlineChange?.();
  }

  // ---- priorities (SDM §11.8.3.1, §11.6.2.1) ---------------------------------------------------

  /** PPR: the TPR if its class is at least the highest in-service class, else that class. */
  processorPriority(): number {
    const isrv = Math.max(0, highestBit(this.isr));
    return (this.tpr & 0xf0) >= (isrv & 0xf0) ? this.tpr & 0xff : isrv & 0xf0;
  }

  /** APR: the priority used in lowest-priority arbitration. */
  arbitrationPriority(): number {
    const isrv = Math.max(0, highestBit(this.isr));
    const irrv = Math.max(0, highestBit(this.irr));
    const tpr = this.tpr & 0xff;
    if ((tpr & 0xf0) >= (irrv & 0xf0) && (tpr & 0xf0) > (isrv & 0xf0)) return tpr;
    return Math.max(tpr & 0xf0, isrv & 0xf0, irrv & 0xf0);
  }

  private updateDeliverable(): void {
    const irrv = highestBit(this.irr);
    const was = this.deliverable;
    this.deliverable = irrv >= 0 && (irrv & 0xf0) > (this.processorPriority() & 0xf0);
    if (this.deliverable && !was) this.onInterruptChange?.();
  }

  // ---- the CPU's INTR pin ------------------------------------------------------------------------

  /** The 8259A reaches INTR: LINT0 unmasked in ExtINT mode, or the APIC globally disabled (SDM §11.4.3). */
  private picWired(): boolean {
    if (this.pic === null) return false;
    if (!this.globallyEnabled) return true;
    return (this.lvt[Lvt.LINT0]! & (LVT_MASKED | 0x700)) === DELIVERY_EXTINT;
  }

  pending(): boolean {
    return this.deliverable || (this.picConnected && this.pic!.pending());
  }

  acknowledge(): number {
    if (this.deliverable) {
      const vector = highestBit(this.irr);
      this.irr[vector >> 5] = this.irr[vector >> 5]! & ~(1 << (vector & 31));
      this.isr[vector >> 5] = this.isr[vector >> 5]! | (1 << (vector & 31));
      this.updateDeliverable();
      return vector;
    }
    if (this.picConnected) return this.pic!.acknowledge(); // ExtINT: the 8259A supplies the vector
    return this.svr & 0xff; // the request went away: spurious vector (§11.9)
  }

  /**
   * A fixed (or lowest-priority) interrupt arrives for this APIC: set its IRR bit and the TMR bit for its
   * trigger mode (§11.8.4). Vectors 0-15 are illegal (ESR bit 6). A software-disabled APIC accepts none.
   */
  accept(vector: number, levelTriggered: boolean): void {
    if (!this.softwareEnabled) return;
    if (vector < 16) {
      this.signalError(Esr.RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    const word = vector >> 5, bit = 1 << (vector & 31);
    this.irr[word] = this.irr[word]! | bit;
    this.tmr[word] = levelTriggered ? this.tmr[word]! | bit : this.tmr[word]! & ~bit;
    this.updateDeliverable();
  }

  /** Record an APIC error and raise the LVT error interrupt if unmasked (§11.5.3). */
  signalError(bits: number): void {
    this.errorsSinceEsrWrite |= bits;
    const entry = this.lvt[Lvt.ERROR]!;
    if ((entry & LVT_MASKED) === 0 && (entry & 0xff) >= 16) this.accept(entry & 0xff, false);
  }

  /** End of interrupt: clear the highest in-service bit (its TMR bit with it; no I/O APIC to broadcast to). */
  private endOfInterrupt(): void {
    const vector = highestBit(this.isr);
    if (vector < 0) return;
    const word = vector >> 5, bit = ~(1 << (vector & 31));
    this.isr[word] = this.isr[word]! & bit;
    this.tmr[word] = this.tmr[word]! & bit;
    this.updateDeliverable();
  }

  // ---- timer (SDM §11.5.4) ------------------------------------------------------------------

  private timerPeriod(): number {
    return this.timerInitial * timerDivisor(this.timerDivide);
  }

  private timerPeriodic(): boolean {
    return (this.lvt[Lvt.TIMER]! & LVT_PERIODIC) !== 0;
  }

  /** The current-count register at the current virtual time. */
  currentCount(): number {
    if (this.timerStart < 0 || this.timerInitial === 0) return 0;
    const elapsedTicks = Math.floor((this.clock.now() - this.timerStart) / timerDivisor(this.timerDivide));
    if (!this.timerPeriodic()) return Math.max(0, this.timerInitial - elapsedTicks);
    return this.timerInitial - (elapsedTicks % this.timerInitial);
  }

  nextDeadline(): number {
    if (this.timerStart < 0 || this.timerInitial === 0) return Infinity;
    if (!this.timerPeriodic() && this.timerExpiries > 0) return Infinity;
    return this.timerStart + (this.timerExpiries + 1) * this.timerPeriod();
  }

  advanceTo(now: number): void {
    if (this.timerStart < 0 || this.timerInitial === 0) return;
    const due = Math.floor((now - this.timerStart) / this.timerPeriod());
    const expiries = this.timerPeriodic() ? due : Math.min(due, 1);
    if (expiries <= this.timerExpiries) return;
    this.timerExpiries = expiries; // several periods in one advance coalesce into one IRR bit, as on hardware
    const entry = this.lvt[Lvt.TIMER]!;
    if ((entry & LVT_MASKED) === 0) this.accept(entry & 0xff, false);
  }

  private startTimer(initial: number): void {
    this.timerInitial = initial >>> 0;
    this.timerStart = this.timerInitial === 0 ? -1 : this.clock.now();
    this.timerExpiries = 0;
    this.onDeadlineChange?.();
  }

  private setDivide(value: number): void {
    const current = this.currentCount();
    const running = this.timerStart >= 0 && this.timerInitial !== 0 && (this.timerPeriodic() || this.timerExpiries === 0);
    this.timerDivide = value & 0xb;
    if (running) {
      // Keep the current count; it now decrements at the new rate (restart the bookkeeping from here).
      const divisor = timerDivisor(this.timerDivide);
      this.timerStart = this.clock.now() - (this.timerInitial - current) * divisor;
      this.timerExpiries = 0;
    }
    this.onDeadlineChange?.();
  }

  // ---- MMIO -----------------------------------------------------------------------------------

  mmioRead(_rangeIndex: number, offset: number, size: AccessSize): number {
    const value = this.readRegister(offset & 0xff0);
    const shift = (offset & 3) * 8; // registers are dwords on 16-byte boundaries; narrower reads take a slice
    return size === 4 ? value >>> 0 : (value >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(_rangeIndex: number, offset: number, _size: AccessSize, value: number): void {
    this.writeRegister(offset & 0xff0, (value << ((offset & 3) * 8)) >>> 0);
  }

  readRegister(register: number): number {
    if (register >= ApicReg.ISR && register < ApicReg.ESR) {
      const table = register < ApicReg.TMR ? this.isr : register < ApicReg.IRR ? this.tmr : this.irr;
      return table[(register >> 4) & 7]!;
    }
    if (register >= ApicReg.LVT_TIMER && register <= ApicReg.LVT_ERROR) return this.lvt[(register - ApicReg.LVT_TIMER) >> 4]!;
    switch (register) {
      case ApicReg.ID: return (this.id << 24) >>> 0;
      case ApicReg.VERSION: return LAPIC_VERSION;
      case ApicReg.TPR: return this.tpr;
      case ApicReg.APR: return this.arbitrationPriority();
      case ApicReg.PPR: return this.processorPriority();
      case ApicReg.EOI: return 0;
      case ApicReg.RRD: return 0;
      case ApicReg.LDR: return this.ldr >>> 0;
      case ApicReg.DFR: return this.dfr >>> 0;
      case ApicReg.SVR: return this.svr;
      case ApicReg.ESR: return this.esr;
      case ApicReg.ICR_LOW: return this.icrLow; // delivery status (bit 12) always idle: IPIs arrive at once
      case ApicReg.ICR_HIGH: return this.icrHigh >>> 0;
      case ApicReg.TIMER_INITIAL: return this.timerInitial;
      case ApicReg.TIMER_CURRENT: return this.currentCount();
      case ApicReg.TIMER_DIVIDE: return this.timerDivide;
      default:
        this.signalError(Esr.ILLEGAL_REGISTER);
        return 0;
    }
  }

  writeRegister(register: number, value: number): void {
    if (register >= ApicReg.LVT_TIMER && register <= ApicReg.LVT_ERROR) {
      const index = (register - ApicReg.LVT_TIMER) >> 4;
      let entry = value & LVT_WRITABLE[index]!;
      if (!this.softwareEnabled) entry |= LVT_MASKED; // mask bits stay set while software-disabled (§11.4.7.2)
      const periodicChanged = index === Lvt.TIMER && ((entry ^ this.lvt[index]!) & LVT_PERIODIC) !== 0;
      this.lvt[index] = (this.lvt[index]! & ~LVT_WRITABLE[index]!) | entry;
      this.picConnected = this.picWired();
      if (periodicChanged) this.onDeadlineChange?.();
      return;
    }
    switch (register) {
      case ApicReg.ID: this.id = value >>> 24; return;
      case ApicReg.TPR: this.tpr = value & 0xff; this.updateDeliverable(); return;
      case ApicReg.EOI: this.endOfInterrupt(); return;
      case ApicReg.LDR: this.ldr = (value & 0xff000000) >>> 0; return;
      case ApicReg.DFR: this.dfr = (value | 0x0fffffff) >>> 0; return;
      case ApicReg.SVR: this.writeSvr(value); return;
      case ApicReg.ESR: this.esr = this.errorsSinceEsrWrite; this.errorsSinceEsrWrite = 0; return;
      case ApicReg.ICR_LOW: this.writeIcrLow(value); return;
      case ApicReg.ICR_HIGH: this.icrHigh = (value & 0xff000000) >>> 0; return;
      case ApicReg.TIMER_INITIAL: this.startTimer(value); return;
      case ApicReg.TIMER_DIVIDE: this.setDivide(value); return;
      case ApicReg.VERSION: case ApicReg.APR: case ApicReg.PPR: case ApicReg.RRD: case ApicReg.TIMER_CURRENT:
        return; // read-only: writes are ignored
      default:
        if (register >= ApicReg.ISR && register < ApicReg.ESR) return; // ISR/TMR/IRR are read-only
        this.signalError(Esr.ILLEGAL_REGISTER);
    }
  }

  private writeSvr(value: number): void {
    this.svr = value & 0x3ff; // vector, APIC software enable (8), focus processor checking (9)
    if ((this.svr & SVR_ENABLE) === 0) for (let i = 0; i < 6; i++) this.lvt[i] = this.lvt[i]! | LVT_MASKED;
    this.picConnected = this.picWired();
    this.updateDeliverable();
  }

  private writeIcrLow(value: number): void {
    this.icrLow = value & 0x000ccfff; // vector, delivery mode, destination mode, level, trigger, shorthand
    const mode = (value >> 8) & 7;
    if ((mode === 0 || mode === 1) && (value & 0xff) < 16) {
      this.signalError(Esr.SEND_ILLEGAL_VECTOR);
      return;
    }
    this.router.sendIpi(this, this.icrLow, this.icrHigh);
  }

  /** IA32_APIC_BASE write: only the global enable bit takes effect; clearing it resets the APIC (§11.4.3). */
  writeBaseMsr(value: number): void {
    const enable = (value & APIC_BASE_ENABLE) !== 0;
    if (enable === this.globallyEnabled) return;
    this.baseMsr = (this.baseMsr & ~APIC_BASE_ENABLE) | (enable ? APIC_BASE_ENABLE : 0);
    if (!enable) this.resetRegisters();
    this.picConnected = this.picWired();
  }

  /** INIT (§11.4.7.3): the power-up state again, but the APIC ID is kept. */
  init(): void {
    this.resetRegisters();
  }

  /** Does this APIC match a logical destination (flat or cluster model, §11.6.2.2)? */
  matchesLogical(destination: number): boolean {
    const logicalId = this.ldr >>> 24;
    if ((this.dfr >>> 28) === 0xf) return (logicalId & destination) !== 0;
    return (logicalId >>> 4) === (destination >>> 4) && (logicalId & destination & 0xf) !== 0;
  }

  // ---- state ---------------------------------------------------------------------------------

  saveState(): LocalApicState {
    return {
      id: this.id, baseMsr: this.baseMsr, tpr: this.tpr, ldr: this.ldr, dfr: this.dfr, svr: this.svr,
      irr: Array.from(this.irr), isr: Array.from(this.isr), tmr: Array.from(this.tmr), esr: this.esr,
      errorsSinceEsrWrite: this.errorsSinceEsrWrite, icrLow: this.icrLow, icrHigh: this.icrHigh, lvt: Array.from(this.lvt),
      timerInitial: this.timerInitial, timerDivide: this.timerDivide, timerStart: this.timerStart, timerExpiries: this.timerExpiries,
    };
  }

  loadState(state: LocalApicState): void {
    this.id = state.id;
    this.baseMsr = state.baseMsr;
    this.tpr = state.tpr;
    this.ldr = state.ldr;
    this.dfr = state.dfr;
    this.svr = state.svr;
    this.irr.set(state.irr);
    this.isr.set(state.isr);
    this.tmr.set(state.tmr);
    this.esr = state.esr;
    this.errorsSinceEsrWrite = state.errorsSinceEsrWrite;
    this.icrLow = state.icrLow;
    this.icrHigh = state.icrHigh;
    this.lvt.set(state.lvt);
    this.timerInitial = state.timerInitial;
    this.timerDivide = state.timerDivide;
    this.timerStart = state.timerStart;
    this.timerExpiries = state.timerExpiries;
    this.deliverable = false;
    this.picConnected = this.picWired();
    this.updateDeliverable();
    this.onDeadlineChange?.();
  }
}
