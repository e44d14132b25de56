// 16550A UART (National Semiconductor PC16550D datasheet, "Register Description"), as wired to COM1 on a
// PC (ports 0x3F8-0x3FF, IRQ4). Transmission is instantaneous: every byte written to THR is delivered at
// once to the host listener as an event stream; bytes from the host go into the receive FIFO. Modelled:
// DLAB and the divisor latch, IER, IIR priorities (line status > received data > THR empty > modem status),
// FIFO enable/reset and trigger level, LSR, MCR loopback with MSR delta bits, the scratch register.
// Not modelled: baud-rate timing and the character-timeout delay (data below the trigger level raises the
// timeout indication immediately, which keeps runs deterministic). As in QEMU, MCR.OUT2 does not gate IRQ4.
import type { AccessSize } from '../hw/contracts';
import type { AddressRange, IrqSink, PortDevice, StatefulDevice } from './device';

export const COM1_BASE = 0x3f8;
export const COM1_IRQ = 4;

/** Register offsets from the base port (datasheet Table II). */
export const UartRegister = {
  RBR_THR_DLL: 0, // receiver buffer (read) / transmitter holding (write) / divisor latch LSB (DLAB=1)
  IER_DLM: 1, // interrupt enable / divisor latch MSB (DLAB=1)
  IIR_FCR: 2, // interrupt identification (read) / FIFO control (write)
  LCR: 3,
  MCR: 4,
  LSR: 5,
  MSR: 6,
  SCR: 7,
} as const;

export const IER_RECEIVED_DATA = 0x01;
export const IER_THR_EMPTY = 0x02;
export const IER_LINE_STATUS = 0x04;
export const IER_MODEM_STATUS = 0x08;

export const IIR_NO_INTERRUPT = 0x01;
export const IIR_MODEM_STATUS = 0x00;
export const IIR_THR_EMPTY = 0x02;
export const IIR_RECEIVED_DATA = 0x04;
export const IIR_LINE_STATUS = 0x06;
export const IIR_CHARACTER_TIMEOUT = 0x0c;
export const IIR_FIFOS_ENABLED = 0xc0;

export const FCR_ENABLE_FIFO = 0x01;
export const FCR_CLEAR_RECEIVE = 0x02;
export const FCR_CLEAR_TRANSMIT = 0x04;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOPBACK = 0x10;

export const LSR_DATA_READY = 0x01;
export const LSR_OVERRUN = 0x02;
export const LSR_THR_EMPTY = 0x20;
export const LSR_TRANSMITTER_EMPTY = 0x40;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

const FIFO_DEPTH = 16;
const TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** Everything a 16550A holds, as plain data. */
export interface Uart16550State {
  divisor: number;
  ier: number;
  lcr: number;
  mcr: number;
  lsr: number;
  msr: number;
  scr: number;
  fcr: number;
  receiveFifo: number[];
  /** Host bytes waiting to enter the receive FIFO as the guest makes room (paced input, never overruns). */
  hostQueue: number[];
  /** THR-empty interrupt armed (set when THR empties, cleared by reading IIR while it is the source or writing THR). */
  thrEmptyPending: boolean;
}

export class Uart16550 implements PortDevice, StatefulDevice<Uart16550State> {
  readonly portRanges: readonly AddressRange[];
  readonly byteWide = true;
  private state: Uart16550State = Uart16550.resetState();
  private irqLevel = false;
  /** Called with every byte the guest transmits (not in loopback mode). */
  onTransmit: (byte: number) => void = () => {};

  constructor(
    private readonly irqSink: IrqSink,
    readonly name = 'COM1 (16550A)',
    basePort = COM1_BASE,
    private readonly irqLine = COM1_IRQ,
  ) {
    this.portRanges = [{ base: basePort, length: 8 }];
  }

  static resetState(): Uart16550State {
    return {
      divisor: 12, // 9600 baud after reset on a PC (1.8432 MHz / 16 / 12)
      ier: 0,
      lcr: 0x03,
      mcr: 0,
      lsr: LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY,
      msr: MSR_DCD | MSR_DSR | MSR_CTS,
      scr: 0,
      fcr: 0,
      receiveFifo: [],
      hostQueue: [],
      thrEmptyPending: false,
    };
  }

