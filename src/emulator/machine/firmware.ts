// The device state the firmware leaves at kernel entry. QEMU boots Multiboot kernels through SeaBIOS, which
// initialises the 8259A pair (vectors 0x08 and 0x70), leaves IMR = B8/8E, programs PIT channel 0 for mode 2
// with count 0 (18.2 Hz) and sets the UART's OUT2. test/kernels/probe-bios.asm prints this state in QEMU;
// HyperStep replays the same port writes a BIOS would, so kernels that forget to remap the PIC see the same
// (surprising) vectors under HyperStep as under QEMU. The BIOS has long since taken and acknowledged its
// timer interrupts, so no IRQ0 is pending at entry; the next one arrives a full PIT period (55 ms) later.
// SeaBIOS also programs the BSP's local APIC for virtual-wire mode (LINT0 ExtINT, LINT1 NMI, both level-
// triggered, APIC software-enabled with spurious vector 0xFF) and leaves in the ICR the start-up IPI it sent
// to count the CPUs: register values read at kernel entry under qemu-system-i386 7.2 (-smp 1 and 2).
import type { PortBus } from '../hw/contracts';
import { ApicReg, type LocalApic } from '../devices/localApic';

interface PortWrite {
  readonly port: number;
  readonly value: number;
  /** A read of the port instead of a write (value ignored). */
  readonly read?: boolean;
}

/** SeaBIOS's post-boot writes, in order (8259A ICW1-ICW4 + OCW1, 8254 control word + count, UART MCR). */
const QEMU_SEABIOS_WRITES: readonly PortWrite[] = [
  { port: 0x20, value: 0x11 }, // master ICW1: edge, cascade, ICW4 needed
  { port: 0x21, value: 0x08 }, // master ICW2: vectors 0x08-0x0F
  { port: 0x21, value: 0x04 }, // master ICW3: slave on IR2
  { port: 0x21, value: 0x01 }, // master ICW4: 8086 mode
  { port: 0xa0, value: 0x11 }, // slave ICW1
  { port: 0xa1, value: 0x70 }, // slave ICW2: vectors 0x70-0x77
  { port: 0xa1, value: 0x02 }, // slave ICW3: cascade identity 2
  { port: 0xa1, value: 0x01 }, // slave ICW4
  { port: 0x21, value: 0xb8 }, // master IMR: IRQ0, 1, 2 and 6 enabled
  { port: 0xa1, value: 0x8e }, // slave IMR
  { port: 0x43, value: 0x34 }, // PIT counter 0: LSB then MSB, mode 2, binary
  { port: 0x40, value: 0x00 },
  { port: 0x40, value: 0x00 }, // count 0 = 65536: 18.2 Hz
  { port: 0x20, value: 0x0c }, // the BIOS's IRQ0 handler ran long ago: acknowledge (OCW3 poll) ...
  { port: 0x20, value: 0x20, read: true }, // ... read the poll byte, and (below) end the interrupt
  { port: 0x20, value: 0x20 }, // non-specific EOI: IRR and ISR clear, the next IRQ0 comes one period later
  { port: 0x3fc, value: 0x08 }, // UART MCR: OUT2
  { port: 0x3fb, value: 0x00 }, // UART LCR as SeaBIOS leaves it
];

/** The BSP's local APIC registers at Multiboot entry under QEMU/SeaBIOS (SVR first: it unlocks the LVT masks). */
const QEMU_SEABIOS_BSP_APIC: readonly (readonly [number, number])[] = [
  [ApicReg.SVR, 0x1ff],
  [ApicReg.LVT_LINT0, 0x8700],
  [ApicReg.LVT_LINT1, 0x8400],
];
const QEMU_SEABIOS_ICR_LOW = 0x000c4610; // start-up IPI, vector 0x10, all excluding self, delivered

export function applyFirmwareState(kind: 'qemu-seabios' | 'reset', ports: PortBus, bspApic?: LocalApic): void {
  if (kind === 'reset') return;
  for (const w of QEMU_SEABIOS_WRITES) {
    if (w.read) ports.read(w.port, 1);
    else ports.write(w.port, 1, w.value);
  }
  if (bspApic !== undefined) {
    for (const [register, value] of QEMU_SEABIOS_BSP_APIC) bspApic.writeRegister(register, value);
    bspApic.icrLow = QEMU_SEABIOS_ICR_LOW; // the value only: the APs were parked again before the kernel runs
  }
}
