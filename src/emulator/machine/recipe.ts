// A machine recipe: the ordered, declarative description of a machine (memory, devices in attachment order,
// CPU features, clock, firmware hand-over), in the manner of kvmtool's ordered init levels. A recipe is plain
// data, so it travels with saved states and launch configurations.
import { DEFAULT_RTC_EPOCH_SECONDS } from './layout';

/** The device models a recipe can name ('lapic': one local APIC per CPU at 0xFEE00000). Later: 'ioapic', 'ide0'. */
export type DeviceKind = 'pic' | 'pit' | 'com1' | 'cmos' | 'debug-exit' | 'post' | 'bochs-shutdown' | 'lapic';

/** The most CPUs a machine may have (APIC IDs 0..7 fit the flat logical destination model). */
export const MAX_VCPUS = 8;

export interface MachineRecipe {
  /** Guest RAM in MiB, from physical address 0. */
  readonly memoryMiB: number;
  /** Devices in attachment order (the PIC first: the others wire their IRQs to it). */
  readonly devices: readonly DeviceKind[];
  readonly cpu: {
    /** Report and allow VMX (hardware-assisted virtualization for guest hypervisors). */
    readonly vmx: boolean;
  };
  /**
   * Number of CPUs (1..8, default 1). CPU 0 is the bootstrap processor; the others wait for INIT-SIPI-SIPI
   * (SDM Vol. 3A §9.4). More than one needs the 'lapic' device.
   */
  readonly vcpus?: number;
  /** Virtual CPU cycles charged per retired instruction (time is derived from this, never the host). */
  readonly cyclesPerInstruction: number;
  /** Seconds since the Unix epoch that the CMOS clock shows at virtual time 0. */
  readonly rtcEpochSeconds: number;
  /**
   * Device state at entry: 'qemu-seabios' leaves the PIC, PIT and UART as QEMU's firmware does (PIC at
   * vectors 0x08/0x70 with IMR B8/8E, PIT channel 0 in mode 2 at 18.2 Hz); 'reset' is the power-on state.
   */
  readonly firmware: 'qemu-seabios' | 'reset';
}

export const PC_DEVICES: readonly DeviceKind[] = ['pic', 'pit', 'com1', 'cmos', 'debug-exit', 'post', 'bochs-shutdown', 'lapic'];

/** The default PC: 32 MiB, every device, one CPU, no VMX, one cycle per instruction, QEMU's firmware state. */
export function defaultRecipe(overrides: Partial<MachineRecipe> = {}): MachineRecipe {
  return {
    memoryMiB: 32,
    devices: PC_DEVICES,
    cpu: { vmx: false },
    cyclesPerInstruction: 1,
    rtcEpochSeconds: DEFAULT_RTC_EPOCH_SECONDS,
    firmware: 'qemu-seabios',
    ...overrides,
  };
}

/** Problems with a recipe, as messages (empty when valid). */
export function validateRecipe(recipe: MachineRecipe): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(recipe.memoryMiB) || recipe.memoryMiB < 2 || recipe.memoryMiB > 3072) {
    problems.push(`memory must be a whole number of MiB between 2 and 3072 (got ${recipe.memoryMiB})`);
  }
  if (!Number.isInteger(recipe.cyclesPerInstruction) || recipe.cyclesPerInstruction < 1) {
    problems.push(`cyclesPerInstruction must be a positive integer (got ${recipe.cyclesPerInstruction})`);
  }
  const seen = new Set<DeviceKind>();
  for (const d of recipe.devices) {
    if (seen.has(d)) problems.push(`device '${d}' is listed twice`);
    seen.add(d);
  }
  if ((seen.has('pit') || seen.has('com1')) && !seen.has('pic')) problems.push("'pit' and 'com1' need a 'pic' to raise interrupts");
  const vcpus = recipe.vcpus ?? 1;
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > MAX_VCPUS) problems.push(`vcpus must be a whole number between 1 and ${MAX_VCPUS} (got ${vcpus})`);
  else if (vcpus > 1 && !seen.has('lapic')) problems.push("more than one vCPU needs the 'lapic' device (IPIs start the other CPUs)");
  return problems;
}
