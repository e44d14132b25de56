// The contract between the CPU (src/emulator/cpu) and the machine around it (src/emulator/machine,
// src/emulator/devices): how the CPU reaches physical memory, I/O ports, interrupts and virtual time.
// Everything here is an interface; the machine wires concrete objects in (a hardware-abstraction layer
// in the manner of trs80's z80 core), so the same CPU runs in Node, a worker or a browser.

/** Access width in bytes. */
export type AccessSize = 1 | 2 | 4;

/** Guest physical address space as the CPU sees it after paging: RAM plus memory-mapped devices. */
export interface PhysicalMemoryBus {
  /** Guest RAM starting at physical address 0 (the CPU reads and writes it directly on the fast path). */
  readonly ram: Uint8Array;
  /** True when [address, address+size) is backed by a device rather than RAM (or is unbacked). */
  isMmio(address: number, size: AccessSize): boolean;
  /** Side-effecting MMIO read; unbacked addresses read as all ones, as on a PC. */
  mmioRead(address: number, size: AccessSize): number;
  mmioWrite(address: number, size: AccessSize, value: number): void;
}

/** Port-mapped I/O (IN/OUT/INS/OUTS). Unclaimed ports read as all ones and ignore writes. */
export interface PortBus {
  read(port: number, size: AccessSize): number;
  write(port: number, size: AccessSize, value: number): void;
}

/** The CPU's INTR/INTA pins, driven by the 8259A pair (later an APIC). */
export interface InterruptLine {
  /** True while a maskable interrupt request is asserted. */
  pending(): boolean;
  /** Interrupt acknowledge cycle: returns the vector to deliver and updates the controller's state. */
  acknowledge(): number;
}

/**
 * Deterministic virtual time. All time derives from retired instructions and the cost model, never from
 * the host clock, so every run of the same guest is identical.
 */
export interface VirtualClock {
  /** Cycles elapsed since reset. */
  now(): number;
}

/** Why `run(budget)` returned. The machine adds its own reasons (guest exit, output limit…). */
export type CpuStopReason =
  | 'budget' // the instruction budget ran out
  | 'halt' // HLT with interrupts disabled, or waiting for an interrupt the machine must schedule
  | 'shutdown' // triple fault (SDM Vol. 3A 6.15, #DF: a fault during #DF delivery shuts the processor down)
  | 'breakpoint' // an execution breakpoint (debug loop only)
  | 'watchpoint' // a data breakpoint (debug loop only)
  | 'magic-breakpoint' // xchg bx, bx (Bochs convention)
  | 'exit'; // an event the embedding asked to stop on (a VM exit, a trap into the VMM…)
