// Named constants of the PC machine's physical layout and of the boot hand-over that QEMU's `-kernel`
// Multiboot path produces (firmware option ROM "multiboot.bin" on SeaBIOS). The hand-over numbers were
// observed with test/kernels/mbinfo.asm under qemu-system-i386 7.2 (see test/kernels/expected/) and are
// reproduced so that the same kernel sees the same machine under HyperStep and under QEMU.

/** Where QEMU places the Multiboot information structure (EBX at entry). */
export const MULTIBOOT_INFO_ADDRESS = 0x9500;
/** Where QEMU places the BIOS memory map the information structure points to. */
export const MULTIBOOT_MMAP_ADDRESS = 0x9000;
/** The boot stack pointer QEMU's option ROM leaves in ESP. */
export const MULTIBOOT_ENTRY_ESP = 0x6f08;
/** Where QEMU's option ROM keeps its GDT (SGDT shows base 0x000CA2B8, limit 0x27). */
export const MULTIBOOT_GDT_ADDRESS = 0xca2b8;
/** The GDT QEMU's option ROM uses: null, flat 32-bit code (0x08), flat data (0x10), 16-bit code/data. */
export const MULTIBOOT_GDT: readonly (readonly [number, number])[] = [
  [0x00000000, 0x00000000],
  [0x0000ffff, 0x00cf9a00], // 0x08: base 0, limit 4 GiB, execute/read, DPL 0, 32-bit
  [0x0000ffff, 0x00cf9300], // 0x10: base 0, limit 4 GiB, read/write (accessed), DPL 0, 32-bit
  [0x0000ffff, 0x00009e00], // 0x18: 16-bit code (real-mode return path of the ROM)
  [0x0000ffff, 0x00009200], // 0x20: 16-bit data
];
export const MULTIBOOT_CODE_SELECTOR = 0x08;
export const MULTIBOOT_DATA_SELECTOR = 0x10;
/** EFLAGS at entry: reserved bit 1 and PF (left over from the ROM's last comparison), IF clear. */
export const MULTIBOOT_ENTRY_EFLAGS = 0x00000006;
/** CR0 at entry: PE and ET. */
export const MULTIBOOT_ENTRY_CR0 = 0x00000011;
/** IDTR at entry: the real-mode interrupt vector table (a kernel must load its own IDT). */
export const MULTIBOOT_ENTRY_IDT_BASE = 0;
export const MULTIBOOT_ENTRY_IDT_LIMIT = 0x3ff;
/** The boot loader name QEMU reports. */
export const MULTIBOOT_LOADER_NAME = 'qemu';

/** The magic value in EAX at Multiboot entry (Multiboot 0.6.96, section 3.2). */
export const MULTIBOOT_BOOTLOADER_MAGIC = 0x2badb002;
/** The magic value of the Multiboot header in the kernel image (section 3.1.1). */
export const MULTIBOOT_HEADER_MAGIC = 0x1badb002;
/** The header must lie entirely within the first 8192 bytes of the image, 32-bit aligned. */
export const MULTIBOOT_SEARCH_LIMIT = 8192;

/** Conventional memory reported by QEMU (KiB below 640 KiB minus the EBDA). */
export const MEM_LOWER_KIB = 639;
/** The extended BIOS data area starts here; the memory map reports it reserved. */
export const EBDA_START = 0x9fc00;
/** The BIOS ROM area reported reserved. */
export const BIOS_ROM_START = 0xf0000;
/** QEMU reserves the top 128 KiB of RAM below 4 GiB for ACPI tables in its memory map. */
export const ACPI_RESERVED_BYTES = 0x20000;
/** The flash/BIOS alias below 4 GiB. */
export const HIGH_BIOS_START = 0xfffc0000;
export const HIGH_BIOS_LENGTH = 0x40000;

/** Kernels load at or above 1 MiB (Multiboot convention); memory below holds the hand-over structures. */
export const KERNEL_MINIMUM_ADDRESS = 0x100000;

/** The virtual clock: one PIT input tick every 838 CPU cycles makes a ~1.0 GHz CPU (838 × 1.193182 MHz). */
export const CYCLES_PER_PIT_TICK = 838;
export const CPU_HZ = CYCLES_PER_PIT_TICK * 1_193_182;
/** The RTC's default epoch: 2026-01-01T00:00:00Z (recipes may choose another; never the host clock). */
export const DEFAULT_RTC_EPOCH_SECONDS = Date.UTC(2026, 0, 1) / 1000;
