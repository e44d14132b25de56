// The local APICs of a multiprocessor machine and the system bus between them. Every CPU sees its own APIC at
// the same physical page (0xFEE00000), so one MMIO device on the shared bus forwards each access to the APIC of
// the CPU that is executing (the machine sets `current` before running a CPU). ICR writes become IPIs here
// (SDM Vol. 3A §11.6): destination shorthands (self, all including / excluding self), physical and logical
// destinations (flat and cluster models, broadcast 0xFF), fixed and lowest-priority delivery (the lowest
// arbitration priority wins, ties to the lowest APIC ID: deterministic), INIT and start-up (SIPI), which the
// machine carries out on the target CPU (§9.4 MP initialization). NMI and SMI IPIs are not modelled.
import type { AccessSize, InterruptLine, VirtualClock } from '../hw/contracts';
import type { AddressRange, MmioDevice } from './device';
import { type IpiRouter, LAPIC_BASE, LocalApic, type LocalApicState } from './localApic';

/** ICR fields (SDM Figure 11-12). */
export const IcrDelivery = { FIXED: 0, LOWEST: 1, SMI: 2, NMI: 4, INIT: 5, STARTUP: 6 } as const;
export const IcrShorthand = { NONE: 0, SELF: 1, ALL_INCLUDING_SELF: 2, ALL_EXCLUDING_SELF: 3 } as const;
const ICR_LOGICAL = 1 << 11;
const ICR_LEVEL_ASSERT = 1 << 14;
const ICR_TRIGGER_LEVEL = 1 << 15;

/** What an IPI asks of the machine beyond setting IRR bits. */
export interface CpuStartControl {
  /** INIT: put CPU `index` into the wait-for-SIPI state (its APIC is already reset). */
  initCpu(index: number): void;
  /** Start-up IPI: a CPU waiting for SIPI starts in real mode at CS = vector << 8, IP = 0. */
  startCpu(index: number, vector: number): void;
  /** An IPI the machine does not model arrived (NMI, SMI): say so once, deliver nothing. */
  unsupportedIpi(description: string): void;
}

export class ApicBus implements MmioDevice, IpiRouter {
  readonly name = 'local APIC page';
  readonly mmioRanges: readonly AddressRange[] = [{ base: LAPIC_BASE, length: 0x1000 }];
  readonly apics: LocalApic[] = [];
  /** Index of the CPU that is executing (whose APIC the page shows). */
  current = 0;
  control: CpuStartControl | null = null;

  constructor(clock: VirtualClock, cpuCount: number, pic: InterruptLine | null) {
    for (let i = 0; i < cpuCount; i++) this.apics.push(new LocalApic(clock, this, i, i === 0 ? pic : null));
  }

  mmioRead(rangeIndex: number, offset: number, size: AccessSize): number {
    return this.apics[this.current]!.mmioRead(rangeIndex, offset, size);
  }

  mmioWrite(rangeIndex: number, offset: number, size: AccessSize, value: number): void {
    this.apics[this.current]!.mmioWrite(rangeIndex, offset, size, value);
  }

  /** The APICs an ICR value addresses (SDM §11.6.2), in APIC index order. */
  destinations(source: LocalApic, icrLow: number, icrHigh: number): LocalApic[] {
    const shorthand = (icrLow >> 18) & 3;
    if (shorthand === IcrShorthand.SELF) return [source];
    if (shorthand === IcrShorthand.ALL_INCLUDING_SELF) return [...this.apics];
    if (shorthand === IcrShorthand.ALL_EXCLUDING_SELF) return this.apics.filter((a) => a !== source);
    const destination = icrHigh >>> 24;
    if ((icrLow & ICR_LOGICAL) !== 0) return this.apics.filter((a) => a.matchesLogical(destination));
    if (destination === 0xff) return [...this.apics];
    return this.apics.filter((a) => a.id === destination);
  }

  sendIpi(source: LocalApic, icrLow: number, icrHigh: number): void {
    const delivery = (icrLow >> 8) & 7;
    const vector = icrLow & 0xff;
    let targets = this.destinations(source, icrLow, icrHigh);
    if (delivery === IcrDelivery.LOWEST && targets.length > 1) targets = [this.lowestPriority(targets)];
    switch (delivery) {
      case IcrDelivery.FIXED:
      case IcrDelivery.LOWEST:
        for (const t of targets) t.accept(vector, (icrLow & ICR_TRIGGER_LEVEL) !== 0);
        return;
      case IcrDelivery.INIT:
        // INIT level de-assert (level 0, level-triggered) only synchronises arbitration IDs (§11.6.1).
        if ((icrLow & ICR_LEVEL_ASSERT) === 0 && (icrLow & ICR_TRIGGER_LEVEL) !== 0) return;
        for (const t of targets) {
          t.init();
          this.control?.initCpu(this.apics.indexOf(t));
        }
        return;
      case IcrDelivery.STARTUP:
        for (const t of targets) this.control?.startCpu(this.apics.indexOf(t), vector);
        return;
      default:
        this.control?.unsupportedIpi(`${delivery === IcrDelivery.NMI ? 'NMI' : delivery === IcrDelivery.SMI ? 'SMI' : `delivery mode ${delivery}`} IPIs are not modelled`);
    }
  }

  private lowestPriority(targets: LocalApic[]): LocalApic {
    let best = targets[0]!;
    for (const t of targets) if (t.arbitrationPriority() < best.arbitrationPriority()) best = t;
    return best;
  }

  saveState(): LocalApicState[] {
    return this.apics.map((a) => a.saveState());
  }

  loadState(states: readonly LocalApicState[]): void {
    states.forEach((s, i) => this.apics[i]?.loadState(s));
  }
}
