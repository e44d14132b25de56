// MC146818-compatible CMOS RTC and NVRAM (Motorola MC146818A datasheet) at ports 0x70 (index, bit 7 =
// NMI disable) and 0x71 (data). The clock is DETERMINISTIC: it shows a fixed epoch chosen by the machine
// recipe plus the elapsed virtual time, never the host's clock. Registers A-D, BCD or binary (B.DM) and
// 12/24-hour (B.24/12) formats, the 128-byte NVRAM, and the periodic interrupt on IRQ8 (B.PIE, rate from
// A.RS3-0, flags in register C, cleared by reading C) are modelled, all in virtual time. Alarm and
// update-ended interrupts are not yet. The update-in-progress bit (A.UIP) never reads as set.
import type { AccessSize, VirtualClock } from '../hw/contracts';
import type { AddressRange, IrqSink, PortDevice, StatefulDevice, TimedDevice } from './device';

export const CMOS_INDEX_PORT = 0x70;

/** Register indices (datasheet "Address Map"). */
export const CmosRegister = {
  SECONDS: 0x00,
  MINUTES: 0x02,
  HOURS: 0x04,
  DAY_OF_WEEK: 0x06,
  DAY_OF_MONTH: 0x07,
  MONTH: 0x08,
  YEAR: 0x09,
  STATUS_A: 0x0a,
  STATUS_B: 0x0b,
  STATUS_C: 0x0c,
  STATUS_D: 0x0d,
  CENTURY: 0x32, // PC/AT convention (ACPI FADT CENTURY field)
} as const;

export const STATUS_B_24_HOUR = 0x02;
export const STATUS_B_BINARY = 0x04;
export const STATUS_B_SET = 0x80;
export const STATUS_B_PERIODIC_INTERRUPT = 0x40;
export const STATUS_C_IRQF = 0x80;
export const STATUS_C_PERIODIC = 0x40;
export const RTC_IRQ = 8;
/** The RTC's time-base crystal (datasheet: 32.768 kHz divider setting, A.DV = 010). */
const RTC_BASE_HZ = 32768;
export const STATUS_D_VALID_RAM = 0x80;
export const INDEX_NMI_DISABLE = 0x80;

export interface CmosRtcState {
  index: number;
  nmiDisabled: boolean;
  nvram: number[];
  /** Seconds since 1970-01-01T00:00:00Z shown at virtual cycle 0. */
  epochSeconds: number;
  /** Register C flags (IRQF, PF) pending since the last read of C. */
  statusC: number;
  /** Virtual cycle at which the divider chain (re)started, and periods delivered as interrupts. */
  periodicStart: number;
  /** Virtual cycle of the last read of register C (PF covers the periods since). */
  lastCRead: number;
  periodsDelivered: number;
}

const NVRAM_SIZE = 128;

