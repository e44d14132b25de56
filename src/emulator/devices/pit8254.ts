// 8254 programmable interval timer (Intel 8254 datasheet, order 231164) at ports 0x40-0x43; channel 0's
// OUT drives ISA IRQ0. The counters run in VIRTUAL time: the input clock (1.193182 MHz on a PC) advances
// one tick per `cyclesPerTick` virtual CPU cycles, and virtual cycles derive from retired instructions, so a
// programmed rate is honoured exactly and every run is identical. Counter values are computed from the
// elapsed ticks when read (no per-tick work). Modelled: control word, LSB/MSB/LSB-then-MSB access, counter
// latch and read-back commands (status and count), modes 0 (interrupt on terminal count), 2 (rate generator),
// 3 (square wave) and 4 (software strobe), a count of 0 meaning 65536. Gates are tied high on channels 0 and
// 1 as on a PC; modes 1 and 5 (hardware-triggered) therefore never start. Channel 2's gate (port 0x61) is
// not modelled yet. BCD counting is stored and reported in the status byte but counts in binary.
import type { AccessSize, VirtualClock } from '../hw/contracts';
import type { AddressRange, IrqSink, PortDevice, StatefulDevice, TimedDevice } from './device';

export const PIT_BASE = 0x40;
export const PIT_IRQ = 0;
/** The PC's PIT input clock in Hz (14.31818 MHz / 12). */
export const PIT_INPUT_HZ = 1_193_182;

export const PitRegister = { COUNTER0: 0, COUNTER1: 1, COUNTER2: 2, CONTROL: 3 } as const;

/** Control word fields (datasheet "Control Word Format"). */
export const CW_SELECT_SHIFT = 6;
export const CW_READ_BACK = 3; // SC1:SC0 = 11
export const CW_ACCESS_SHIFT = 4;
export const ACCESS_LATCH = 0;
export const ACCESS_LSB = 1;
export const ACCESS_MSB = 2;
export const ACCESS_LSB_MSB = 3;
export const CW_MODE_SHIFT = 1;
export const CW_BCD = 0x01;
export const READ_BACK_NO_COUNT = 0x20;
export const READ_BACK_NO_STATUS = 0x10;
export const STATUS_OUTPUT = 0x80;
export const STATUS_NULL_COUNT = 0x40;

export interface PitChannelState {
  mode: number;
  access: number;
  bcd: boolean;
  /** The programmed initial count (1..65536; 0 written means 65536). */
  reload: number;
  /** Tick at which counting started with `reload`, or -1 while no count has been written. */
  startTick: number;
  /** Low byte written so far in LSB-then-MSB mode, or -1. */
  pendingLowByte: number;
  /** Next read in LSB-then-MSB mode returns the MSB. */
  readMsbNext: boolean;
  /** Latched count (-1 when none) and whether its MSB is next. */
  latchedCount: number;
  latchedMsbNext: boolean;
  /** Latched status byte, -1 when none. */
  latchedStatus: number;
  /** Terminal-count edges already delivered (modes 0/4: 0 or 1; modes 2/3: period index). */
  edgesDelivered: number;
}

export interface Pit8254State {
  channels: PitChannelState[];
}

function resetChannel(): PitChannelState {
  return {
    mode: 0,
    access: ACCESS_LSB_MSB,
    bcd: false,
    reload: 0x10000,
    startTick: -1,
    pendingLowByte: -1,
    readMsbNext: false,
    latchedCount: -1,
    latchedMsbNext: false,
    latchedStatus: -1,
    edgesDelivered: 0,
  };
}

function isPeriodic(mode: number): boolean {
  return mode === 2 || mode === 3;
}

export class Pit8254 implements PortDevice, TimedDevice, StatefulDevice<Pit8254State> {
  readonly name = '8254 PIT';
  readonly portRanges: readonly AddressRange[] = [{ base: PIT_BASE, length: 4 }];
  readonly byteWide = true;
  private channels: PitChannelState[] = [resetChannel(), resetChannel(), resetChannel()];
  onDeadlineChange?: () => void;

