// ELF32 relocatable object output (-f elf32), laid out exactly as NASM 2.16 writes it: ELF header, the
// section header table at 0x40, then each section's contents at 16-byte aligned offsets: the user
// sections, .shstrtab, .symtab, .strtab and one .rel<name> per section with relocations.
// Symbols: null, FILE, one STT_SECTION per section, locals in definition order, then globals (externs
// and `global` labels) in definition order; relocations to defined labels go through the section symbol
// with the offset stored in the field (REL), externs through their own symbol. System V ABI, i386 supplement.
import type { Assembler, SymbolEntry } from './assembler';
import { EXTERN_BASE, Section } from './sections';

const SHT_PROGBITS = 1;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOBITS = 8;
const SHT_REL = 9;
const SHF_WRITE = 1;
const SHF_ALLOC = 2;
const SHF_EXECINSTR = 4;
const SHN_ABS = 0xfff1;
const R_386_32 = 1;
const R_386_PC32 = 2;
const R_386_16 = 20;
const R_386_PC16 = 21;
const R_386_8 = 22;
const R_386_PC8 = 23;

class ByteWriter {
  bytes = new Uint8Array(4096);
  length = 0;
  private ensure(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.bytes[this.length++] = v & 0xff;
  }
  u16(v: number): void {
    this.u8(v);
    this.u8(v >>> 8);
  }
  u32(v: number): void {
    this.u16(v & 0xffff);
    this.u16(v >>> 16);
  }
  raw(data: Uint8Array): void {
    this.ensure(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
  }
  padTo(offset: number): void {
    while (this.length < offset) this.u8(0);
  }
  result(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function utf8(text: string): number[] {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  }
  return out;
}

class StringTable {
  private readonly parts: number[] = [0];
  add(name: string): number {
    const offset = this.parts.length;
    for (const b of utf8(name)) this.parts.push(b);
    this.parts.push(0);
    return offset;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

interface SectionHeader {
  name: number;
  type: number;
  flags: number;
  data: Uint8Array;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

/** Symbols that go into .symtab besides the file and section symbols. */
function outputSymbols(asm: Assembler): { locals: SymbolEntry[]; globals: SymbolEntry[]; all: SymbolEntry[] } {
  const all = [...asm.symbols.values()].filter((s) => s.definedPass > 0).sort((a, b) => a.order - b.order);
  const isGlobal = (s: SymbolEntry): boolean => s.kind === 'extern' || asm.globalsDeclared.has(s.name);
  return { locals: all.filter((s) => !isGlobal(s)), globals: all.filter(isGlobal), all };
}

export function writeElf32(asm: Assembler, fileName: string): Uint8Array {
  const sections = asm.usedSections();
  const elfIndex = new Map<Section, number>();
  sections.forEach((s, k) => elfIndex.set(s, k + 1));
  const shstrtab = new StringTable();
  const strtab = new StringTable();
  const headers: SectionHeader[] = [];
  for (const s of sections) {
    headers.push({
      name: shstrtab.add(s.name),
      type: s.progbits ? SHT_PROGBITS : SHT_NOBITS,
      flags: (s.write ? SHF_WRITE : 0) | (s.alloc ? SHF_ALLOC : 0) | (s.exec ? SHF_EXECINSTR : 0),
      data: s.content(),
      size: s.size,
      link: 0,
      info: 0,
      align: s.align,
      entsize: 0,
    });
  }
  const shstrtabIndex = headers.length + 1;
  const symtabIndex = shstrtabIndex + 1;
  const strtabIndex = symtabIndex + 1;
  const shstrName = shstrtab.add('.shstrtab');
  const symtabName = shstrtab.add('.symtab');
  const strtabName = shstrtab.add('.strtab');

  // Symbol table.
  const symtab = new ByteWriter();
  const writeSymbol = (name: number, value: number, info: number, shndx: number): void => {
    symtab.u32(name);
    symtab.u32(value);
    symtab.u32(0);
    symtab.u8(info);
    symtab.u8(0);
    symtab.u16(shndx);
  };
  writeSymbol(0, 0, 0, 0);
  writeSymbol(strtab.add(fileName), 0, 4, SHN_ABS);
  for (const s of sections) writeSymbol(0, 0, 3, elfIndex.get(s)!);
  const { locals, globals, all } = outputSymbols(asm);
  const nameOffset = new Map<SymbolEntry, number>();
  for (const sym of all) nameOffset.set(sym, strtab.add(sym.name));
  const symbolIndex = new Map<SymbolEntry, number>();
  let next = 2 + sections.length;
  const writeEntry = (sym: SymbolEntry, bind: number): void => {
    symbolIndex.set(sym, next++);
    if (sym.kind === 'extern') return writeSymbol(nameOffset.get(sym)!, 0, bind << 4, 0);
    const inSection = sym.kind === 'label' ? sym.section : sym.base > 0 && sym.base < EXTERN_BASE ? sym.base - 1 : -1;
    const section = inSection >= 0 ? asm.sections[inSection] : undefined;
    const shndx = section ? elfIndex.get(section) ?? SHN_ABS : SHN_ABS;
    writeSymbol(nameOffset.get(sym)!, sym.offset >>> 0, bind << 4, shndx);
  };
  for (const sym of locals) writeEntry(sym, 0);
  const firstGlobal = next;
  for (const sym of globals) writeEntry(sym, 1);

  // Relocations, one REL section per section that has any.
  const relHeaders: SectionHeader[] = [];
  for (const s of sections) {
    if (s.relocations.length === 0) continue;
    const rel = new ByteWriter();
    for (const r of s.relocations) {
      let sym = 0;
      if (r.base >= EXTERN_BASE) sym = symbolIndex.get(asm.externs[r.base - EXTERN_BASE]!) ?? 0;
      else {
        const target = asm.sections[r.base - 1];
        sym = target ? 1 + elfIndex.get(target)! : 0;
      }
      const type = r.size === 4 ? (r.pcRelative ? R_386_PC32 : R_386_32) : r.size === 2 ? (r.pcRelative ? R_386_PC16 : R_386_16) : r.pcRelative ? R_386_PC8 : R_386_8;
      rel.u32(r.offset);
      rel.u32((sym << 8) | type);
    }
    const data = rel.result();
    relHeaders.push({ name: shstrtab.add(`.rel${s.name}`), type: SHT_REL, flags: 0, data, size: data.length, link: symtabIndex, info: elfIndex.get(s)!, align: 4, entsize: 8 });
  }
  const shstrData = shstrtab.bytes();
  const symData = symtab.result();
  const strData = strtab.bytes();
  headers.push({ name: shstrName, type: SHT_STRTAB, flags: 0, data: shstrData, size: shstrData.length, link: 0, info: 0, align: 1, entsize: 0 });
  headers.push({ name: symtabName, type: SHT_SYMTAB, flags: 0, data: symData, size: symData.length, link: strtabIndex, info: firstGlobal, align: 4, entsize: 16 });
  headers.push({ name: strtabName, type: SHT_STRTAB, flags: 0, data: strData, size: strData.length, link: 0, info: 0, align: 1, entsize: 0 });
  headers.push(...relHeaders);

  // Layout: contents at 16-byte aligned offsets after the section header table.
  const shnum = headers.length + 1;
  let offset = 0x40 + shnum * 40;
  const offsets: number[] = [];
  for (const h of headers) {
    offset = (offset + 15) & ~15;
    offsets.push(offset);
    if (h.type !== SHT_NOBITS) offset += h.data.length;
  }
  const out = new ByteWriter();
  out.raw(Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  out.u16(1); // ET_REL
  out.u16(3); // EM_386
  out.u32(1);
  out.u32(0); // entry
  out.u32(0); // phoff
  out.u32(0x40); // shoff
  out.u32(0); // flags
  out.u16(52);
  out.u16(0);
  out.u16(0);
  out.u16(40);
  out.u16(shnum);
  out.u16(shstrtabIndex);
  out.padTo(0x40);
  for (let k = 0; k < 10; k++) out.u32(0);
  headers.forEach((h, k) => {
    out.u32(h.name);
    out.u32(h.type);
    out.u32(h.flags);
    out.u32(0);
    out.u32(offsets[k]!);
    out.u32(h.size);
    out.u32(h.link);
    out.u32(h.info);
    out.u32(h.align);
    out.u32(h.entsize);
  });
  headers.forEach((h, k) => {
    if (h.type === SHT_NOBITS) return;
    out.padTo(offsets[k]!);
    out.raw(h.data);
  });
  out.padTo((out.length + 15) & ~15);
  return out.result();
}