  /** Host → guest: queue received bytes. Returns how many were accepted before the FIFO overran. */
  receive(bytes: Iterable<number>): number {
    let accepted = 0;
    const capacity = this.fifoEnabled() ? FIFO_DEPTH : 1;
    for (const b of bytes) {
      if (this.state.receiveFifo.length >= capacity) {
        this.state.lsr |= LSR_OVERRUN;
        break;
      }
      this.state.receiveFifo.push(b & 0xff);
      accepted++;
    }
    if (this.state.receiveFifo.length > 0) this.state.lsr |= LSR_DATA_READY;
    this.updateIrq();
    return accepted;
  }

  /**
   * Host → guest at the guest's pace: bytes wait in a host-side queue and enter the receive FIFO whenever
   * it has room (as a terminal with flow control would deliver them), so none is lost to overrun.
   */
  queueHostInput(bytes: Iterable<number>): void {
    for (const b of bytes) this.state.hostQueue.push(b & 0xff);
    this.refillFromHost();
  }

  private refillFromHost(): void {
    const s = this.state;
    if (s.hostQueue.length === 0) return;
    const room = this.receiveSpace();
    if (room > 0) this.receive(s.hostQueue.splice(0, room));
  }

  /** Bytes the guest can still accept without overrun (lets a host pace its input). */
  receiveSpace(): number {
    return (this.fifoEnabled() ? FIFO_DEPTH : 1) - this.state.receiveFifo.length;
  }

  portRead(_rangeIndex: number, offset: number, _size: AccessSize): number {
    const s = this.state;
    switch (offset) {
      case UartRegister.RBR_THR_DLL:
        if (s.lcr & LCR_DLAB) return s.divisor & 0xff;
        return this.readReceiveBuffer();
      case UartRegister.IER_DLM:
        return s.lcr & LCR_DLAB ? (s.divisor >> 8) & 0xff : s.ier;
      case UartRegister.IIR_FCR: {
        const iir = this.interruptIdentification();
        if (iir === IIR_THR_EMPTY) {
          s.thrEmptyPending = false; // datasheet: reading IIR when THRE is the source clears it
          this.updateIrq();
        }
        return iir | (this.fifoEnabled() ? IIR_FIFOS_ENABLED : 0);
      }
      case UartRegister.LCR:
        return s.lcr;
      case UartRegister.MCR:
        return s.mcr;
      case UartRegister.LSR: {
        const lsr = s.lsr;
        s.lsr &= ~LSR_OVERRUN; // error bits clear on read
        this.updateIrq();
        return lsr;
      }
      case UartRegister.MSR: {
        const msr = this.modemStatus();
        s.msr &= 0xf0; // delta bits clear on read
        this.updateIrq();
        return msr;
      }
      default:
        return s.scr;
    }
  }

  portWrite(_rangeIndex: number, offset: number, _size: AccessSize, value: number): void {
    const s = this.state;
    value &= 0xff;
    switch (offset) {
      case UartRegister.RBR_THR_DLL:
        if (s.lcr & LCR_DLAB) {
          s.divisor = (s.divisor & 0xff00) | value;
        } else {
          this.transmit(value);
        }
        break;
      case UartRegister.IER_DLM:
        if (s.lcr & LCR_DLAB) {
          s.divisor = (s.divisor & 0x00ff) | (value << 8);
        } else {
          const enablingThre = (value & IER_THR_EMPTY) !== 0 && (s.ier & IER_THR_EMPTY) === 0;
          s.ier = value & 0x0f;
          // Enabling the THRE interrupt while THR is empty raises it at once (as the 8250 family does).
          if (enablingThre && s.lsr & LSR_THR_EMPTY) s.thrEmptyPending = true;
        }
        break;
      case UartRegister.IIR_FCR:
        if (value & FCR_CLEAR_RECEIVE || (value & FCR_ENABLE_FIFO) !== (s.fcr & FCR_ENABLE_FIFO)) {
          s.receiveFifo = [];
          s.lsr &= ~LSR_DATA_READY;
        }
        s.fcr = value & 0xc9; // FIFO enable, DMA mode, trigger level; the reset bits self-clear
        // The bytes that were in the FIFO are gone (as on the chip); the host's flow-controlled queue now
        // fills the emptied or enlarged FIFO, as QEMU's chardev does once can_receive reports room.
        this.refillFromHost();
        break;
      case UartRegister.LCR:
        s.lcr = value;
        break;
      case UartRegister.MCR: {
        const before = this.modemStatus() & 0xf0;
        s.mcr = value & 0x1f;
        this.noteModemChange(before);
        break;
      }
      case UartRegister.LSR:
      case UartRegister.MSR:
        break; // read-only on the 16550A (factory test only)
      default:
        s.scr = value;
    }
    this.updateIrq();
  }