  constructor(
    private readonly clock: VirtualClock,
    private readonly irqSink: IrqSink,
    /** Virtual CPU cycles per PIT input tick (838 ≈ a 1 GHz CPU). */
    readonly cyclesPerTick: number,
  ) {}

  /** The current tick of the PIT input clock. */
  private tick(): number {
    return Math.floor(this.clock.now() / this.cyclesPerTick);
  }

  portRead(_rangeIndex: number, offset: number, _size: AccessSize): number {
    if (offset === PitRegister.CONTROL) return 0xff; // the control register is write-only
    const ch = this.channels[offset];
    if (ch.latchedStatus >= 0) {
      const status = ch.latchedStatus;
      ch.latchedStatus = -1;
      return status;
    }
    if (ch.latchedCount >= 0) {
      const value = ch.latchedCount;
      if (ch.access === ACCESS_LSB_MSB && !ch.latchedMsbNext) {
        ch.latchedMsbNext = true;
        return value & 0xff;
      }
      ch.latchedCount = -1;
      ch.latchedMsbNext = false;
      return ch.access === ACCESS_LSB ? value & 0xff : (value >> 8) & 0xff;
    }
    const count = this.currentCount(ch);
    switch (ch.access) {
      case ACCESS_LSB:
        return count & 0xff;
      case ACCESS_MSB:
        return (count >> 8) & 0xff;
      default:
        ch.readMsbNext = !ch.readMsbNext;
        return ch.readMsbNext ? count & 0xff : (count >> 8) & 0xff;
    }
  }

  portWrite(_rangeIndex: number, offset: number, _size: AccessSize, value: number): void {
    value &= 0xff;
    if (offset === PitRegister.CONTROL) {
      this.writeControl(value);
      return;
    }
    const ch = this.channels[offset];
    switch (ch.access) {
      case ACCESS_LSB:
        this.loadCount(offset, value);
        break;
      case ACCESS_MSB:
        this.loadCount(offset, value << 8);
        break;
      default:
        if (ch.pendingLowByte < 0) {
          ch.pendingLowByte = value;
          if (ch.mode === 0) this.setOutput(offset, false); // datasheet: mode 0 OUT goes low on the first byte
        } else {
          const low = ch.pendingLowByte;
          ch.pendingLowByte = -1;
          this.loadCount(offset, low | (value << 8));
        }
    }
  }

  nextDeadline(): number {
    const ch = this.channels[0];
    const edgeTick = this.nextEdgeTick(ch);
    return edgeTick === Infinity ? Infinity : edgeTick * this.cyclesPerTick;
  }

  advanceTo(_now: number): void {
    const ch = this.channels[0];
    const now = this.tick();
    let pulse = false;
    while (this.nextEdgeTick(ch) <= now) {
      ch.edgesDelivered++;
      pulse = true;
      if (!isPeriodic(ch.mode)) break;
    }
    if (!pulse) return;
    if (isPeriodic(ch.mode) || ch.mode === 4) {
      // A low pulse then high again: one rising edge on IRQ0 however many periods were skipped (the PIC
      // latches edges, it does not count them). Mode 4's strobe ends with OUT high as well.
      this.irqSink.setIrq(PIT_IRQ, false);
      this.irqSink.setIrq(PIT_IRQ, true);
    } else {
      this.irqSink.setIrq(PIT_IRQ, true); // mode 0: OUT rises at terminal count and stays high
    }
  }

  saveState(): Pit8254State {
    return { channels: this.channels.map((c) => ({ ...c })) };
  }

  loadState(state: Pit8254State): void {
    this.channels = state.channels.map((c) => ({ ...c }));
    this.onDeadlineChange?.();
  }

  /** Counter values and modes for debuggers (no side effects). */
  inspect(): Array<{ mode: number; reload: number; count: number; running: boolean }> {
    return this.channels.map((c) => ({ mode: c.mode, reload: c.reload, count: this.currentCount(c), running: c.startTick >= 0 }));
  }

