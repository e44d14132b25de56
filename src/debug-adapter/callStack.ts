// SPDX-License-Identifier: MIT
// The guest call stack, tracked from executed call/ret/int/iret rather than from frame pointers (kernels
// written in assembly rarely keep EBP chains). While the debugger single-steps, every executed CALL pushes
// an exact frame (its return-address slot on the stack) and every interrupt or exception the CPU reports
// pushes an interrupt frame; RET/IRET pop them implicitly, because a frame is kept only while its slot is
// still on the live stack (slot ≥ ESP) and still holds its return address. During a full-speed continue
// the CPU is not observed per instruction, so on every stop the live stack between ESP and the lowest known
// frame is scanned for what those frames would have left: return addresses that directly follow a CALL
// instruction, and IRET frames (EIP, CS, EFLAGS with the always-one bit 1; SDM Vol. 3A 6.12.1 Figure 6-4).
import { disassembleOne } from '../emulator/disasm/disassembler';

export type InterruptSource = 'exception' | 'software-interrupt' | 'external-interrupt';

export interface GuestFrame {
  /** 'call': entered by CALL; 'interrupt': entered by an interrupt, exception or INT n. */
  readonly kind: 'call' | 'interrupt';
  /** Where the interrupted code continues: the instruction after the CALL, or the interrupted EIP. */
  readonly returnAddress: number;
  /** Linear address of the stack slot holding `returnAddress`. */
  readonly slot: number;
  /** Vector for interrupt frames, when known. */
  readonly vector?: number;
  /** What delivered it, when known: a CPU exception, INT n, or an external (hardware) interrupt. */
  readonly source?: InterruptSource;
  /** True when observed executing (stepping or a CPU event); false when recovered by the stack scan. */
  readonly exact: boolean;
}

/** What the tracker needs from the machine. */
export interface StackMemory {
  /** Side-effect-free byte read of linear memory; undefined if unmapped. */
  peek(linear: number): number | undefined;
  /** Side-effect-free bulk read of linear memory, up to the first unmapped byte. */
  readBlock(linear: number, length: number): Uint8Array;
  /** True when `address` may hold code worth trusting as a return address (e.g. inside the program). */
  isCodeAddress(address: number): boolean;
}

/** How far above ESP the scan looks (bytes). Kernel stacks in the samples are a few KiB. */
const SCAN_BYTES = 4096;

export class CallStackTracker {
  /** Bottom (oldest) first. */
  private frames: GuestFrame[] = [];
  private pendingInterrupt: { vector: number; source: InterruptSource } | null = null;

  constructor(private readonly memory: StackMemory) {}

  reset(): void {
    this.frames = [];
    this.pendingInterrupt = null;
    this.recentVectors.clear();
  }

