// The contract every device model implements, kept tiny on purpose (after firecracker's and rust-vmm's
// bus devices): a device declares the port or MMIO ranges it decodes, and sees only an offset inside one of
// its own ranges. Interrupt outputs and virtual time reach it through the small interfaces below, so the
// same models serve a PIC today and an IOAPIC/LAPIC or an IDE controller later.
import type { AccessSize } from '../hw/contracts';

/** A contiguous range of I/O ports or physical addresses claimed by one device. */
export interface AddressRange {
  readonly base: number;
  readonly length: number;
}

/**
 * A device reached through IN/OUT. `rangeIndex` says which of `portRanges` was hit and `offset` is
 * relative to that range's base. When `byteWide` is true the bus splits 16/32-bit accesses into byte
 * accesses at consecutive ports, as ISA decoding does (and as QEMU's memory core does for 1-byte devices).
 */
export interface PortDevice {
  readonly name: string;
  readonly portRanges: readonly AddressRange[];
  readonly byteWide: boolean;
  portRead(rangeIndex: number, offset: number, size: AccessSize): number;
  portWrite(rangeIndex: number, offset: number, size: AccessSize, value: number): void;
}

/** A device reached through physical memory (a LAPIC at 0xFEE00000, an IOAPIC at 0xFEC00000…). */
export interface MmioDevice {
  readonly name: string;
  readonly mmioRanges: readonly AddressRange[];
  mmioRead(rangeIndex: number, offset: number, size: AccessSize): number;
  mmioWrite(rangeIndex: number, offset: number, size: AccessSize, value: number): void;
}

/** Where a device drives its interrupt output: an ISA IRQ line number and a level (edge = low→high). */
export interface IrqSink {
  setIrq(line: number, level: boolean): void;
}

/**
 * A device that does something at a future virtual time (a timer expiring, a UART finishing a byte).
 * The machine runs the CPU no further than the earliest deadline, then calls `advanceTo`.
 */
export interface TimedDevice {
  /** Virtual cycle of this device's next event, or Infinity when it has none scheduled. */
  nextDeadline(): number;
  /** Bring the device up to virtual cycle `now`, raising whatever interrupts fell due. */
  advanceTo(now: number): void;
  /**
   * Set by the machine: the device calls it when the guest reprograms it so that its next deadline moves
   * (e.g. a new PIT count). The machine then ends the current CPU slice early and reschedules.
   */
  onDeadlineChange?: () => void;
}

/** A device whose complete state can be saved as plain data (JSON-safe) and restored. */
export interface StatefulDevice<State> {
  saveState(): State;
  loadState(state: State): void;
}

/** Requests a device may make of the machine (an exit port, a shutdown port). */
export interface MachineControl {
  /** The guest asked to end the run with this process status (QEMU isa-debug-exit convention). */
  requestExit(status: number, reason: string): void;
  /** The guest asked the machine to power off or shut down (Bochs 0x8900 "Shutdown"). */
  requestShutdown(reason: string): void;
}