  private writeControl(value: number): void {
    const select = value >> CW_SELECT_SHIFT;
    if (select === CW_READ_BACK) {
      this.readBack(value);
      return;
    }
    const ch = this.channels[select];
    const access = (value >> CW_ACCESS_SHIFT) & 3;
    if (access === ACCESS_LATCH) {
      if (ch.latchedCount < 0) ch.latchedCount = this.currentCount(ch); // a second latch is ignored
      return;
    }
    let mode = (value >> CW_MODE_SHIFT) & 7;
    if (mode > 5) mode -= 4; // modes 6 and 7 are aliases of 2 and 3
    ch.mode = mode;
    ch.access = access;
    ch.bcd = (value & CW_BCD) !== 0;
    ch.startTick = -1; // counting stops until a new count is written
    ch.pendingLowByte = -1;
    ch.readMsbNext = false;
    ch.latchedCount = -1;
    ch.latchedStatus = -1;
    ch.edgesDelivered = 0;
    // Datasheet: after a control word OUT is low in mode 0 and high in the other modes.
    this.setOutput(select, mode !== 0);
    if (select === 0) this.onDeadlineChange?.();
  }

  private readBack(value: number): void {
    for (let i = 0; i < 3; i++) {
      if (!(value & (2 << i))) continue;
      const ch = this.channels[i];
      if (!(value & READ_BACK_NO_STATUS) && ch.latchedStatus < 0) {
        let status = (ch.access << CW_ACCESS_SHIFT) | (ch.mode << CW_MODE_SHIFT) | (ch.bcd ? CW_BCD : 0);
        if (this.outputLevel(ch)) status |= STATUS_OUTPUT;
        if (ch.startTick < 0) status |= STATUS_NULL_COUNT;
        ch.latchedStatus = status;
      }
      if (!(value & READ_BACK_NO_COUNT) && ch.latchedCount < 0) ch.latchedCount = this.currentCount(ch);
    }
  }

  private loadCount(index: number, count: number): void {
    const ch = this.channels[index];
    ch.reload = count === 0 ? 0x10000 : count;
    // The count is transferred to the counting element on the next CLK pulse.
    ch.startTick = this.tick() + 1;
    ch.edgesDelivered = 0;
    if (index === 0 && ch.mode === 0) this.irqSink.setIrq(PIT_IRQ, false);
    if (index === 0) this.onDeadlineChange?.();
  }

  /** Tick of the next rising edge of OUT that has not been delivered, or Infinity. */
  private nextEdgeTick(ch: PitChannelState): number {
    if (ch.startTick < 0) return Infinity;
    switch (ch.mode) {
      case 0:
        return ch.edgesDelivered === 0 ? ch.startTick + ch.reload : Infinity;
      case 4:
        return ch.edgesDelivered === 0 ? ch.startTick + ch.reload + 1 : Infinity;
      case 2:
      case 3:
        return ch.startTick + (ch.edgesDelivered + 1) * ch.reload;
      default:
        return Infinity;
    }
  }

  /** The counting element's value now (what a latch captures). */
  private currentCount(ch: PitChannelState): number {
    if (ch.startTick < 0) return ch.reload & 0xffff;
    const elapsed = Math.max(0, this.tick() - ch.startTick);
    switch (ch.mode) {
      case 2:
        return ch.reload - (elapsed % ch.reload);
      case 3: {
        // Decrements by two each tick through each half period (an odd count's first half is one longer).
        const half = Math.ceil(ch.reload / 2);
        const phase = elapsed % ch.reload;
        const inHalf = phase < half ? phase : phase - half;
        return (((ch.reload & ~1) - 2 * inHalf) & 0xffff) || 0;
      }
      default:
        return (ch.reload - elapsed) & 0xffff; // modes 0/4 wrap around after terminal count
    }
  }

  private outputLevel(ch: PitChannelState): boolean {
    if (ch.startTick < 0) return ch.mode !== 0;
    const elapsed = this.tick() - ch.startTick;
    switch (ch.mode) {
      case 0:
        return elapsed >= ch.reload;
      case 2:
        return elapsed < 0 || elapsed % ch.reload !== ch.reload - 1;
      case 3:
        return elapsed < 0 || elapsed % ch.reload < Math.ceil(ch.reload / 2);
      case 4:
        return elapsed !== ch.reload;
      default:
        return true;
    }
  }

  private setOutput(index: number, level: boolean): void {
    if (index === 0) this.irqSink.setIrq(PIT_IRQ, level);
  }
}
