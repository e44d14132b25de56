// The 8259A programmable interrupt controller pair of a PC/AT (Intel 8259A datasheet, order 231468):
// master at 0x20-0x21, slave at 0xA0-0xA1 cascaded on master IR2. Modelled: the ICW1-ICW4 initialisation
// sequence, OCW1 (IMR), OCW2 (non-specific/specific EOI, rotation), OCW3 (IRR/ISR read select, poll, special
// mask mode), edge-triggered requests, fully nested priority with rotation, automatic EOI, and the INTA
// cycle including the spurious IR7 vector. The pair implements the CPU's InterruptLine contract and the
// devices' IrqSink (ISA IRQ 0-15). Level-triggered mode (ICW1.LTIM) is honoured; ELCR (0x4D0) is not modelled.
import type { AccessSize, InterruptLine } from '../hw/contracts';
import type { AddressRange, IrqSink, PortDevice, StatefulDevice } from './device';

export const PIC_MASTER_BASE = 0x20;
export const PIC_SLAVE_BASE = 0xa0;
export const PIC_CASCADE_IRQ = 2;

/** Command-port bits (datasheet "Initialization Command Words" and "Operation Command Words"). */
export const ICW1_INIT = 0x10;
export const ICW1_NEED_ICW4 = 0x01;
export const ICW1_SINGLE = 0x02;
export const ICW1_LEVEL_TRIGGERED = 0x08;
export const ICW4_AUTO_EOI = 0x02;
export const OCW3_SELECT = 0x08;
export const OCW3_READ_REGISTER = 0x02;
export const OCW3_READ_ISR = 0x01;
export const OCW3_POLL = 0x04;
export const OCW3_SPECIAL_MASK = 0x40;
export const OCW3_SET_SPECIAL_MASK = 0x20;
export const OCW2_EOI = 0x20;
export const OCW2_SPECIFIC = 0x40;
export const OCW2_ROTATE = 0x80;

/** One 8259A chip as plain data. */
export interface Pic8259ChipState {
  irr: number;
  isr: number;
  imr: number;
  /** Current level of each IR input (edge detection). */
  lineLevels: number;
  vectorBase: number;
  /** Which ICW the data port expects next: 0 = initialised (OCW1), 2, 3 or 4. */
  expectIcw: number;
  needIcw4: boolean;
  single: boolean;
  levelTriggered: boolean;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  /** IR with the lowest priority is (lowestPriority); the highest is lowestPriority+1 (mod 8). */
  lowestPriority: number;
  readIsr: boolean;
  pollPending: boolean;
  specialMask: boolean;
}

export interface Pic8259PairState {
  master: Pic8259ChipState;
  slave: Pic8259ChipState;
}

function resetChip(): Pic8259ChipState {
  return {
    irr: 0,
    isr: 0,
    imr: 0,
    lineLevels: 0,
    vectorBase: 0,
    expectIcw: 0,
    needIcw4: false,
    single: false,
    levelTriggered: false,
    autoEoi: false,
    rotateOnAutoEoi: false,
    lowestPriority: 7,
    readIsr: false,
    pollPending: false,
    specialMask: false,
  };
}

/** Priority rank of IR `irq` (0 = highest) given the current rotation. */
function rank(chip: Pic8259ChipState, irq: number): number {
  return (irq - chip.lowestPriority - 1) & 7;
}

/** The highest-priority IR set in `bits`, or -1. */
function highestIn(chip: Pic8259ChipState, bits: number): number {
  if (bits === 0) return -1;
  for (let r = 0; r < 8; r++) {
    const irq = (chip.lowestPriority + 1 + r) & 7;
    if (bits & (1 << irq)) return irq;
  }
  return -1;
}

/** The IR this chip would present on INT now, honouring the mask and the nesting of in-service levels. */
function requestToPresent(chip: Pic8259ChipState): number {
  const candidate = highestIn(chip, chip.irr & ~chip.imr & 0xff);
  if (candidate < 0) return -1;
  // In special mask mode, masked in-service levels do not block lower ones (datasheet, "Special Mask Mode").
  // Special fully nested mode is not modelled: a slave request waits while master IR2 is in service.
  const inService = chip.specialMask ? chip.isr & ~chip.imr : chip.isr;
  const serving = highestIn(chip, inService & 0xff);
  if (serving >= 0 && rank(chip, serving) <= rank(chip, candidate)) return -1;
  return candidate;
}

