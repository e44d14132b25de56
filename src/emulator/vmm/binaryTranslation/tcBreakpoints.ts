// Debugger breakpoints on translated guest kernel code. The CPU honours breakpoints on the linear address it
// executes, and translated code runs from the translation cache, so a guest breakpoint is mirrored onto the TC
// address where each live translation starts that guest instruction (the boundary maps of translator.ts). The
// translations themselves never change for a breakpoint: the translation cache, and with it how many
// instructions the CPU retires for the same guest path, is the same whatever breakpoints the debugger sets —
// which reverse debugging needs (a replay from a checkpoint must meet the recorded positions). Guest user code
// and instructions run in place keep the CPU breakpoint on the guest address itself (set by the engine too).

import type { Translation } from './translationCache';

export interface BreakpointSink {
  set(linear: number): void;
  clear(linear: number): void;
}

/** The TC offset where instruction `index` of a translation starts, or undefined (it has no own boundary). */
export function instructionOffset(t: Translation, index: number): number | undefined {
  const plan = t.plan;
  const eip = plan.instructions[index]!.eip;
  for (let j = 0; j < plan.boundaryOffsets.length; j++) {
    if (plan.boundaryInstructions[j] === index && plan.boundaryEips[j] === eip) return plan.boundaryOffsets[j];
  }
  return undefined;
}

export class TcBreakpoints {
  /** Guest linear addresses the debugger set breakpoints on. */
  readonly guest = new Set<number>();
  /** TC linear addresses this mirror set on the CPU. */
  private readonly placed = new Set<number>();
  private dirty = false;
  private placedFor = -1;

  constructor(private readonly cpu: BreakpointSink) {}

  /** The set of guest breakpoints or the translations changed: recompute at the next sync. */
  invalidate(): void {
    this.dirty = true;
  }

  /**
   * Places the CPU breakpoints for the live translations (`generation` changes whenever translations are
   * installed, invalidated or flushed; `tcLinearBase` is where the CPU sees TC address 0).
   */
  sync(translations: () => Iterable<Translation>, generation: number, tcLinearBase: number): void {
    const key = generation * 0x100000000 + (tcLinearBase >>> 0);
    if (!this.dirty && key === this.placedFor) return;
    this.dirty = false;
    this.placedFor = key;
    if (this.guest.size === 0 && this.placed.size === 0) return;
    const wanted = new Set<number>();
    if (this.guest.size > 0) {
      for (const t of translations()) {
        if (t.invalidated !== undefined) continue;
        t.plan.instructions.forEach((instruction, index) => {
          if (!this.guest.has(instruction.guestAddress >>> 0)) return;
          const offset = instructionOffset(t, index);
          if (offset !== undefined) wanted.add((tcLinearBase + t.tcStart + offset) >>> 0);
        });
      }
    }
    for (const linear of this.placed) {
      if (wanted.has(linear) || this.guest.has(linear)) continue;
      this.cpu.clear(linear);
      this.placed.delete(linear);
    }
    for (const linear of wanted) {
      if (this.placed.has(linear)) continue;
      this.cpu.set(linear);
      this.placed.add(linear);
    }
  }
}
