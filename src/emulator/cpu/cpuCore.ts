// The CPU's state and data paths: architectural state in typed arrays (stateLayout.ts), registers, guest
// faults, segmented and paged memory access with the SDM's checks (Vol. 3A 5.3/5.4), data watchpoints and
// the stack. Cpu (cpu.ts) adds the decoded-block cache, the run loops, breakpoints and snapshots.

import type { AccessSize, CpuStopReason, InterruptLine, PhysicalMemoryBus, PortBus, VirtualClock } from '../hw/contracts';
import { GuestFault, Vector } from './faults';
import { readEflags, writeEflags } from './lazyFlags';
import { Mmu } from './mmu';
import {
  ARITH_FLAGS, COUNTER_RETIRED, COUNTER_SLOTS, CPL, EIP, SEG_BASE, SEG_LIMIT, SEG_RIGHTS, SEG_VALID_HIGH,
  SEG_VALID_LOW, STATE_BYTES, STATE_SLOTS, Seg, SegmentRight,
} from './stateLayout';

export interface CpuFeatures {
  /** Report VMX in CPUID and allow CR4.VMXE (the machine is configured with hardware assist). */
  readonly vmx: boolean;
}

/**
 * The CPU's local APIC as the CPU itself sees it (SDM Vol. 3A §11.4.4): CPUID.1:EDX.APIC and the initial
 * APIC ID in CPUID.1:EBX[31:24], and the IA32_APIC_BASE MSR (0x1B). The registers are memory-mapped and
 * reached through the machine's MMIO bus, not through the CPU.
 */
export interface CpuLocalApic {
  readonly initialId: number;
  readonly baseMsr: number;
  writeBaseMsr(value: number): void;
}

export interface CpuOptions {
  readonly memory: PhysicalMemoryBus;
  readonly ports: PortBus;
  readonly interrupts: InterruptLine;
  readonly features?: Partial<CpuFeatures>;
  /**
   * Virtual time for RDTSC (cycles from the machine's cost model). Without one, the TSC counts retired
   * instructions. Either way it never reads the host clock.
   */
  readonly clock?: VirtualClock;
  /** The code-page map of the machine's first CPU, for the other CPUs of a multiprocessor machine. */
  readonly sharedCodePages?: Uint8Array;
  /** The local APIC wired to this CPU, if the machine has one. */
  readonly localApic?: CpuLocalApic;
  /** Compile hot blocks to JavaScript (default true); false keeps the pure interpreter. */
  readonly jit?: boolean;
}

/** What the VMM hook is told about (later issues): an exception/interrupt about to be delivered. */
export type CpuEventKind = 'exception' | 'software-interrupt' | 'external-interrupt' | 'privileged' | 'vmx';

/**
 * Single nullable hook for the VMM. Return true to intercept: the CPU then stops with 'exit' without
 * delivering the event (EIP is left at the instruction that caused it, or the next one for traps).
 */
export type CpuEventHook = (kind: CpuEventKind, code: number, errorCode: number) => boolean;

/** Plain-data snapshot of the CPU (typed-array copies). */
export interface CpuSnapshot {
  readonly state: Int32Array;
  readonly counters: Float64Array;
  /** VMX unit state (vmx/vmxState.ts) when the CPU has one; absent in older snapshots. */
  readonly vmx?: unknown;
}

