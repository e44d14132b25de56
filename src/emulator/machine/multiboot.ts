// A Multiboot (version 0.6.96) loader for ELF32 kernels and for flat images whose header carries the a.out
// kludge addresses, entering the guest as QEMU's `-kernel` does: the kernel copied to its physical load
// addresses, the Multiboot information (flags 0x24F: memory, boot device, command line, modules, memory map,
// boot loader name) at 0x9500, the memory map at 0x9000, the command line and loader name in the page after
// the kernel, QEMU's option-ROM GDT, and the entry register state of layout.ts. Bad images give a message.
import type { ProtectedModeEntry } from './cpuPort';
import { isElf, parseElf32 } from './elf32';
import * as L from './layout';
import type { PhysicalMemory } from './physicalMemory';

/** Multiboot information flags (Multiboot spec 3.3). */
export const MBI_FLAG_MEMORY = 1 << 0;
export const MBI_FLAG_BOOT_DEVICE = 1 << 1;
export const MBI_FLAG_CMDLINE = 1 << 2;
export const MBI_FLAG_MODULES = 1 << 3;
export const MBI_FLAG_MEMORY_MAP = 1 << 6;
export const MBI_FLAG_LOADER_NAME = 1 << 9;
/** Header flag bit 16: the address fields are valid (the a.out kludge). */
export const HEADER_FLAG_ADDRESSES = 1 << 16;
/** Header flags the loader understands among the required low 16 (page-align modules, memory info, video). */
const SUPPORTED_REQUIRED_FLAGS = 0x0007;
/** QEMU reports no BIOS disk: partition fields all ones, drive 0x80. */
const BOOT_DEVICE = 0x8000ffff;
const E820_USABLE = 1;
const E820_RESERVED = 2;

export interface MultibootHeader {
  readonly offset: number;
  readonly flags: number;
  readonly headerAddress: number;
  readonly loadAddress: number;
  readonly loadEndAddress: number;
  readonly bssEndAddress: number;
  readonly entryAddress: number;
}

export interface BootOptions {
  /** The kernel's name as the command line's first word (QEMU uses the -kernel path as given). */
  readonly kernelName: string;
  /** The rest of the command line (QEMU -append), may be empty. */
  readonly append?: string;
}

