// The shared-info page of a paravirtual guest (layout: ../hypercalls.ts SharedInfoLayout; Xen keeps the same
// ideas in shared_info/vcpu_info): event pending and mask bits, the upcall mask that is the PV interrupt flag,
// system time, and CR2 of the last page fault. The VMM reaches it by its guest-physical address, directly in
// RAM, so it stays reachable whatever the guest's page tables map (Xen maps shared_info by machine frame too).

import { SharedInfoLayout as SI } from '../hypercalls';

export class SharedInfoPage {
  /** Guest-physical address of the page; -1 until set_callbacks registers it. */
  address = -1;
  private readonly view: DataView;

  constructor(private readonly ram: Uint8Array) {
    this.view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  }

  get registered(): boolean {
    return this.address >= 0;
  }

  byte(offset: number): number {
    return this.address < 0 ? 0 : this.ram[this.address + offset]!;
  }

  setByte(offset: number, value: number): void {
    if (this.address >= 0) this.ram[this.address + offset] = value;
  }

  word(offset: number): number {
    return this.address < 0 ? 0 : this.view.getUint32(this.address + offset, true);
  }

  setWord(offset: number, value: number): void {
    if (this.address >= 0) this.view.setUint32(this.address + offset, value >>> 0, true);
  }

  /** 1 = events masked (virtual IF = 0); masked until the page exists. */
  get mask(): number {
    return this.address < 0 ? 1 : this.byte(SI.UPCALL_MASK);
  }

  set mask(value: 0 | 1) {
    this.setByte(SI.UPCALL_MASK, value);
  }

  get pending(): number {
    return this.word(SI.EVTCHN_PENDING);
  }

  /** Marks `port` pending and the upcall as due. */
  raise(port: number): void {
    this.setWord(SI.EVTCHN_PENDING, this.pending | (1 << port));
    this.setByte(SI.UPCALL_PENDING, 1);
  }

  /** A pending port that is not masked per port (what an upcall would deliver). */
  get deliverable(): number {
    return (this.pending & ~this.word(SI.EVTCHN_MASK)) >>> 0;
  }

  /** EVTCHNOP_unmask: clear the port's mask; if it is pending meanwhile, the upcall becomes due (as Xen's unmask). */
  unmask(port: number): void {
    this.setWord(SI.EVTCHN_MASK, this.word(SI.EVTCHN_MASK) & ~(1 << port));
    if ((this.pending & (1 << port)) !== 0) this.setByte(SI.UPCALL_PENDING, 1);
  }

  setSystemTime(ns: number): void {
    this.setWord(SI.SYSTEM_TIME_NS, ns >>> 0);
    this.setWord(SI.SYSTEM_TIME_NS + 4, Math.floor(ns / 0x100000000));
  }

  setCr2(linear: number): void {
    this.setWord(SI.CR2, linear);
  }
}