export abstract class CpuCore {
  readonly buffer = new ArrayBuffer(STATE_BYTES);
  /** Counters (retired instructions) as Float64. */
  readonly counters = new Float64Array(this.buffer, 0, COUNTER_SLOTS);
  /** All 32-bit state slots; GPRs first (GPR = 0). */
  readonly s = new Int32Array(this.buffer, COUNTER_SLOTS * 8, STATE_SLOTS);
  /** Byte/word views of the GPRs (little-endian, as every host running this is). */
  readonly r8 = new Uint8Array(this.buffer, COUNTER_SLOTS * 8, 32);
  readonly r16 = new Uint16Array(this.buffer, COUNTER_SLOTS * 8, 16);
  readonly fault = new GuestFault();
  readonly mmu: Mmu;
  readonly ports: PortBus;
  readonly interrupts: InterruptLine;
  readonly features: CpuFeatures;
  readonly clock: VirtualClock | null;
  readonly localApic: CpuLocalApic | null;
  /** EIP of the instruction being executed (faults report it). */
  insnStart = 0;
  /** Set when the current block must stop after this instruction (code write, HLT, mode change). */
  blockBreak = false;
  /** Stop reason requested by an instruction (HLT → 'halt', hook → 'exit', triple fault → 'shutdown'). */
  stopRequest: CpuStopReason | null = null;
  /** Nullable VMM hook, consulted only on events (never on the per-instruction path). */
  eventHook: CpuEventHook | null = null;
  /** Why the last fault was raised when the SDM behaviour is replaced by an explicit limitation. */
  lastFaultReason = '';
  /** Thrown by an instruction the VMM hook intercepted: abort it without delivering anything. */
  readonly hookStop = new GuestFault();
  /** Honour `xchg bx, bx` as a stop (Bochs convention); off unless the debugger asks. */
  magicBreakpointsEnabled = false;
  /** Scratch for descriptor reads (no allocation). */
  descLow = 0;
  descHigh = 0;
  /** Bumped when code translation may change (see Cpu.lookupBlock). */
  codeGeneration = 0;
  /** Data breakpoints: linear byte address → 1 read, 2 write, 3 both; active only inside runDebug. */
  protected readonly watchpoints = new Map<number, number>();
  protected watching = false;
  /** The access that stopped the last 'watchpoint' run. */
  lastWatchpoint: { readonly address: number; readonly write: boolean } | null = null;

  constructor(options: CpuOptions) {
    this.ports = options.ports;
    this.interrupts = options.interrupts;
    this.clock = options.clock ?? null;
    this.localApic = options.localApic ?? null;
    this.features = { vmx: options.features?.vmx ?? false };
    this.mmu = new Mmu(this.s, options.memory, this.fault, options.sharedCodePages);
    this.mmu.onTranslationChange = () => {
      this.codeGeneration++;
    };
  }

  // ---- registers ---------------------------------------------------------------------------------

  get cpl(): number {
    return this.s[CPL]!;
  }

  get retired(): number {
    return this.counters[COUNTER_RETIRED]!;
  }

  eflags(): number {
    return readEflags(this.s);
  }

  reg8(n: number): number {
    return this.r8[((n & 3) << 2) | (n >> 2)]!;
  }

  setReg8(n: number, v: number): void {
    this.r8[((n & 3) << 2) | (n >> 2)] = v;
  }

  /** Replace the six arithmetic flags (others untouched). */
  setArithFlags(value: number): void {
    const s = this.s;
    const current = readEflags(s);
    writeEflags(s, (current & ~ARITH_FLAGS) | (value & ARITH_FLAGS));
  }

  /** Near jump: #GP(0) beyond the CS limit (SDM Vol. 2 JMP). */
  jump(target: number): void {
    if (target >>> 0 > this.s[SEG_LIMIT + Seg.CS]! >>> 0) this.raise(Vector.GP, 0);
    this.s[EIP] = target;
  }

  checkCodeLimit(target: number): void {
    if (target >>> 0 > this.s[SEG_LIMIT + Seg.CS]! >>> 0) this.raise(Vector.GP, 0);
  }

  /** `xchg bx, bx` (Bochs magic breakpoint): stop the debug loop after it. */
  magicBreakpoint(): void {
    if (this.magicBreakpointsEnabled) {
      this.stopRequest = 'magic-breakpoint';
      this.blockBreak = true;
    }
  }

  // ---- faults ------------------------------------------------------------------------------------

  /** Throw a guest fault (caught by the run loop and delivered through the IDT). */
  raise(vector: number, errorCode = -1, reason = ''): never {
    const f = this.fault;
    f.vector = vector;
    f.hasErrorCode = errorCode >= 0;
    f.errorCode = errorCode >= 0 ? errorCode : 0;
    f.reason = reason;
    throw f;
  }

