// Guest physical memory as the CPU sees it: RAM from address 0 in one Uint8Array, MMIO devices on an
// MmioBus, everything else unbacked (reads as all ones, writes ignored, as on a PC). Implements the CPU's
// PhysicalMemoryBus contract and the debugger's side-effect-free peek/poke.
import type { AccessSize, PhysicalMemoryBus } from '../hw/contracts';
import { MmioBus } from '../devices/mmioBus';

const ALL_ONES: Record<AccessSize, number> = { 1: 0xff, 2: 0xffff, 4: 0xffffffff };

export class PhysicalMemory implements PhysicalMemoryBus {
  readonly ram: Uint8Array;
  readonly mmio = new MmioBus();

  constructor(bytes: number) {
    this.ram = new Uint8Array(bytes);
  }

  isMmio(address: number, size: AccessSize): boolean {
    return address < 0 || address + size > this.ram.length || this.mmio.claims(address, size);
  }

  mmioRead(address: number, size: AccessSize): number {
    if (this.mmio.claims(address, size)) return this.mmio.read(address, size);
    return ALL_ONES[size];
  }

  mmioWrite(address: number, size: AccessSize, value: number): void {
    if (this.mmio.claims(address, size)) this.mmio.write(address, size, value);
  }

  /** A RAM byte without side effects, or undefined outside RAM (debuggers never touch device registers). */
  peek(address: number): number | undefined {
    return address >= 0 && address < this.ram.length ? this.ram[address] : undefined;
  }

  /** Write a RAM byte for a debugger; false outside RAM. */
  poke(address: number, value: number): boolean {
    if (address < 0 || address >= this.ram.length) return false;
    this.ram[address] = value & 0xff;
    return true;
  }

  /** Little-endian helpers for loaders (RAM only; callers check bounds first). */
  write32(address: number, value: number): void {
    const r = this.ram;
    r[address] = value & 0xff;
    r[address + 1] = (value >>> 8) & 0xff;
    r[address + 2] = (value >>> 16) & 0xff;
    r[address + 3] = (value >>> 24) & 0xff;
  }

  write16(address: number, value: number): void {
    this.ram[address] = value & 0xff;
    this.ram[address + 1] = (value >>> 8) & 0xff;
  }

  read32(address: number): number {
    const r = this.ram;
    return (r[address] | (r[address + 1] << 8) | (r[address + 2] << 16) | (r[address + 3] << 24)) >>> 0;
  }
}
