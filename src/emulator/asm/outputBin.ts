// Flat binary output (-f bin, NASM manual 8.1): progbits sections placed at their load addresses
// relative to `org`, gaps zero-filled; nobits sections take no file space.
import type { Assembler } from './assembler';

/** Largest flat image we build (a far `start=` or `org` must not allocate gigabytes). */
export const MAX_BIN_IMAGE = 64 * 1024 * 1024;

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