  saveState(): Uart16550State {
    return { ...this.state, receiveFifo: [...this.state.receiveFifo], hostQueue: [...this.state.hostQueue] };
  }

  loadState(state: Uart16550State): void {
    this.state = { ...state, receiveFifo: [...state.receiveFifo], hostQueue: [...(state.hostQueue ?? [])] };
    // The PIC's saved state already holds the IRQ4 line level: resynchronise silently, raise no edge.
    this.irqLevel = this.interruptIdentification() !== IIR_NO_INTERRUPT;
  }

  /** The 3-bit interrupt identification code of the highest-priority pending source (datasheet Table IV). */
  private interruptIdentification(): number {
    const s = this.state;
    if (s.ier & IER_LINE_STATUS && s.lsr & LSR_OVERRUN) return IIR_LINE_STATUS;
    if (s.ier & IER_RECEIVED_DATA && s.receiveFifo.length > 0) {
      if (!this.fifoEnabled() || s.receiveFifo.length >= this.triggerLevel()) return IIR_RECEIVED_DATA;
      return IIR_CHARACTER_TIMEOUT;
    }
    if (s.ier & IER_THR_EMPTY && s.thrEmptyPending) return IIR_THR_EMPTY;
    if (s.ier & IER_MODEM_STATUS && s.msr & 0x0f) return IIR_MODEM_STATUS;
    return IIR_NO_INTERRUPT;
  }

  private readReceiveBuffer(): number {
    const s = this.state;
    const byte = s.receiveFifo.length > 0 ? s.receiveFifo.shift()! : 0;
    if (s.receiveFifo.length === 0) s.lsr &= ~LSR_DATA_READY;
    this.refillFromHost();
    this.updateIrq();
    return byte;
  }

  private transmit(byte: number): void {
    const s = this.state;
    if (s.mcr & MCR_LOOPBACK) {
      this.receive([byte]);
    } else {
      this.onTransmit(byte);
    }
    // The byte leaves at once: THR and the shift register are empty again, so THRE re-arms.
    s.lsr |= LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY;
    s.thrEmptyPending = true;
  }

  /** MSR: in loopback the modem inputs are wired to the MCR outputs (DTR→DSR, RTS→CTS, OUT1→RI, OUT2→DCD). */
  private modemStatus(): number {
    const s = this.state;
    if (!(s.mcr & MCR_LOOPBACK)) return s.msr;
    let lines = 0;
    if (s.mcr & MCR_DTR) lines |= MSR_DSR;
    if (s.mcr & MCR_RTS) lines |= MSR_CTS;
    if (s.mcr & MCR_OUT1) lines |= MSR_RI;
    if (s.mcr & MCR_OUT2) lines |= MSR_DCD;
    return lines | (s.msr & 0x0f);
  }

  private noteModemChange(before: number): void {
    const s = this.state;
    const after = this.modemStatus() & 0xf0;
    const changed = before ^ after;
    let delta = 0;
    if (changed & MSR_CTS) delta |= MSR_DCTS;
    if (changed & MSR_DSR) delta |= MSR_DDSR;
    if (before & MSR_RI && !(after & MSR_RI)) delta |= MSR_TERI; // trailing edge of ring indicator
    if (changed & MSR_DCD) delta |= MSR_DDCD;
    if (!(s.mcr & MCR_LOOPBACK)) return;
    s.msr = (s.msr & 0xf0) | ((s.msr | delta) & 0x0f);
  }

  private fifoEnabled(): boolean {
    return (this.state.fcr & FCR_ENABLE_FIFO) !== 0;
  }

  private triggerLevel(): number {
    return TRIGGER_LEVELS[(this.state.fcr >> 6) & 3];
  }

  private updateIrq(): void {
    const level = this.interruptIdentification() !== IIR_NO_INTERRUPT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irqSink.setIrq(this.irqLine, level);
    }
  }
}
