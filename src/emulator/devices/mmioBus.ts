// The memory-mapped I/O bus: physical address ranges claimed by devices (none in the base PC recipe;
// a LAPIC at 0xFEE00000 or an IOAPIC at 0xFEC00000 attach here later). Ranges may not overlap each other.
// Lookups are a short sorted scan: MMIO is rare next to RAM accesses, which never reach this bus.
import type { AccessSize } from '../hw/contracts';
import type { MmioDevice } from './device';
import { BusConflictError, hex } from './portBus';

interface MmioSlot {
  readonly device: MmioDevice;
  readonly rangeIndex: number;
  readonly base: number;
  readonly end: number; // exclusive
}

const ALL_ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class MmioBus {
  private slots: MmioSlot[] = [];

  attach(device: MmioDevice): void {
    const added: MmioSlot[] = [];
    device.mmioRanges.forEach(({ base, length }, rangeIndex) => {
      const end = base + length;
      if (!Number.isInteger(base) || length <= 0 || base < 0 || end > 0x1_0000_0000) {
        throw new BusConflictError(`${device.name}: invalid MMIO range ${hex(base, 8)}+${length}`);
      }
      for (const s of [...this.slots, ...added]) {
        if (base < s.end && s.base < end) {
          throw new BusConflictError(`${device.name}: MMIO ${hex(base, 8)}..${hex(end - 1, 8)} overlaps ${s.device.name}`);
        }
      }
      added.push({ device, rangeIndex, base, end });
    });
    this.slots = [...this.slots, ...added].sort((a, b) => a.base - b.base);
  }

  /** True when some device decodes any byte of [address, address+size). */
  claims(address: number, size: number): boolean {
    return this.find(address, size) !== undefined;
  }

  read(address: number, size: AccessSize): number {
    const slot = this.find(address, size);
    if (slot === undefined) return ALL_ONES[size];
    return slot.device.mmioRead(slot.rangeIndex, address - slot.base, size) & ALL_ONES[size];
  }

  write(address: number, size: AccessSize, value: number): void {
    const slot = this.find(address, size);
    if (slot !== undefined) slot.device.mmioWrite(slot.rangeIndex, address - slot.base, size, value & ALL_ONES[size]);
  }

  private find(address: number, size: number): MmioSlot | undefined {
    for (const s of this.slots) {
      if (address < s.end && s.base < address + size) return s;
    }
    return undefined;
  }
}
