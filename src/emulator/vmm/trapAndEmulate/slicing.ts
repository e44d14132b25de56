// How far the trap-and-emulate run loop lets the guest run before the VMM looks again (engine.ts run()).
// Guest instructions are charged to the layer (CPL) they ran in. A slice that starts in ring 3 stays there
// (every way back to the kernel traps into the VMM); one that starts in the kernel can drop to ring 3 through
// an IRET the CPU executes without a trap. So once the guest has used ring 3, kernel slices after a VMM entry
// end at block boundaries, and right after an IRET when the straight-line code reaches one (iretScan.ts), for
// the first KERNEL_SCAN_BUDGET kernel instructions; after that they run in chunks doubling up to
// KERNEL_CHUNK_MAX (a long kernel stretch runs at full speed; its eventual IRET may then be charged to the
// kernel together with the rest of its chunk).

import type { Layer } from '../layers';
import type { IretScanner } from './iretScan';

const KERNEL_CHUNK_MIN = 1;
const KERNEL_CHUNK_MAX = 4096;
/** Kernel instructions after a VMM entry during which kernel slices are cut at block ends to find the IRET. */
const KERNEL_SCAN_BUDGET = 256;

export class KernelSlicer {
  private kernelChunk = KERNEL_CHUNK_MIN;

  /** @param eipLinear the linear address of the guest's next instruction (CS base + EIP) */
  constructor(private readonly scanner: IretScanner, private readonly eipLinear: () => number) {}

  /** A VMM entry: the next kernel slices look for the IRET again. */
  reset(): void {
    this.kernelChunk = KERNEL_CHUNK_MIN;
  }

  /**
   * A kernel slice once the guest uses ring 3: up to and including the next IRET when the straight-line code
   * at EIP reaches one (exact), else to the end of that block while the kernel has run few instructions since
   * the last VMM entry, else growing chunks (long kernel stretches run at full speed).
   */
  kernelSliceLimit(): number {
    if (this.kernelChunk <= KERNEL_SCAN_BUDGET) {
      const scanned = this.scanner.scan(this.eipLinear());
      if (scanned !== 0) {
        const count = Math.abs(scanned);
        this.kernelChunk += count;
        return count;
      }
    }
    const chunk = this.kernelChunk;
    this.kernelChunk = Math.min(this.kernelChunk * 2, KERNEL_CHUNK_MAX);
    return chunk;
  }

  /**
   * How far the guest may run while an interrupt waits for the virtual IF: one instruction when the guest can
   * raise it silently (`silently`, a paravirtual guest's event mask); else, in the guest kernel, up to and
   * including the next IRET or block end (a return to ring 3 — IRET or far RET, both block ends — makes the
   * virtual IF the real IF = 1; after each such slice the run loop re-reads the virtual IF and injects); at
   * CPL 3 nothing changes IF silently, so no limit.
   */
  interruptWindowSlice(layer: Layer, silently: boolean): number {
    if (silently) return 1;
    if (layer === 'guest-user') return Number.POSITIVE_INFINITY;
    const scanned = this.scanner.scan(this.eipLinear());
    return scanned === 0 ? 1 : Math.abs(scanned);
  }
}