  private segmentFault(seg: number): never {
    return this.raise(seg === Seg.SS ? Vector.SS : Vector.GP, 0);
  }

  // ---- segmented memory (SDM Vol. 3A 5.3 limit checks, 5.4 type checks) ----------------------------

  /** Offset → linear address after the segment's usability, type and limit checks. */
  linear(seg: number, offset: number, size: number, write: boolean): number {
    const s = this.s;
    const off = offset >>> 0;
    const need = write ? SegmentRight.Writable : SegmentRight.Readable;
    if ((s[SEG_RIGHTS + seg]! & need) === 0 || off < s[SEG_VALID_LOW + seg]! >>> 0 ||
      off + size - 1 > s[SEG_VALID_HIGH + seg]! >>> 0) {
      return this.segmentFault(seg);
    }
    return (s[SEG_BASE + seg]! + off) | 0;
  }

  /**
   * Physical RAM address for a data access that passes the segment checks and the mmu's fast path
   * (Mmu.fastPhysical), or -1 to take the precise path. No state changes, no faults: the precise path
   * re-does every check, so faults and their ordering are unchanged. Off while watchpoints are armed.
   */
  private fastData(seg: number, offset: number, size: number, write: boolean): number {
    if (this.watching) return -1;
    const s = this.s;
    const off = offset >>> 0;
    const need = write ? SegmentRight.Writable : SegmentRight.Readable;
    if ((s[SEG_RIGHTS + seg]! & need) === 0 || off < s[SEG_VALID_LOW + seg]! >>> 0 ||
      off + size - 1 > s[SEG_VALID_HIGH + seg]! >>> 0) {
      return -1;
    }
    return this.mmu.fastPhysical((s[SEG_BASE + seg]! + off) | 0, size, write, s[CPL] === 3);
  }

  read8(seg: number, offset: number): number {
    return this.readSized(seg, offset, 1);
  }

  read16(seg: number, offset: number): number {
    return this.readSized(seg, offset, 2);
  }

  read32(seg: number, offset: number): number {
    return this.readSized(seg, offset, 4);
  }

  write8(seg: number, offset: number, value: number): void {
    this.writeSized(seg, offset, 1, value);
  }

  write16(seg: number, offset: number, value: number): void {
    this.writeSized(seg, offset, 2, value);
  }

  write32(seg: number, offset: number, value: number): void {
    this.writeSized(seg, offset, 4, value);
  }

  readSized(seg: number, offset: number, size: number): number {
    const physical = this.fastData(seg, offset, size, false);
    if (physical >= 0) return this.mmu.loadRam(physical, size);
    return this.readLinear(this.linear(seg, offset, size, false), size as AccessSize);
  }

  writeSized(seg: number, offset: number, size: number, value: number): void {
    const physical = this.fastData(seg, offset, size, true);
    if (physical >= 0) {
      this.mmu.storeRam(physical, size, value);
      return;
    }
    this.writeLinear(this.linear(seg, offset, size, true), size as AccessSize, value);
  }

  /** Check that a write would pass segment and paging checks before any part of it happens. */
  probeWrite(seg: number, offset: number, size: number): void {
    const lin = this.linear(seg, offset, size, true);
    this.mmu.translate(lin, true, this.s[CPL] === 3);
    if (((lin & 0xfff) + size) > 0x1000) this.mmu.translate((lin + size - 1) | 0, true, this.s[CPL] === 3);
  }

  /** Linear read with paging; `supervisor` forces a CPL-0 access (descriptor tables, TSS). */
  readLinear(linear: number, size: AccessSize, supervisor = false): number {
    if (this.watching) this.checkWatchpoints(linear, size, false);
    const user = !supervisor && this.s[CPL] === 3;
    if ((linear & 0xfff) + size <= 0x1000) return this.mmu.readPhysical(this.mmu.translate(linear, false, user), size);
    let value = 0;
    for (let i = 0; i < size; i++) {
      value |= this.mmu.readPhysical(this.mmu.translate((linear + i) | 0, false, user), 1) << (8 * i);
    }
    return value;
  }

