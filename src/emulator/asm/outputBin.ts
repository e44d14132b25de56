// Flat binary layout and output (-f bin, NASM manual 8.1): sections placed after every pass, progbits
// sections written at their load addresses relative to `org`, gaps zero-filled; nobits take no file space.
import type { Assembler } from './assembler';
import { alignUp, Section } from './sections';

/** Largest flat image we build (a far `start=` or `org` must not allocate gigabytes). */
export const MAX_BIN_IMAGE = 64 * 1024 * 1024;

/**
 * Section placement for -f bin (NASM manual 8.1.3): .text first at `org`, then the other progbits
 * sections in order of definition, then nobits sections; each aligned to its alignment unless it has
 * `start=`; `follows=` chains after the named section; `vstart=` gives a different run address.
 */
export function layoutBinSections(asm: Assembler): void {
  const used = asm.usedSections();
  const ordered = [...used.filter((s) => s.name === '.text'), ...used.filter((s) => s.name !== '.text' && s.progbits), ...used.filter((s) => !s.progbits)];
  let cursor = asm.org;
  const placed = new Map<string, Section>();
  for (const s of ordered) {
    let start: number;
    if (s.start !== undefined) start = s.start;
    else if (s.follows !== undefined && placed.has(s.follows)) {
      const prev = placed.get(s.follows)!;
      start = alignUp(prev.address + prev.size, s.align);
    } else start = alignUp(cursor, s.align);
    if (s.name === '.text' && s.start === undefined) start = asm.org;
    s.address = s.vstart ?? start;
    s.loadAddress = start;
    cursor = Math.max(cursor, start + s.size);
    placed.set(s.name, s);
  }
}

/** Size of the flat image the sections span. */
export function binImageSize(asm: Assembler): number {
  let end = 0;
  for (const s of asm.usedSections()) if (s.progbits && s.size > 0) end = Math.max(end, s.loadAddress - asm.org + s.size);
  return end;
}

export function writeBin(asm: Assembler): Uint8Array {
  const sections = asm.usedSections().filter((s) => s.progbits && s.size > 0);
  const end = Math.min(binImageSize(asm), MAX_BIN_IMAGE);
  const image = new Uint8Array(Math.max(0, end));
  for (const s of sections) {
    const at = s.loadAddress - asm.org;
    if (at < 0) continue;
    image.set(s.bytes.subarray(0, s.size), at);
  }
  return image;
}
