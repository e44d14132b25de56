// Processor initialisation: the power-on/RESET state (SDM Vol. 3A 9.1.1, Table 9-1) and the flat 32-bit
// protected-mode state a Multiboot loader hands to a kernel (Multiboot 0.6.96 §3.2 "Machine state").

import type { Cpu } from './cpu';
import { resetMsrs } from './identity';
import { writeEflags } from './lazyFlags';
import { loadSegmentCache } from './segments';
import {
  CPL, CR, Cr0, DR, EIP, GDTR_BASE, GDTR_LIMIT, IDTR_BASE, IDTR_LIMIT, LDTR_SELECTOR, MODE, PENDING_EVENT,
  SEG_ACCESS, SEG_BASE, SEG_LIMIT, SEG_RIGHTS, SEG_SELECTOR, SEG_VALID_HIGH, SEG_VALID_LOW, STATE_SLOTS, Seg,
  SegmentRight, TR_SELECTOR,
} from './stateLayout';

/** RESET: real mode at F000:FFF0 with CS.base = FFFF0000, EDX = family/model/stepping. */
export function resetState(cpu: Cpu): void {
  const s = cpu.s;
  for (let i = 0; i < STATE_SLOTS; i++) s[i] = 0;
  cpu.counters.fill(0);
  s[2] = (6 << 8) | (15 << 4) | 11;
  s[EIP] = 0xfff0;
  writeEflags(s, 2);
  s[CR] = 0x60000010; // CD NW ET
  s[DR + 6] = 0xffff0ff0;
  s[DR + 7] = 0x400;
  s[GDTR_LIMIT] = 0xffff;
  s[IDTR_LIMIT] = 0xffff;
  s[GDTR_BASE] = 0;
  s[IDTR_BASE] = 0;
  for (let seg = 0; seg < 6; seg++) {
    s[SEG_SELECTOR + seg] = 0;
    s[SEG_BASE + seg] = 0;
    s[SEG_LIMIT + seg] = 0xffff;
    s[SEG_ACCESS + seg] = seg === Seg.CS ? 0x9b : 0x93;
    s[SEG_VALID_LOW + seg] = 0;
    s[SEG_VALID_HIGH + seg] = 0xffff;
    s[SEG_RIGHTS + seg] = SegmentRight.Usable | SegmentRight.Readable | SegmentRight.Writable;
  }
  s[SEG_SELECTOR + Seg.CS] = 0xf000;
  s[SEG_BASE + Seg.CS] = 0xffff0000 | 0;
  s[CPL] = 0;
  s[MODE] = 0;
  s[PENDING_EVENT] = -1;
  resetMsrs(cpu);
  cpu.stopRequest = null;
}

export interface FlatModeOptions {
  /** Code selector (QEMU's Multiboot loader uses 0x10) and data selector for DS ES FS GS SS. */
  readonly codeSelector?: number;
  readonly dataSelector?: number;
  readonly eip: number;
  readonly esp?: number;
}

/**
 * Flat 32-bit protected mode, ring 0, paging off, interrupts off: base 0 and 4 GiB limit in every
 * segment cache. The GDT itself is the guest's business (Multiboot: "the OS image must create its own").
 */
export function enterFlatProtectedMode(cpu: Cpu, options: FlatModeOptions): void {
  const s = cpu.s;
  const code = options.codeSelector ?? 0x10;
  const data = options.dataSelector ?? 0x18;
  s[CR] = (s[CR]! & ~(Cr0.PG | 0x60000000)) | Cr0.PE | Cr0.ET;
  loadSegmentCache(cpu, Seg.CS, code, 0x0000ffff, 0x00cf9b00);
  for (const seg of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) loadSegmentCache(cpu, seg, data, 0x0000ffff, 0x00cf9300);
  s[CPL] = 0;
  s[LDTR_SELECTOR] = 0;
  s[TR_SELECTOR] = 0;
  s[EIP] = options.eip;
  if (options.esp !== undefined) s[4] = options.esp;
  writeEflags(s, 2);
  cpu.mmu.flush(true);
  cpu.blocks.clear();
}