export class Pic8259Pair implements PortDevice, InterruptLine, IrqSink, StatefulDevice<Pic8259PairState> {
  readonly name = '8259A PIC pair';
  readonly portRanges: readonly AddressRange[] = [
    { base: PIC_MASTER_BASE, length: 2 },
    { base: PIC_SLAVE_BASE, length: 2 },
  ];
  readonly byteWide = true;
  private master = resetChip();
  private slave = resetChip();
  /** Cached INTR output so the CPU's per-instruction check is a field read. */
  private intr = false;
  /** Counts of INTA cycles that found no request (spurious IRQ7/IRQ15). */
  spuriousAcknowledges = 0;

  /** IrqSink: ISA IRQ 0-7 go to the master, 8-15 to the slave. */
  setIrq(line: number, level: boolean): void {
    if (line < 8) this.setChipLine(this.master, line, level);
    else this.setChipLine(this.slave, line - 8, level);
    this.update();
  }

  pending(): boolean {
    return this.intr;
  }

  acknowledge(): number {
    const irq = requestToPresent(this.master);
    if (irq < 0) {
      // The request went away before INTA: the 8259A answers with IR7's vector (spurious interrupt).
      this.spuriousAcknowledges++;
      return (this.master.vectorBase + 7) & 0xff;
    }
    this.acceptRequest(this.master, irq);
    let vector: number;
    if (irq === PIC_CASCADE_IRQ && !this.master.single) {
      const slaveIrq = requestToPresent(this.slave);
      if (slaveIrq < 0) {
        this.spuriousAcknowledges++;
        vector = (this.slave.vectorBase + 7) & 0xff;
      } else {
        this.acceptRequest(this.slave, slaveIrq);
        vector = (this.slave.vectorBase + slaveIrq) & 0xff;
      }
    } else {
      vector = (this.master.vectorBase + irq) & 0xff;
    }
    this.update();
    return vector;
  }

  portRead(rangeIndex: number, offset: number, _size: AccessSize): number {
    const chip = rangeIndex === 0 ? this.master : this.slave;
    if (chip.pollPending) {
      chip.pollPending = false;
      return this.pollRead(chip);
    }
    if (offset === 1) return chip.imr;
    return chip.readIsr ? chip.isr : chip.irr;
  }

  portWrite(rangeIndex: number, offset: number, _size: AccessSize, value: number): void {
    const chip = rangeIndex === 0 ? this.master : this.slave;
    value &= 0xff;
    if (offset === 0) this.writeCommand(chip, value);
    else this.writeData(chip, value);
    this.update();
  }

  /** Interrupt registers for debuggers and dumps, without side effects. */
  inspect(): { master: { irr: number; isr: number; imr: number; vectorBase: number }; slave: { irr: number; isr: number; imr: number; vectorBase: number } } {
    const view = (c: Pic8259ChipState) => ({ irr: c.irr, isr: c.isr, imr: c.imr, vectorBase: c.vectorBase });
    return { master: view(this.master), slave: view(this.slave) };
  }

  saveState(): Pic8259PairState {
    return { master: { ...this.master }, slave: { ...this.slave } };
  }

  loadState(state: Pic8259PairState): void {
    this.master = { ...state.master };
    this.slave = { ...state.slave };
    this.update();
  }

  private setChipLine(chip: Pic8259ChipState, irq: number, level: boolean): void {
    const bit = 1 << irq;
    if (level) {
      if (chip.levelTriggered || !(chip.lineLevels & bit)) chip.irr |= bit; // rising edge (or level) requests
      chip.lineLevels |= bit;
    } else {
      chip.lineLevels &= ~bit;
      if (chip.levelTriggered) chip.irr &= ~bit; // a level request disappears with its line
    }
  }

  private acceptRequest(chip: Pic8259ChipState, irq: number): void {
    const bit = 1 << irq;
    if (!chip.levelTriggered) chip.irr &= ~bit;
    if (chip.autoEoi) {
      if (chip.rotateOnAutoEoi) chip.lowestPriority = irq;
    } else {
      chip.isr |= bit;
    }
  }

