// Sections being assembled: a growable byte buffer per section plus its attributes (NASM manual 7.1.2 for
// bin's align/start/vstart/follows, 7.9.2 for elf's progbits/nobits/alloc/exec/write/align).

export interface Relocation {
  /** Offset of the field within its section. */
  readonly offset: number;
  readonly size: 1 | 2 | 4;
  readonly pcRelative: boolean;
  /** Relocation base: `sectionIndex + 1` for a section, EXTERN_BASE + n for the n-th extern. */
  readonly base: number;
}

export const EXTERN_BASE = 0x100000;

/** `value` rounded up to a multiple of `align` (align <= 1: unchanged). */
export function alignUp(value: number, align: number): number {
  if (align <= 1) return value;
  return Math.ceil(value / align) * align;
}

export class Section {
  bytes: Uint8Array = new Uint8Array(256);
  /** Current assembly offset (for nobits sections, no bytes are stored). */
  size = 0;
  relocations: Relocation[] = [];
  progbits: boolean;
  alloc = true;
  exec = false;
  write = false;
  /** Alignment from the section directive / defaults, raised by `align`/`sectalign` as NASM does. */
  align: number;
  explicitAlign = false;
  /** bin: `start=`, `vstart=`, `follows=`, `vfollows=`. */
  start?: number;
  vstart?: number;
  follows?: string;
  vfollows?: string;
  /** Absolute address of the section's first byte for -f bin (computed by the layout after each pass). */
  address = 0;
  /** -f bin: where the section's bytes sit in the image (differs from `address` with vstart=). */
  loadAddress = 0;
  /** Order of first use, which is the order NASM emits sections in. */
  firstUse = -1;
  /** The section was used (selected, or received a statement) in this pass. */
  used = false;

  constructor(readonly name: string, readonly index: number, format: 'bin' | 'elf32') {
    const defaults = sectionDefaults(name, format);
    this.progbits = defaults.progbits;
    this.exec = defaults.exec;
    this.write = defaults.write;
    this.alloc = defaults.alloc;
    this.align = defaults.align;
  }

  resetForPass(): void {
    this.size = 0;
    this.relocations = [];
    this.used = false;
  }

  private ensure(extra: number): void {
    const need = this.size + extra;
    if (need <= this.bytes.length) return;
    let cap = this.bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.bytes.subarray(0, this.size));
    this.bytes = next;
  }

  writeBytes(data: ArrayLike<number>): void {
    if (!this.progbits) {
      this.size += data.length;
      return;
    }
    this.ensure(data.length);
    // An instruction is a few bytes: a plain loop beats TypedArray.set's fixed cost there.
    if (data instanceof Uint8Array && data.length > 16) this.bytes.set(data, this.size);
    else for (let k = 0; k < data.length; k++) this.bytes[this.size + k] = data[k]! & 0xff;
    this.size += data.length;
  }

  /** Writes `count` copies of `fill` (zero for reserve directives). */
  fill(count: number, fill: number): void {
    if (!this.progbits) {
      this.size += count;
      return;
    }
    this.ensure(count);
    this.bytes.fill(fill, this.size, this.size + count);
    this.size += count;
  }

  /** Little-endian integer of `size` bytes (1-8); values beyond 2^53 keep their low 53 bits exactly. */
  writeInteger(value: number, size: number): void {
    if (!this.progbits) {
      this.size += size;
      return;
    }
    this.ensure(size);
    let lo = value | 0;
    const hi = Math.floor(value / 4294967296) | 0;
    for (let k = 0; k < size; k++) {
      this.bytes[this.size + k] = k < 4 ? lo & 0xff : (hi >>> ((k - 4) * 8)) & 0xff;
      if (k < 4) lo >>>= 8;
    }
    this.size += size;
  }

  content(): Uint8Array {
    return this.bytes.slice(0, this.progbits ? this.size : 0);
  }
}

interface SectionDefaults {
  progbits: boolean;
  alloc: boolean;
  exec: boolean;
  write: boolean;
  align: number;
}

/** NASM's defaults for well-known section names (manual 8.9.2 for elf; bin aligns every section to 4). */
export function sectionDefaults(name: string, format: 'bin' | 'elf32'): SectionDefaults {
  const nobits = name === '.bss' || name.startsWith('.bss.') || name === '.tbss' || name === '.lbss';
  if (format === 'bin') return { progbits: !nobits, alloc: true, exec: name === '.text', write: name !== '.text', align: 4 };
  if (name === '.text' || name.startsWith('.text.')) return { progbits: true, alloc: true, exec: true, write: false, align: 16 };
  if (name === '.data' || name.startsWith('.data.') || name === '.tdata') return { progbits: true, alloc: true, exec: false, write: true, align: 4 };
  if (nobits) return { progbits: false, alloc: true, exec: false, write: true, align: 4 };
  if (name === '.rodata' || name.startsWith('.rodata.')) return { progbits: true, alloc: true, exec: false, write: false, align: 4 };
  if (name === '.comment') return { progbits: true, alloc: false, exec: false, write: false, align: 1 };
  return { progbits: true, alloc: true, exec: false, write: false, align: 1 };
}
