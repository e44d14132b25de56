// A minimal ELF32 reader for loading kernels: the identification, the file header and PT_LOAD program
// headers (System V ABI, "ELF Header" and "Program Header"; Intel386 supplement: EM_386). Malformed input
// yields an error message, never an exception.

export const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const; // "\x7fELF"
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const ELF32_EHDR_SIZE = 52;
const ELF32_PHDR_SIZE = 32;

export interface Elf32Segment {
  readonly fileOffset: number;
  readonly fileSize: number;
  readonly physicalAddress: number;
  readonly virtualAddress: number;
  readonly memorySize: number;
}

export interface Elf32Image {
  readonly entry: number;
  readonly segments: readonly Elf32Segment[];
}

export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && ELF_MAGIC.every((b, i) => bytes[i] === b);
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Parse an executable ELF32 for the Intel386 and list its loadable segments. */
export function parseElf32(bytes: Uint8Array): Elf32Image | { error: string } {
  if (!isElf(bytes)) return { error: 'not an ELF file (no \\x7fELF magic)' };
  if (bytes.length < ELF32_EHDR_SIZE) return { error: 'truncated ELF header' };
  if (bytes[4] !== ELFCLASS32) return { error: 'not a 32-bit ELF (EI_CLASS is not ELFCLASS32); build with nasm -f elf32 and ld -m elf_i386' };
  if (bytes[5] !== ELFDATA2LSB) return { error: 'not a little-endian ELF' };
  if (u16(bytes, 16) !== ET_EXEC) return { error: 'not an executable ELF (e_type is not ET_EXEC): link the object with ld first' };
  if (u16(bytes, 18) !== EM_386) return { error: `ELF machine ${u16(bytes, 18)} is not EM_386 (Intel 80386)` };
  const entry = u32(bytes, 24);
  const phoff = u32(bytes, 28);
  const phentsize = u16(bytes, 42);
  const phnum = u16(bytes, 44);
  if (phnum === 0) return { error: 'the ELF has no program headers' };
  if (phentsize < ELF32_PHDR_SIZE) return { error: `program header size ${phentsize} is too small` };
  if (phoff + phnum * phentsize > bytes.length) return { error: 'program headers extend past the end of the file' };
  const segments: Elf32Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (u32(bytes, at) !== PT_LOAD) continue;
    const segment = {
      fileOffset: u32(bytes, at + 4),
      virtualAddress: u32(bytes, at + 8),
      physicalAddress: u32(bytes, at + 12),
      fileSize: u32(bytes, at + 16),
      memorySize: u32(bytes, at + 20),
    };
    if (segment.fileOffset + segment.fileSize > bytes.length) return { error: `segment ${i} extends past the end of the file` };
    if (segment.fileSize > segment.memorySize) return { error: `segment ${i} has p_filesz > p_memsz` };
    if (segment.memorySize > 0) segments.push(segment);
  }
  if (segments.length === 0) return { error: 'the ELF has no loadable (PT_LOAD) segments' };
  return { entry, segments };
}