export interface LoadedKernel {
  readonly entry: ProtectedModeEntry;
  readonly format: 'elf32' | 'multiboot-aout-kludge';
  /** Physical [start, end) of what was loaded (including bss). */
  readonly loadStart: number;
  readonly loadEnd: number;
  readonly header: MultibootHeader;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

/** Find the Multiboot header: 32-bit aligned, within the first 8 KiB, magic + flags + checksum = 0. */
export function findMultibootHeader(image: Uint8Array): MultibootHeader | undefined {
  const limit = Math.min(image.length, L.MULTIBOOT_SEARCH_LIMIT) - 12;
  for (let at = 0; at <= limit; at += 4) {
    if (u32(image, at) !== L.MULTIBOOT_HEADER_MAGIC) continue;
    const flags = u32(image, at + 4);
    if (((L.MULTIBOOT_HEADER_MAGIC + flags + u32(image, at + 8)) >>> 0) !== 0) continue;
    const field = (i: number) => (at + 12 + 4 * i + 4 <= image.length ? u32(image, at + 12 + 4 * i) : 0);
    return {
      offset: at,
      flags,
      headerAddress: field(0),
      loadAddress: field(1),
      loadEndAddress: field(2),
      bssEndAddress: field(3),
      entryAddress: field(4),
    };
  }
  return undefined;
}

/** Load `image` into `memory` and prepare the hand-over. Returns an error message for unbootable input. */
export function loadMultiboot(image: Uint8Array, memory: PhysicalMemory, options: BootOptions): LoadedKernel | { error: string } {
  const header = findMultibootHeader(image);
  if (header === undefined) {
    return { error: isElf(image)
      ? 'no Multiboot header in the first 8 KiB of the ELF (magic 0x1BADB002, flags, checksum)'
      : 'not a Multiboot kernel: neither an ELF32 file nor a flat image with a Multiboot header in its first 8 KiB' };
  }
  const unsupported = header.flags & 0xffff & ~SUPPORTED_REQUIRED_FLAGS;
  if (unsupported !== 0) return { error: `the Multiboot header requires features this loader lacks (flags 0x${unsupported.toString(16)})` };
  const ram = memory.ram;
  let loadStart: number;
  let loadEnd: number;
  let entryPoint: number;
  let format: LoadedKernel['format'];
  const copies: Array<() => void> = [];
  if (header.flags & HEADER_FLAG_ADDRESSES) {
    format = 'multiboot-aout-kludge';
    const fileStart = header.offset - (header.headerAddress - header.loadAddress);
    if (header.headerAddress < header.loadAddress || fileStart < 0) return { error: 'Multiboot header_addr lies before load_addr' };
    const loadLength = header.loadEndAddress !== 0 ? header.loadEndAddress - header.loadAddress : image.length - fileStart;
    if (loadLength < 0 || fileStart + loadLength > image.length) return { error: 'Multiboot load_end_addr points past the end of the image' };
    loadStart = header.loadAddress;
    loadEnd = Math.max(loadStart + loadLength, header.bssEndAddress);
    entryPoint = header.entryAddress;
    copies.push(() => {
      ram.set(image.subarray(fileStart, fileStart + loadLength), loadStart);
      ram.fill(0, loadStart + loadLength, loadEnd);
    });
  } else {
    const elf = parseElf32(image);
    if ('error' in elf) return { error: `${elf.error} (and the Multiboot header has no a.out kludge addresses)` };
    format = 'elf32';
    loadStart = Math.min(...elf.segments.map((s) => s.physicalAddress));
    loadEnd = Math.max(...elf.segments.map((s) => s.physicalAddress + s.memorySize));
    entryPoint = elf.entry;
    for (const s of elf.segments) {
      copies.push(() => {
        ram.set(image.subarray(s.fileOffset, s.fileOffset + s.fileSize), s.physicalAddress);
        ram.fill(0, s.physicalAddress + s.fileSize, s.physicalAddress + s.memorySize);
      });
    }
  }
  // QEMU writes "<kernel> <append>", keeping the separating space even when append is empty.
  const commandLine = `${options.kernelName} ${options.append ?? ''}`;
  const commandLineSpace = commandLine.length + 1;
  const stringsAt = loadStart + pageAlign(loadEnd - loadStart);
  const loaderNameAt = stringsAt + commandLineSpace;
  const stringsEnd = loaderNameAt + L.MULTIBOOT_LOADER_NAME.length + 1;
  if (loadStart < L.KERNEL_MINIMUM_ADDRESS) {
    return { error: `the kernel loads at 0x${loadStart.toString(16)}, below 1 MiB where the boot hand-over lives; link it at 0x100000 or above` };
  }
  if (loadEnd > ram.length || stringsEnd > ram.length) {
    return { error: `the kernel needs memory up to 0x${Math.max(loadEnd, stringsEnd).toString(16)}, beyond the machine's ${ram.length >> 20} MiB` };
  }
  if (entryPoint < loadStart || entryPoint >= loadEnd) {
    return { error: `the entry point 0x${entryPoint.toString(16)} lies outside the loaded image [0x${loadStart.toString(16)}, 0x${loadEnd.toString(16)})` };
  }
  for (const copy of copies) copy();
  writeString(memory, stringsAt, commandLine);
  writeString(memory, loaderNameAt, L.MULTIBOOT_LOADER_NAME);
  writeBootInfo(memory, stringsAt, loaderNameAt);
  writeGdt(memory);
  return {
    format,
    loadStart,
    loadEnd,
    header,
    entry: {
      eip: entryPoint,
      eax: L.MULTIBOOT_BOOTLOADER_MAGIC,
      ebx: L.MULTIBOOT_INFO_ADDRESS,
      esp: L.MULTIBOOT_ENTRY_ESP,
      eflags: L.MULTIBOOT_ENTRY_EFLAGS,
      cr0: L.MULTIBOOT_ENTRY_CR0,
      gdtBase: L.MULTIBOOT_GDT_ADDRESS,
      gdtLimit: L.MULTIBOOT_GDT.length * 8 - 1,
      idtBase: L.MULTIBOOT_ENTRY_IDT_BASE,
      idtLimit: L.MULTIBOOT_ENTRY_IDT_LIMIT,
      cs: L.MULTIBOOT_CODE_SELECTOR,
      ds: L.MULTIBOOT_DATA_SELECTOR,
      es: L.MULTIBOOT_DATA_SELECTOR,
      ss: L.MULTIBOOT_DATA_SELECTOR,
      fs: L.MULTIBOOT_DATA_SELECTOR,
      gs: L.MULTIBOOT_DATA_SELECTOR,
    },
  };
}

function pageAlign(n: number): number {
  return Math.ceil(n / 4096) * 4096;
}

function writeString(memory: PhysicalMemory, at: number, text: string): void {
  for (let i = 0; i < text.length; i++) memory.ram[at + i] = text.charCodeAt(i) & 0xff;
  memory.ram[at + text.length] = 0;
}

/** The BIOS memory map QEMU's firmware reports (E820 types), for RAM of `bytes`. */
export function memoryMap(bytes: number): Array<{ base: number; length: number; type: number }> {
  const topUsable = bytes - L.ACPI_RESERVED_BYTES;
  return [
    { base: 0, length: L.EBDA_START, type: E820_USABLE },
    { base: L.EBDA_START, length: 0xa0000 - L.EBDA_START, type: E820_RESERVED },
    { base: L.BIOS_ROM_START, length: 0x100000 - L.BIOS_ROM_START, type: E820_RESERVED },
    { base: 0x100000, length: topUsable - 0x100000, type: E820_USABLE },
    { base: topUsable, length: L.ACPI_RESERVED_BYTES, type: E820_RESERVED },
    { base: L.HIGH_BIOS_START, length: L.HIGH_BIOS_LENGTH, type: E820_RESERVED },
  ];
}

function writeBootInfo(memory: PhysicalMemory, commandLineAt: number, loaderNameAt: number): void {
  const mbi = L.MULTIBOOT_INFO_ADDRESS;
  memory.ram.fill(0, mbi, mbi + 88);
  const map = memoryMap(memory.ram.length);
  let at = L.MULTIBOOT_MMAP_ADDRESS;
  for (const e of map) {
    memory.write32(at, 20); // size of the entry after this field
    memory.write32(at + 4, e.base);
    memory.write32(at + 8, 0);
    memory.write32(at + 12, e.length);
    memory.write32(at + 16, 0);
    memory.write32(at + 20, e.type);
    at += 24;
  }
  const flags = MBI_FLAG_MEMORY | MBI_FLAG_BOOT_DEVICE | MBI_FLAG_CMDLINE | MBI_FLAG_MODULES | MBI_FLAG_MEMORY_MAP | MBI_FLAG_LOADER_NAME;
  memory.write32(mbi + 0, flags);
  memory.write32(mbi + 4, L.MEM_LOWER_KIB);
  memory.write32(mbi + 8, (map[3].length) / 1024); // mem_upper: KiB of usable memory from 1 MiB
  memory.write32(mbi + 12, BOOT_DEVICE);
  memory.write32(mbi + 16, commandLineAt);
  memory.write32(mbi + 20, 0); // mods_count
  memory.write32(mbi + 24, commandLineAt); // mods_addr (no modules)
  memory.write32(mbi + 44, map.length * 24); // mmap_length
  memory.write32(mbi + 48, L.MULTIBOOT_MMAP_ADDRESS);
  memory.write32(mbi + 64, loaderNameAt);
}

function writeGdt(memory: PhysicalMemory): void {
  L.MULTIBOOT_GDT.forEach(([low, high], i) => {
    memory.write32(L.MULTIBOOT_GDT_ADDRESS + 8 * i, low);
    memory.write32(L.MULTIBOOT_GDT_ADDRESS + 8 * i + 4, high);
  });
}