  writeLinear(linear: number, size: AccessSize, value: number, supervisor = false): void {
    if (this.watching) this.checkWatchpoints(linear, size, true);
    const user = !supervisor && this.s[CPL] === 3;
    if ((linear & 0xfff) + size <= 0x1000) {
      this.mmu.writePhysical(this.mmu.translate(linear, true, user), size, value);
      return;
    }
    // Page-straddling write: translate both pages first so a #PF leaves memory untouched.
    const second = (linear + size - 1) | 0;
    this.mmu.translate(linear, true, user);
    this.mmu.translate(second, true, user);
    for (let i = 0; i < size; i++) {
      this.mmu.writePhysical(this.mmu.translate((linear + i) | 0, true, user), 1, value >>> (8 * i));
    }
  }

  /** Instruction fetch of one byte at a linear address (decoder). */
  fetchByte(linear: number): number {
    return this.mmu.readPhysical(this.mmu.translateFetch(linear, this.s[CPL] === 3), 1);
  }

  // ---- stack (SDM Vol. 1 6.2; SS.B selects ESP or SP) ---------------------------------------------

  stackPointer(): number {
    return (this.s[SEG_RIGHTS + Seg.SS]! & SegmentRight.Big) !== 0 ? this.s[4]! : this.s[4]! & 0xffff;
  }

  setStackPointer(value: number): void {
    if ((this.s[SEG_RIGHTS + Seg.SS]! & SegmentRight.Big) !== 0) this.s[4] = value;
    else this.r16[8] = value;
  }

  push(value: number, size: number): void {
    const sp = (this.stackPointer() - size) | 0;
    const offset = (this.s[SEG_RIGHTS + Seg.SS]! & SegmentRight.Big) !== 0 ? sp : sp & 0xffff;
    this.writeSized(Seg.SS, offset, size, value);
    this.setStackPointer(sp);
  }

  push32(value: number): void {
    this.push(value, 4);
  }

  pop(size: number): number {
    const sp = this.stackPointer();
    const value = this.readSized(Seg.SS, sp, size);
    this.setStackPointer(sp + size);
    return value;
  }

  /** Read the stack `depth` bytes above the stack pointer without popping. */
  peekStack(depth: number, size: number): number {
    const big = (this.s[SEG_RIGHTS + Seg.SS]! & SegmentRight.Big) !== 0;
    const offset = big ? this.s[4]! + depth : (this.s[4]! + depth) & 0xffff;
    return this.readSized(Seg.SS, offset, size);
  }
  /**
   * Data breakpoint on `size` bytes at a linear address (debug loop only). Like DR7 breakpoints it is a
   * trap: the accessing instruction completes, then runDebug returns 'watchpoint' (lastWatchpoint says
   * where). Checked on every data access while the debug loop runs with watchpoints set.
   */
  setWatchpoint(linear: number, size: number, kind: 'read' | 'write' | 'access'): void {
    const bits = kind === 'read' ? 1 : kind === 'write' ? 2 : 3;
    for (let i = 0; i < size; i++) this.watchpoints.set((linear + i) >>> 0, bits);
  }

  clearWatchpoint(linear: number, size: number): void {
    for (let i = 0; i < size; i++) this.watchpoints.delete((linear + i) >>> 0);
  }

  protected checkWatchpoints(linear: number, size: number, write: boolean): void {
    const need = write ? 2 : 1;
    for (let i = 0; i < size; i++) {
      const address = (linear + i) >>> 0;
      const bits = this.watchpoints.get(address);
      if (bits !== undefined && (bits & need) !== 0) {
        this.lastWatchpoint = { address, write };
        this.stopRequest = 'watchpoint';
        this.blockBreak = true;
        return;
      }
    }
  }

}
