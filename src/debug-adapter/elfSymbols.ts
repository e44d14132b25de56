// SPDX-License-Identifier: MIT
// Symbols of a prebuilt ELF32 kernel (nasm -f elf32 + ld), so labels work for guests without a source map:
// function breakpoints, names in the call stack and the Disassembly view. Reads the section header table
// and the SHT_SYMTAB section with its string table (System V ABI, "Object Files": Sections, Symbol Table;
// Elf32_Sym is 16 bytes: name, value, size, info, other, shndx). Malformed input yields no symbols.

export interface ElfSymbol {
  readonly name: string;
  readonly address: number;
}

const SHT_SYMTAB = 2;
const STT_SECTION = 3;
const STT_FILE = 4;
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;

/** Named, defined symbols of an ELF32 little-endian image (empty for anything else). */
export function readElfSymbols(image: Uint8Array): ElfSymbol[] {
  if (image.length < 52 || image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) return [];
  if (image[4] !== 1 || image[5] !== 1) return []; // ELFCLASS32, ELFDATA2LSB
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const u32 = (o: number): number | undefined => (o >= 0 && o + 4 <= image.length ? view.getUint32(o, true) : undefined);
  const u16 = (o: number): number | undefined => (o >= 0 && o + 2 <= image.length ? view.getUint16(o, true) : undefined);
  const shoff = u32(0x20) ?? 0;
  const shentsize = u16(0x2e) ?? 0;
  const shnum = u16(0x30) ?? 0;
  if (shoff === 0 || shentsize < 40 || shnum === 0) return [];
  const section = (index: number): { type: number; offset: number; size: number; link: number; entsize: number } | undefined => {
    const base = shoff + index * shentsize;
    const type = u32(base + 4);
    const offset = u32(base + 16);
    const size = u32(base + 20);
    const link = u32(base + 24);
    const entsize = u32(base + 36);
    if (type === undefined || offset === undefined || size === undefined || link === undefined || entsize === undefined) return undefined;
    return { type, offset, size, link, entsize };
  };
  const symbols: ElfSymbol[] = [];
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab === undefined || symtab.type !== SHT_SYMTAB || symtab.entsize < 16) continue;
    const strtab = section(symtab.link);
    if (strtab === undefined) continue;
    const count = Math.floor(symtab.size / symtab.entsize);
    for (let k = 1; k < count; k++) {
      const at = symtab.offset + k * symtab.entsize;
      const nameOffset = u32(at);
      const value = u32(at + 4);
      const info = image[at + 12];
      const shndx = u16(at + 14);
      if (nameOffset === undefined || value === undefined || info === undefined || shndx === undefined) break;
      const type = info & 0xf;
      if (nameOffset === 0 || type === STT_SECTION || type === STT_FILE || shndx === SHN_UNDEF || shndx === SHN_ABS) continue;
      const start = strtab.offset + nameOffset;
      let end = start;
      while (end < image.length && end < strtab.offset + strtab.size && image[end] !== 0) end++;
      const name = new TextDecoder('latin1').decode(image.subarray(start, end));
      if (name !== '') symbols.push({ name, address: value >>> 0 });
    }
  }
  return symbols;
}
