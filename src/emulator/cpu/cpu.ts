// The IA-32 CPU: the decoded-block cache, the two run loops (fast and debug) with interrupt, HLT and
// single-step handling between blocks, execution breakpoints, debugger peek/poke and snapshots. State and
// data paths are in cpuCore.ts; instruction semantics in exec/*.ts, exception/interrupt delivery in
// interrupts.ts, descriptor loads in segments.ts. Guest faults are thrown as the one preallocated
// GuestFault and caught here; nothing the guest does raises a host exception out of run().

import type { CpuStopReason } from '../hw/contracts';
import { BlockCache } from './blockCache';
import { compileBlock, instructionIndexAt } from './blockCompiler';
import { CpuCore, type CpuOptions, type CpuSnapshot } from './cpuCore';
import { Vector } from './faults';
import type { Block } from './insn';
import { deliverException, deliverExternalInterrupt } from './interrupts';
import { resetState } from './reset';
import { VmxUnit } from '../vmx/vmxUnit';
import type { VmxHooks } from './vmxHooks';
import { COUNTER_RETIRED, COUNTER_STEP_FROM, CpuMode, DR, EFLAGS, EIP, Flag, MODE, SEG_BASE, Seg } from './stateLayout';

export type { CpuEventHook, CpuEventKind, CpuFeatures, CpuOptions, CpuSnapshot } from './cpuCore';

export class Cpu extends CpuCore {
  readonly blocks: BlockCache;
  /** Compiled-block fault accounting: instructions completed before the current iteration. */
  compiledDone = 0;
  private previousBlock: Block | null = null;
  /** Run only one instruction of the next block (end of an interrupt shadow, single step). */
  private breakAfterOne = false;
  /** Execution breakpoints (linear addresses) and an O(1) 64 Ki filter over their low 16 bits. */
  private readonly breakpoints = new Set<number>();
  private readonly breakpointFilter = new Uint8Array(65536);
  private breakpointGeneration = 0;
  /** VMX operation (vmxHooks.ts, src/emulator/vmx); null unless the machine enables VMX or the hardware-assisted engine attaches it. */
  vmx: VmxHooks | null;

  constructor(options: CpuOptions) {
    super(options);
    this.vmx = this.features.vmx ? new VmxUnit(this) : null;
    this.hotBlock = options.jit === false ? -1 : Cpu.HOT_BLOCK;
    this.blocks = new BlockCache(this);
    this.mmu.onCodeWrite = (page) => {
      this.blocks.invalidatePage(page);
      this.blockBreak = true;
    };
    resetState(this);
  }

  /** Reset to the power-on state (SDM Vol. 3A 9.1.1): real mode, CS:IP = F000:FFF0. */
  reset(): void {
    this.codeGeneration++;
    this.vmx?.reset(); // RESET leaves VMX operation (SDM Vol. 3C 23.8)
    resetState(this);
    this.blocks.clear();
    this.mmu.flush(true);
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
      const executed = this.counters[COUNTER_RETIRED]! > this.counters[COUNTER_STEP_FROM]!;
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
    this.counters[COUNTER_STEP_FROM] = this.counters[COUNTER_RETIRED]!;
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
  runDebug(budget: number, resumeOverBreakpoint = true): CpuStopReason {
    this.watching = this.watchpoints.size > 0;
    try {
      return this.debugLoop(budget, resumeOverBreakpoint);
    } finally {
      this.watching = false;
    }
  }

  /** `resumeOverBreakpoint`: a breakpoint at the current instruction does not stop it (the debugger resumes from it). */
  private debugLoop(budget: number, resumeOverBreakpoint: boolean): CpuStopReason {
    const s = this.s;
    const counters = this.counters;
    const filter = this.breakpointFilter;
    let remaining = budget;
    let skipBreakpointAt = resumeOverBreakpoint ? (s[SEG_BASE + Seg.CS]! + s[EIP]!) >>> 0 : -1; // resume over the current one
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
    const vmx = this.vmx?.saveState();
    return vmx === undefined ? { state: this.s.slice(), counters: this.counters.slice() } : { state: this.s.slice(), counters: this.counters.slice(), vmx };
  }

  loadState(snapshot: CpuSnapshot): void {
    this.codeGeneration++;
    this.s.set(snapshot.state);
    this.counters.set(snapshot.counters);
    this.blocks.clear();
    this.vmx?.loadState(snapshot.vmx);
    this.mmu.flush(true);
    this.stopRequest = null;
  }
}