export class CmosRtc implements PortDevice, TimedDevice, StatefulDevice<CmosRtcState> {
  readonly name = 'CMOS RTC';
  readonly portRanges: readonly AddressRange[] = [{ base: CMOS_INDEX_PORT, length: 2 }];
  readonly byteWide = true;
  private state: CmosRtcState;
  onDeadlineChange?: () => void;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irqSink: IrqSink,
    /** Virtual cycles per second (the recipe's CPU frequency). */
    private readonly cyclesPerSecond: number,
    epochSeconds: number,
    memoryKiB: number,
  ) {
    const nvram = new Array<number>(NVRAM_SIZE).fill(0);
    nvram[CmosRegister.STATUS_A] = 0x26; // 32.768 kHz time base, 1024 Hz rate (what SeaBIOS leaves)
    nvram[CmosRegister.STATUS_B] = STATUS_B_24_HOUR; // BCD, 24-hour
    nvram[CmosRegister.STATUS_D] = STATUS_D_VALID_RAM;
    // Memory size as the PC/AT BIOS data area convention stores it (0x15/0x16 base, 0x17/0x18 and 0x30/0x31
    // extended KiB above 1 MiB, 0x34/0x35 64 KiB blocks above 16 MiB).
    const extendedKiB = Math.min(Math.max(memoryKiB - 1024, 0), 0xffff);
    nvram[0x15] = 640 & 0xff;
    nvram[0x16] = 640 >> 8;
    nvram[0x17] = nvram[0x30] = extendedKiB & 0xff;
    nvram[0x18] = nvram[0x31] = extendedKiB >> 8;
    const above16M = Math.min(Math.max(Math.floor((memoryKiB - 16 * 1024) / 64), 0), 0xffff);
    nvram[0x34] = above16M & 0xff;
    nvram[0x35] = above16M >> 8;
    this.state = { index: 0, nmiDisabled: false, nvram, epochSeconds, statusC: STATUS_C_PERIODIC, periodicStart: 0, lastCRead: 0, periodsDelivered: 0 };
    // PF starts set: the divider has run for many periods between power-on and the kernel's first access.
  }

  portRead(_rangeIndex: number, offset: number, _size: AccessSize): number {
    if (offset === 0) return 0xff; // the index register is write-only on a PC
    return this.readRegister(this.state.index);
  }

  portWrite(_rangeIndex: number, offset: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    if (offset === 0) {
      this.state.index = value & 0x7f;
      this.state.nmiDisabled = (value & INDEX_NMI_DISABLE) !== 0;
      return;
    }
    const index = this.state.index;
    if (index === CmosRegister.STATUS_C || index === CmosRegister.STATUS_D) return; // read-only
    if (index <= CmosRegister.YEAR || index === CmosRegister.CENTURY) return; // the clock is not settable here
    const beforeRate = this.dividerHz();
    const beforeInterrupts = this.periodicHz();
    this.state.nvram[index] = value;
    if (index === CmosRegister.STATUS_A && this.dividerHz() !== beforeRate) {
      this.state.periodicStart = this.clock.now(); // a new rate restarts the divider chain
      this.state.lastCRead = this.state.periodicStart;
    }
    if (this.periodicHz() !== beforeInterrupts) {
      this.state.periodsDelivered = this.periodsElapsed(this.clock.now());
      // PF is set by the divider whether or not PIE is; enabling PIE with PF already set raises IRQ8 at once.
      if (this.periodicHz() !== 0 && this.periodicFlagPending()) this.raisePeriodic();
      this.onDeadlineChange?.();
    }
  }

  /** The periodic rate the divider chain runs at (A.RS3-0), in Hz; 0 when RS = 0. */
  private dividerHz(): number {
    const rate = this.state.nvram[CmosRegister.STATUS_A] & 0x0f;
    if (rate === 0) return 0;
    return RTC_BASE_HZ >> (rate <= 2 ? rate + 6 : rate - 1); // datasheet Table 3 (rates 1-2 alias 8-9)
  }

  /** The periodic interrupt rate in Hz, or 0 when B.PIE is clear or A.RS selects none. */
  private periodicHz(): number {
    if (!(this.state.nvram[CmosRegister.STATUS_B] & STATUS_B_PERIODIC_INTERRUPT)) return 0;
    return this.dividerHz();
  }

  /** Whole periods of the divider chain between its start and virtual cycle `t`. */
  private periodsElapsed(t: number): number {
    const hz = this.dividerHz();
    if (hz === 0) return 0;
    return Math.floor(((t - this.state.periodicStart) * hz) / this.cyclesPerSecond);
  }

  /** C.PF: a period ended since register C was last read (or it was set before, e.g. at power-on). */
  private periodicFlagPending(): boolean {
    if (this.state.statusC & STATUS_C_PERIODIC) return true;
    return this.periodsElapsed(this.clock.now()) > this.periodsElapsed(this.state.lastCRead);
  }

  private raisePeriodic(): void {
    this.state.statusC |= STATUS_C_PERIODIC | STATUS_C_IRQF;
    this.irqSink.setIrq(RTC_IRQ, true);
  }

  nextDeadline(): number {
    const hz = this.periodicHz();
    if (hz === 0) return Infinity;
    const k = this.state.periodsDelivered + 1;
    return this.state.periodicStart + Math.ceil((k * this.cyclesPerSecond) / hz);
  }

  advanceTo(now: number): void {
    let fired = false;
    while (this.nextDeadline() <= now) {
      this.state.periodsDelivered++;
      fired = true;
    }
    if (fired) this.raisePeriodic();
  }

  /** The date and time the guest sees now (UTC fields). */
  currentTime(): Date {
    const seconds = this.state.epochSeconds + Math.floor(this.clock.now() / this.cyclesPerSecond);
    return new Date(seconds * 1000);
  }

  saveState(): CmosRtcState {
    return { ...this.state, nvram: [...this.state.nvram] };
  }

  loadState(state: CmosRtcState): void {
    this.state = { ...state, nvram: [...state.nvram] };
    this.onDeadlineChange?.();
  }

  private readRegister(index: number): number {
    const b = this.state.nvram[CmosRegister.STATUS_B];
    const t = this.currentTime();
    switch (index) {
      case CmosRegister.SECONDS:
        return this.encode(t.getUTCSeconds(), b);
      case CmosRegister.MINUTES:
        return this.encode(t.getUTCMinutes(), b);
      case CmosRegister.HOURS: {
        const hours = t.getUTCHours();
        if (b & STATUS_B_24_HOUR) return this.encode(hours, b);
        const twelve = hours % 12 === 0 ? 12 : hours % 12;
        return this.encode(twelve, b) | (hours >= 12 ? 0x80 : 0); // bit 7 = PM
      }
      case CmosRegister.DAY_OF_WEEK:
        return this.encode(t.getUTCDay() + 1, b); // 1 = Sunday
      case CmosRegister.DAY_OF_MONTH:
        return this.encode(t.getUTCDate(), b);
      case CmosRegister.MONTH:
        return this.encode(t.getUTCMonth() + 1, b);
      case CmosRegister.YEAR:
        return this.encode(t.getUTCFullYear() % 100, b);
      case CmosRegister.CENTURY:
        return this.encode(Math.floor(t.getUTCFullYear() / 100), b);
      case CmosRegister.STATUS_C: {
        const c = this.state.statusC | (this.periodicFlagPending() ? STATUS_C_PERIODIC : 0);
        this.state.statusC = 0; // reading C clears the flags and releases IRQ8
        this.state.lastCRead = this.clock.now();
        this.irqSink.setIrq(RTC_IRQ, false);
        return c;
      }
      default:
        return this.state.nvram[index];
    }
  }

  private encode(value: number, statusB: number): number {
    if (statusB & STATUS_B_BINARY) return value;
    return ((Math.floor(value / 10) % 10) << 4) | (value % 10);
  }
}
