// The I/O port bus: maps each of the 65,536 ports to the device that claims it, refuses overlapping
// claims, splits wide accesses for byte-wide devices, and answers all-ones for unclaimed ports (the ISA
// bus floats high) while ignoring writes to them. Implements the CPU-side PortBus contract.
import type { AccessSize, PortBus } from '../hw/contracts';
import type { PortDevice } from './device';

const PORT_COUNT = 0x10000;
const ALL_ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

/** Thrown at machine construction only (a recipe error, never a guest action). */
export class BusConflictError extends Error {}

/** One claimed range: the device, which of its ranges, and that range's base port. */
interface PortSlot {
  readonly device: PortDevice;
  readonly rangeIndex: number;
  readonly base: number;
}

export class IoPortBus implements PortBus {
  /** slotOfPort[port] = index into `slots` + 1; 0 means unclaimed. */
  private readonly slotOfPort = new Uint16Array(PORT_COUNT);
  private readonly slots: PortSlot[] = [];
  private readonly devices: PortDevice[] = [];
  /** Counts of accesses to unclaimed ports, useful to a student wondering why a device "does nothing". */
  unclaimedReads = 0;
  unclaimedWrites = 0;

  attach(device: PortDevice): void {
    for (let r = 0; r < device.portRanges.length; r++) {
      const { base, length } = device.portRanges[r];
      if (!Number.isInteger(base) || !Number.isInteger(length) || length <= 0 || base < 0 || base + length > PORT_COUNT) {
        throw new BusConflictError(`${device.name}: invalid port range ${hex(base)}+${length}`);
      }
      for (let p = base; p < base + length; p++) {
        const taken = this.slotOfPort[p];
        if (taken !== 0) {
          throw new BusConflictError(`${device.name}: port ${hex(p)} is already claimed by ${this.slots[taken - 1].device.name}`);
        }
      }
    }
    for (let r = 0; r < device.portRanges.length; r++) {
      const { base, length } = device.portRanges[r];
      this.slots.push({ device, rangeIndex: r, base });
      this.slotOfPort.fill(this.slots.length, base, base + length);
    }
    this.devices.push(device);
  }

  /** The devices in attachment order. */
  attached(): readonly PortDevice[] {
    return this.devices;
  }

  /** The device claiming `port`, if any (for diagnostics and the debugger). */
  deviceAt(port: number): PortDevice | undefined {
    const slot = this.slotOfPort[port & 0xffff];
    return slot === 0 ? undefined : this.slots[slot - 1].device;
  }

  read(port: number, size: AccessSize): number {
    port &= 0xffff;
    const slotIndex = this.slotOfPort[port];
    if (slotIndex === 0) {
      if (size === 1) {
        this.unclaimedReads++;
        return 0xff;
      }
      return this.readSplit(port, size);
    }
    const slot = this.slots[slotIndex - 1];
    if (size === 1 || !slot.device.byteWide) {
      return slot.device.portRead(slot.rangeIndex, port - slot.base, size) & ALL_ONES[size];
    }
    return this.readSplit(port, size);
  }

  write(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const slotIndex = this.slotOfPort[port];
    if (slotIndex === 0) {
      if (size === 1) {
        this.unclaimedWrites++;
        return;
      }
      this.writeSplit(port, size, value);
      return;
    }
    const slot = this.slots[slotIndex - 1];
    if (size === 1 || !slot.device.byteWide) {
      slot.device.portWrite(slot.rangeIndex, port - slot.base, size, value & ALL_ONES[size]);
      return;
    }
    this.writeSplit(port, size, value);
  }

  /** A 16/32-bit access as consecutive byte accesses, low byte first (little-endian). */
  private readSplit(port: number, size: AccessSize): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.read((port + i) & 0xffff, 1) << (8 * i);
    return value >>> 0;
  }

  private writeSplit(port: number, size: AccessSize, value: number): void {
    for (let i = 0; i < size; i++) this.write((port + i) & 0xffff, 1, (value >>> (8 * i)) & 0xff);
  }
}

export function hex(value: number, digits = 4): string {
  return '0x' + (value >>> 0).toString(16).toUpperCase().padStart(digits, '0');
}
