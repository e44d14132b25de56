// The IA-32 CPU: architectural state in typed arrays (stateLayout.ts), segmented and paged memory access
// with the SDM's checks, the decoded-block cache, and the two run loops (fast and debug). Instruction
// semantics live in exec/*.ts, exception/interrupt delivery in interrupts.ts, descriptor loads in
// segments.ts. Guest faults are thrown as the one preallocated GuestFault and caught here; nothing the
// guest does raises a host exception out of run().

import type { AccessSize, CpuStopReason, InterruptLine, PhysicalMemoryBus, PortBus, VirtualClock } from '../hw/contracts';
import { BlockCache } from './blockCache';
import { compileBlock, instructionIndexAt } from './blockCompiler';
import { GuestFault, Vector } from './faults';
import type { Block } from './insn';
import { deliverException, deliverExternalInterrupt } from './interrupts';
import { readEflags, writeEflags } from './lazyFlags';
import { Mmu } from './mmu';
import { resetState } from './reset';
import {
  ARITH_FLAGS, COUNTER_RETIRED, COUNTER_SLOTS, DR, SEG_LIMIT, CPL, CpuMode, EFLAGS, EIP, Flag, MODE, SEG_BASE, SEG_RIGHTS,
  SEG_VALID_HIGH, SEG_VALID_LOW, STATE_BYTES, STATE_SLOTS, Seg, SegmentRight,
} from './stateLayout';

export interface CpuFeatures {
  /** Report VMX in CPUID and allow CR4.VMXE (the machine is configured with hardware assist). */
  readonly vmx: boolean;
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
}

export class Cpu {
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
  readonly blocks: BlockCache;
  /** EIP of the instruction being executed (faults report it). */
  insnStart = 0;
  /** Set when the current block must stop after this instruction (code write, HLT, mode change). */
  blockBreak = false;
  /** Instructions a compiled block completed before its current iteration (fault accounting). */
  compiledDone = 0;
  /** Retired count when a TF single step began (-1: none pending). */
  private singleStepFrom = -1;
  /** Bumped when code translation may change (see lookupBlock). */
  codeGeneration = 0;
  private previousBlock: Block | null = null;
  /** Run only one instruction of the next block (end of an interrupt shadow). */
  private breakAfterOne = false;
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
  /** Execution breakpoints (linear addresses) and an O(1) 64 Ki filter over their low 16 bits. */
  private readonly breakpoints = new Set<number>();
  private readonly breakpointFilter = new Uint8Array(65536);
  private breakpointGeneration = 0;
  /** Data breakpoints: linear byte address → 1 read, 2 write, 3 both; active only inside runDebug. */
  private readonly watchpoints = new Map<number, number>();
  private watching = false;
  /** The access that stopped the last 'watchpoint' run. */
  lastWatchpoint: { readonly address: number; readonly write: boolean } | null = null;

  constructor(options: CpuOptions) {
    this.ports = options.ports;
    this.interrupts = options.interrupts;
    this.clock = options.clock ?? null;
    this.features = { vmx: options.features?.vmx ?? false };
    this.hotBlock = options.jit === false ? -1 : Cpu.HOT_BLOCK;
    this.mmu = new Mmu(this.s, options.memory, this.fault);
    this.blocks = new BlockCache(this);
    this.mmu.onTranslationChange = () => {
      this.codeGeneration++;
    };
    this.mmu.onCodeWrite = (page) => {
      this.blocks.invalidatePage(page);
      this.blockBreak = true;
    };
    resetState(this);
  }