  private writeCommand(chip: Pic8259ChipState, value: number): void {
    if (value & ICW1_INIT) {
      // ICW1 starts initialisation: clears IMR and ISR, IR7 lowest priority, edge-sense latch reset.
      const lineLevels = chip.lineLevels;
      Object.assign(chip, resetChip());
      chip.lineLevels = lineLevels;
      chip.levelTriggered = (value & ICW1_LEVEL_TRIGGERED) !== 0;
      chip.single = (value & ICW1_SINGLE) !== 0;
      chip.needIcw4 = (value & ICW1_NEED_ICW4) !== 0;
      chip.expectIcw = 2;
      return;
    }
    if (value & OCW3_SELECT) {
      if (value & OCW3_POLL) chip.pollPending = true;
      if (value & OCW3_READ_REGISTER) chip.readIsr = (value & OCW3_READ_ISR) !== 0;
      if (value & OCW3_SPECIAL_MASK) chip.specialMask = (value & OCW3_SET_SPECIAL_MASK) !== 0;
      return;
    }
    this.writeOcw2(chip, value);
  }

  private writeOcw2(chip: Pic8259ChipState, value: number): void {
    const command = value & 0xe0;
    const level = value & 7;
    switch (command) {
      case OCW2_EOI: // non-specific EOI
      case OCW2_EOI | OCW2_ROTATE: {
        const irq = highestIn(chip, chip.isr);
        if (irq >= 0) {
          chip.isr &= ~(1 << irq);
          if (command & OCW2_ROTATE) chip.lowestPriority = irq;
        }
        break;
      }
      case OCW2_EOI | OCW2_SPECIFIC: // specific EOI
        chip.isr &= ~(1 << level);
        break;
      case OCW2_EOI | OCW2_SPECIFIC | OCW2_ROTATE: // rotate on specific EOI
        chip.isr &= ~(1 << level);
        chip.lowestPriority = level;
        break;
      case OCW2_ROTATE: // set rotate in automatic EOI mode
        chip.rotateOnAutoEoi = true;
        break;
      case 0: // clear rotate in automatic EOI mode
        chip.rotateOnAutoEoi = false;
        break;
      case OCW2_ROTATE | OCW2_SPECIFIC: // set priority
        chip.lowestPriority = level;
        break;
      default: // 0x40: no operation
        break;
    }
  }

  private writeData(chip: Pic8259ChipState, value: number): void {
    switch (chip.expectIcw) {
      case 2:
        chip.vectorBase = value & 0xf8; // ICW2: T7-T3 of the vector (8086 mode)
        chip.expectIcw = chip.single ? (chip.needIcw4 ? 4 : 0) : 3;
        return;
      case 3:
        chip.expectIcw = chip.needIcw4 ? 4 : 0; // ICW3: cascade wiring, fixed on a PC/AT
        return;
      case 4:
        chip.autoEoi = (value & ICW4_AUTO_EOI) !== 0;
        chip.expectIcw = 0;
        return;
      default:
        chip.imr = value; // OCW1
    }
  }

  /** Poll command: the next read returns 0x80|IR of the highest request and acknowledges it. */
  private pollRead(chip: Pic8259ChipState): number {
    const irq = requestToPresent(chip);
    if (irq < 0) return 0;
    this.acceptRequest(chip, irq);
    this.update();
    return 0x80 | irq;
  }

  /** Propagate the slave's INT to master IR2 and recompute the CPU's INTR pin. */
  private update(): void {
    // The slave's INT output is a level on master IR2: while it stays high the request stands, so a second
    // slave interrupt behind the first is not lost for want of a fresh edge.
    const bit = 1 << PIC_CASCADE_IRQ;
    if (!this.master.single && requestToPresent(this.slave) >= 0) {
      this.master.irr |= bit;
      this.master.lineLevels |= bit;
    } else if (!this.master.single) {
      this.master.irr &= ~bit;
      this.master.lineLevels &= ~bit;
    }
    this.intr = requestToPresent(this.master) >= 0;
  }
}
