// Per-layer instruction accounting for trap-and-emulate (issue 5): the guest kernel returns to ring 3 with an
// IRET the real CPU executes without a trap, so a run slice that starts in the kernel may end in user code.
// Before each kernel slice the engine asks how far the straight-line code at EIP goes: up to and including an
// IRET (the slice then stops exactly after it) or up to the first other block boundary (the next slice starts
// at the next block and is scanned again). Decoding uses the shared ISA decoder on bytes peeked through the
// real CPU's translation; results are cached per linear address (stale entries only split slices differently,
// never change what the guest does).

import type { Cpu } from '../../cpu/cpu';
import { DecodedInstruction, decodeInstruction, MAX_INSTRUCTION_LENGTH } from '../../isa/decoder';
import { INSTRUCTION_FORMS } from '../../isa/table';

/** Instructions scanned at most from one start address. */
const MAX_SCAN = 64;
const CACHE_LIMIT = 4096;

export class IretScanner {
  private readonly decoded = new DecodedInstruction();
  private readonly bytes = new Uint8Array(MAX_INSTRUCTION_LENGTH);
  /** linear start → +n: the n-th instruction is an IRET; -n: n instructions up to another block boundary. */
  private readonly cache = new Map<number, number>();

  constructor(private readonly cpu: Cpu) {}

  /**
   * How many instructions to run from `linear` so the slice ends right after an IRET (positive) or at the end
   * of the straight-line block (negative count); 0 when the code cannot be decoded (no limit).
   */
  scan(linear: number): number {
    const cached = this.cache.get(linear);
    if (cached !== undefined) return cached;
    const result = this.scanUncached(linear >>> 0);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(linear, result);
    return result;
  }

  /** Forget cached scans (new code generation after a CR3/mode change or a code write, if the engine cares). */
  clear(): void {
    this.cache.clear();
  }

  private scanUncached(linear: number): number {
    let address = linear;
    for (let index = 1; index <= MAX_SCAN; index++) {
      let count = 0;
      for (; count < MAX_INSTRUCTION_LENGTH; count++) {
        const byte = this.cpu.peekLinear((address + count) | 0);
        if (byte === undefined) break;
        this.bytes[count] = byte;
      }
      if (count === 0) return index > 1 ? -(index - 1) : 0;
      const d = decodeInstruction(this.bytes, 0, count, 32, this.decoded);
      const form = INSTRUCTION_FORMS[d.formIndex];
      if (form === undefined || d.length === 0) return index > 1 ? -(index - 1) : 0;
      if (form.mnemonic === 'iret' || form.mnemonic === 'iretw') return index;
      if (form.blockBoundary) return -index;
      address = (address + d.length) >>> 0;
    }
    return -MAX_SCAN;
  }
}