  /** Reset to the power-on state (SDM Vol. 3A 9.1.1): real mode, CS:IP = F000:FFF0. */
  reset(): void {
    this.codeGeneration++;
    resetState(this);
    this.blocks.clear();
    this.mmu.flush(true);
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

  read8(seg: number, offset: number): number {
    return this.readLinear(this.linear(seg, offset, 1, false), 1);
  }

  read16(seg: number, offset: number): number {
    return this.readLinear(this.linear(seg, offset, 2, false), 2);
  }

  read32(seg: number, offset: number): number {
    return this.readLinear(this.linear(seg, offset, 4, false), 4);
  }

  write8(seg: number, offset: number, value: number): void {
    this.writeLinear(this.linear(seg, offset, 1, true), 1, value);
  }

  write16(seg: number, offset: number, value: number): void {
    this.writeLinear(this.linear(seg, offset, 2, true), 2, value);
  }

  write32(seg: number, offset: number, value: number): void {
    this.writeLinear(this.linear(seg, offset, 4, true), 4, value);
  }

  readSized(seg: number, offset: number, size: number): number {
    return this.readLinear(this.linear(seg, offset, size, false), size as AccessSize);
  }

  writeSized(seg: number, offset: number, size: number, value: number): void {
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
    return this.mmu.readPhysical(this.mmu.translate(linear, false, this.s[CPL] === 3), 1);
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

  // ---- run loops --------------------------------------------------------------------------------

  /**
   * Handle what happens between blocks: pending stop requests, maskable interrupts (not in the shadow
   * of STI/MOV SS), and HLT. Returns a stop reason or null to continue.
   */
  private betweenBlocks(): CpuStopReason | null {
    const s = this.s;
    if (this.stopRequest !== null) {
      const reason = this.stopRequest;
      this.stopRequest = null;
      return reason;
    }
    const mode = s[MODE]!;
    if ((mode & CpuMode.Shutdown) !== 0) return 'shutdown';
    if ((mode & CpuMode.SingleStep) !== 0) {
      s[MODE] = s[MODE]! & ~CpuMode.SingleStep;
      // EFLAGS.TF was set when the last instruction began: a #DB trap after it (SDM Vol. 3A 17.3.1.4),
      // unless it faulted (then nothing retired and the fault was delivered instead).
      const executed = this.counters[COUNTER_RETIRED]! > this.singleStepFrom;
      this.singleStepFrom = -1;
      if (executed) {
        s[DR + 6] = s[DR + 6]! | 0x4000; // DR6.BS
        this.insnStart = s[EIP]!;
        deliverException(this, Vector.DB, -1);
        if (this.stopRequest !== null) return this.betweenBlocks();
        return null;
      }
    }
    if ((mode & CpuMode.InterruptShadow) !== 0) {
      s[MODE] = mode & ~CpuMode.InterruptShadow;
      this.breakAfterOne = true; // recognise interrupts right after the shadowed instruction
      if ((mode & CpuMode.Halted) !== 0) return 'halt';
      this.armSingleStep();
      return null;
    }
    if ((s[EFLAGS]! & Flag.IF) !== 0 && this.interrupts.pending()) {
      s[MODE] = mode & ~CpuMode.Halted;
      this.insnStart = s[EIP]!;
      deliverExternalInterrupt(this);
      if (this.stopRequest !== null) return this.betweenBlocks();
      return null;
    }
    if ((mode & CpuMode.Halted) !== 0) return 'halt';
    this.armSingleStep();
    return null;
  }

  /** With EFLAGS.TF set, run exactly one instruction and trap (#DB) after it. */
  private armSingleStep(): void {
    const s = this.s;
    if ((s[EFLAGS]! & Flag.TF) === 0) return;
    this.singleStepFrom = this.counters[COUNTER_RETIRED]!;
    s[MODE] = s[MODE]! | CpuMode.SingleStep;
    this.breakAfterOne = true;
  }

  /** Slow-path test of the block-entry condition when IF or TF is set. */
  private eventCheck(): boolean {
    return (this.s[EFLAGS]! & Flag.TF) !== 0 || this.interrupts.pending();
  }

  /** Deliver a caught guest fault at the faulting instruction (or shut down on a triple fault). */
  private handleFault(e: unknown): void {
    if (e === this.hookStop) return; // EIP already points at the intercepted instruction
    if (e !== this.fault) throw e; // a host bug, not a guest fault: let it surface
    this.s[EIP] = this.insnStart;
    this.lastFaultReason = this.fault.reason;
    deliverException(this, this.fault.vector, this.fault.hasErrorCode ? this.fault.errorCode : -1);
  }

  /**
   * The block at EIP. Each block remembers its last two successors (taken / fall-through) with the code
   * generation they were found in; a hit skips the CS:EIP translation and the hash lookup. The generation
   * changes whenever translation or the code segment may change (TLB flush, INVLPG, CS or CPL load).
   */
  private lookupBlock(): Block {
    const eip = this.s[EIP]!;
    const previous = this.previousBlock;
    const generation = this.codeGeneration;
    if (previous !== null && previous.successorGeneration === generation) {
      const first = previous.successor0;
      if (first !== null && previous.successorEip0 === eip && first.valid) return (this.previousBlock = first);
      const second = previous.successor1;
      if (second !== null && previous.successorEip1 === eip && second.valid) return (this.previousBlock = second);
    }
    const block = this.blocks.lookup(eip);
    if (previous !== null) {
      if (previous.successorGeneration !== generation) {
        previous.successorGeneration = generation;
        previous.successor0 = null;
        previous.successor1 = null;
      }
      if (block.key >= 0) {
        if (previous.successor0 === null || !previous.successor0.valid) { previous.successor0 = block; previous.successorEip0 = eip; }
        else { previous.successor1 = block; previous.successorEip1 = eip; }
      }
    }
    this.previousBlock = block.key >= 0 ? block : null;
    return block;
  }

  /** Compile a block once it has run this many times. */
  static readonly HOT_BLOCK = 8;
  private readonly hotBlock: number;

  /** The fast loop: execute up to `budget` instructions. */
  run(budget: number): CpuStopReason {
    const s = this.s;
    const counters = this.counters;
    let remaining = budget;
    while (remaining > 0) {
      if (this.stopRequest !== null || s[MODE] !== 0 || (s[EFLAGS]! & (Flag.IF | Flag.TF)) !== 0 && this.eventCheck()) {
        const stop = this.betweenBlocks();
        if (stop !== null) return stop;
      }
      let block: Block | null = null;
      let entry = 0;
      let inCompiled = false;
      try {
        entry = s[EIP]!;
        this.insnStart = entry;
        block = this.lookupBlock();
        const insns = block.insns;
        const count = insns.length;
        this.blockBreak = this.breakAfterOne;
        this.breakAfterOne = false;
        const compiled = block.compiled;
        if (compiled !== null && remaining >= count && !this.blockBreak) {
          inCompiled = true;
          const done = compiled(this, s, remaining);
          counters[COUNTER_RETIRED] += done;
          remaining -= done;
          continue;
        }
        if (++block.hits === this.hotBlock) block.compiled = compileBlock(block);
        for (let k = 0; k < count; k++) {
          const insn = insns[k]!;
          const start = s[EIP]!;
          this.insnStart = start;
          s[EIP] = start + insn.length;
          insn.handler(this, insn);
          counters[COUNTER_RETIRED]++;
          if (--remaining === 0 || this.blockBreak) break;
        }
      } catch (e) {
        if (inCompiled && block !== null) {
          const done = this.compiledDone + instructionIndexAt(block, (this.insnStart - entry) | 0);
          counters[COUNTER_RETIRED] += done;
          remaining -= done;
        }
        this.handleFault(e);
        remaining--; // an exception delivery consumes budget, so a fault loop still returns
      }
    }
    return this.finish();
  }

  /** Whether any instruction of `block`, entered at linear `entryLinear`, has an execution breakpoint. */
  private blockHasBreakpoint(block: Block, entryLinear: number): boolean {
    if (block.breakpointGeneration === this.breakpointGeneration && block.breakpointEntry === entryLinear) {
      return block.hasBreakpoint;
    }
    let found = false;
    for (const insn of block.insns) {
      const at = (entryLinear + insn.offset) >>> 0;
      if (this.breakpointFilter[at & 0xffff] !== 0 && this.breakpoints.has(at)) found = true;
    }
    block.breakpointGeneration = this.breakpointGeneration;
    block.breakpointEntry = entryLinear;
    block.hasBreakpoint = found;
    return found;
  }

  /**
   * The debug loop: like run() but stops before any instruction at an execution breakpoint. The check is
   * O(1) per instruction: a 64 Ki filter, then the Set; compiled blocks use a per-block cached answer
   * (recomputed when breakpoints change), so a block without breakpoints runs at full speed.
   */
  runDebug(budget: number): CpuStopReason {
    this.watching = this.watchpoints.size > 0;
    try {
      return this.debugLoop(budget);
    } finally {
      this.watching = false;
    }
  }

  private debugLoop(budget: number): CpuStopReason {
    const s = this.s;
    const counters = this.counters;
    const filter = this.breakpointFilter;
    let remaining = budget;
    let skipBreakpointAt = (s[SEG_BASE + Seg.CS]! + s[EIP]!) >>> 0; // resume over the current one
    while (remaining > 0) {
      if (this.stopRequest !== null || s[MODE] !== 0 || (s[EFLAGS]! & (Flag.IF | Flag.TF)) !== 0 && this.eventCheck()) {
        const stop = this.betweenBlocks();
        if (stop !== null) return stop;
      }
      let block: Block | null = null;
      let entry = 0;
      let inCompiled = false;
      try {
        entry = s[EIP]!;
        this.insnStart = entry;
        block = this.lookupBlock();
        const insns = block.insns;
        const count = insns.length;
        this.blockBreak = this.breakAfterOne;
        this.breakAfterOne = false;
        const compiled = block.compiled;
        if (compiled !== null && remaining >= count && !this.blockBreak &&
          !this.blockHasBreakpoint(block, (s[SEG_BASE + Seg.CS]! + entry) >>> 0)) {
          inCompiled = true;
          skipBreakpointAt = -1;
          const done = compiled(this, s, remaining);
          counters[COUNTER_RETIRED] += done;
          remaining -= done;
          continue;
        }
        if (++block.hits === this.hotBlock) block.compiled = compileBlock(block);
        for (let k = 0; k < count; k++) {
          const insn = insns[k]!;
          const start = s[EIP]!;
          const at = (s[SEG_BASE + Seg.CS]! + start) >>> 0;
          if (filter[at & 0xffff] !== 0 && at !== skipBreakpointAt && this.breakpoints.has(at)) return 'breakpoint';
          skipBreakpointAt = -1;
          this.insnStart = start;
          s[EIP] = start + insn.length;
          insn.handler(this, insn);
          counters[COUNTER_RETIRED]++;
          if (--remaining === 0 || this.blockBreak) break;
        }
      } catch (e) {
        skipBreakpointAt = -1;
        if (inCompiled && block !== null) {
          const done = this.compiledDone + instructionIndexAt(block, (this.insnStart - entry) | 0);
          counters[COUNTER_RETIRED] += done;
          remaining -= done;
        }
        this.handleFault(e);
        remaining--;
      }
    }
    return this.finish();
  }

  private finish(): CpuStopReason {
    const reason = this.stopRequest;
    if (reason === null) return 'budget';
    this.stopRequest = null;
    return reason;
  }

  /** Execute exactly one instruction (or deliver one pending event). */
  step(): CpuStopReason {
    return this.run(1);
  }

  setBreakpoint(linear: number): void {
    this.breakpointGeneration++;
    this.breakpoints.add(linear >>> 0);
    this.breakpointFilter[linear & 0xffff] = 1;
  }

  clearBreakpoint(linear: number): void {
    this.breakpointGeneration++;
    this.breakpoints.delete(linear >>> 0);
    this.breakpointFilter.fill(0);
    for (const address of this.breakpoints) this.breakpointFilter[address & 0xffff] = 1;
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

  private checkWatchpoints(linear: number, size: number, write: boolean): void {
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

  clearAllBreakpoints(): void {
    this.breakpointGeneration++;
    this.breakpoints.clear();
    this.breakpointFilter.fill(0);
  }

  // ---- debugger access (side-effect free) ---------------------------------------------------------

  /** Read a byte at a linear address without faulting or setting A/D bits; undefined if unmapped. */
  peekLinear(linear: number): number | undefined {
    const phys = this.mmu.peekTranslate(linear | 0);
    return phys === undefined ? undefined : this.mmu.peekPhysical(phys);
  }

  /** Write a byte at a linear address for a debugger; false if unmapped or not RAM. */
  pokeLinear(linear: number, value: number): boolean {
    const phys = this.mmu.peekTranslate(linear | 0);
    return phys === undefined ? false : this.mmu.pokePhysical(phys, value);
  }

  peekPhysical(address: number): number | undefined {
    return this.mmu.peekPhysical(address);
  }

  pokePhysical(address: number, value: number): boolean {
    return this.mmu.pokePhysical(address, value);
  }

  // ---- snapshots ---------------------------------------------------------------------------------

  saveState(): CpuSnapshot {
    return { state: this.s.slice(), counters: this.counters.slice() };
  }

  loadState(snapshot: CpuSnapshot): void {
    this.codeGeneration++;
    this.s.set(snapshot.state);
    this.counters.set(snapshot.counters);
    this.blocks.clear();
    this.mmu.flush(true);
    this.stopRequest = null;
  }
}