  read32(linear: number): number | undefined {
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const b = this.memory.peek((linear + i) >>> 0);
      if (b === undefined) return undefined;
      value |= b << (8 * i);
    }
    return value >>> 0;
  }

  /** Vectors of recent interrupt deliveries by the EIP they will return to, to name recovered frames. */
  private readonly recentVectors = new Map<number, { vector: number; source: InterruptSource }>();

  /**
   * The CPU is about to deliver an interrupt or exception (reported by the CPU's event hook); `returnEip` is
   * the EIP the frame will hold (the faulting instruction, or the next one for traps and interrupts).
   */
  noteInterrupt(vector: number, source: InterruptSource, returnEip: number): void {
    this.pendingInterrupt = { vector, source };
    if (this.recentVectors.size >= 256) this.recentVectors.clear();
    this.recentVectors.set(returnEip >>> 0, { vector, source });
  }

  /**
   * After one single-stepped instruction: `executed` is the mnemonic that ran at `pc` (length `length`),
   * `stackTop` the linear address of the new top of stack.
   */
  afterStep(executedMnemonic: string, pc: number, length: number, stackTop: number): void {
    if (this.pendingInterrupt !== null) {
      const { vector, source } = this.pendingInterrupt;
      this.pendingInterrupt = null;
      const frame = this.findInterruptFrame(stackTop, 64);
      if (frame !== undefined) this.push({ ...frame, vector, source, exact: true });
    } else if (executedMnemonic === 'call') {
      const returnAddress = (pc + length) >>> 0;
      // Near and far CALL both leave the return EIP on top of the stack (a far call pushes CS first).
      if (this.read32(stackTop) === returnAddress) this.push({ kind: 'call', returnAddress, slot: stackTop, exact: true });
    }
    this.prune(stackTop);
  }

  /** Brings the frames in line with the live stack after a run the tracker did not watch. */
  reconcile(stackTop: number): void {
    this.pendingInterrupt = null;
    this.prune(stackTop);
    const lowest = this.frames.length > 0 ? this.frames[this.frames.length - 1]!.slot : (stackTop + SCAN_BYTES) >>> 0;
    const found: GuestFrame[] = [];
    const span = Math.min(SCAN_BYTES, Math.max(0, lowest - stackTop));
    const block = this.memory.readBlock(stackTop, span);
    const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
    for (let offset = 0; offset + 4 <= block.length; offset += 4) {
      const value = view.getUint32(offset, true);
      if (offset + 12 <= block.length && this.looksLikeIretFrame(value, view.getUint32(offset + 4, true), view.getUint32(offset + 8, true))) {
        const seen = this.recentVectors.get(value);
        found.push({ kind: 'interrupt', returnAddress: value, slot: (stackTop + offset) >>> 0, exact: false, ...(seen !== undefined ? seen : {}) });
        offset += 8; // skip CS and EFLAGS
        continue;
      }
      if (this.memory.isCodeAddress(value) && this.followsCall(value)) found.push({ kind: 'call', returnAddress: value, slot: (stackTop + offset) >>> 0, exact: false });
    }
    // `found` is top (lowest slot) first; frames are kept bottom first.
    for (let k = found.length - 1; k >= 0; k--) this.frames.push(found[k]!);
  }

  /** Frames, the most recent first. */
  topFirst(): readonly GuestFrame[] {
    return [...this.frames].reverse();
  }

  get depth(): number {
    return this.frames.length;
  }

  private push(frame: GuestFrame): void {
    this.frames.push(frame);
  }

  /** Drops frames whose slot has been popped (below ESP) or overwritten. */
  private prune(stackTop: number): void {
    let keep = this.frames.length;
    for (let k = this.frames.length - 1; k >= 0; k--) {
      const f = this.frames[k]!;
      if (f.slot < stackTop || this.read32(f.slot) !== f.returnAddress) keep = k;
      else break;
    }
    // Also drop any frame below an invalid one: the stack above a popped frame cannot be live.
    for (let k = 0; k < keep; k++) {
      const f = this.frames[k]!;
      if (f.slot < stackTop || this.read32(f.slot) !== f.returnAddress) {
        keep = k;
        break;
      }
    }
    this.frames.length = keep;
  }

  private findInterruptFrame(stackTop: number, searchBytes: number): GuestFrame | undefined {
    for (let slot = stackTop; slot - stackTop < searchBytes; slot += 4) {
      const frame = this.interruptFrameAt(slot);
      if (frame !== undefined) return frame;
    }
    return undefined;
  }

  /** An IRET frame at `slot`: EIP (code), CS (a selector), EFLAGS (bit 1 set, reserved bits clear). */
  private interruptFrameAt(slot: number): GuestFrame | undefined {
    const eip = this.read32(slot);
    const cs = this.read32((slot + 4) >>> 0);
    const eflags = this.read32((slot + 8) >>> 0);
    if (eip === undefined || cs === undefined || eflags === undefined) return undefined;
    return this.looksLikeIretFrame(eip, cs, eflags) ? { kind: 'interrupt', returnAddress: eip, slot, exact: false } : undefined;
  }

  private looksLikeIretFrame(eip: number, cs: number, eflags: number): boolean {
    if (cs === 0 || cs > 0xffff || (cs & 0xfff8) === 0) return false;
    if ((eflags & 0x2) === 0 || (eflags & 0xffc08028) !== 0) return false;
    return this.memory.isCodeAddress(eip);
  }

  /** True when the bytes just before `address` decode as a CALL ending exactly at `address`. */
  followsCall(address: number): boolean {
    const window = new Uint8Array(7);
    for (let i = 0; i < 7; i++) {
      const b = this.memory.peek((address - 7 + i) >>> 0);
      if (b === undefined) return false;
      window[i] = b;
    }
    for (const length of [5, 2, 3, 6, 7, 4]) {
      const insn = disassembleOne(window, 7 - length, (address - length) >>> 0);
      if (insn.length === length && /^call\b/.test(insn.text)) return true;
    }
    return false;
  }
}
