// Local APIC register behaviour (SDM Vol. 3A ch. 11): every register through the MMIO window, priorities
// (§11.8.3), acceptance and EOI, the timer on a manual virtual clock, errors, and IPI routing between APICs.
import assert from 'node:assert/strict';
import { ApicBus } from '../../../src/emulator/devices/apicBus';
import { ApicReg, Esr, LAPIC_VERSION, timerDivisor } from '../../../src/emulator/devices/localApic';
import type { InterruptLine } from '../../../src/emulator/hw/contracts';
import { ManualClock } from './helpers';

class FakePic implements InterruptLine {
  vector = -1;
  pending(): boolean {
    return this.vector >= 0;
  }
  acknowledge(): number {
    const v = this.vector;
    this.vector = -1;
    return v;
  }
}

function setup(cpus = 1, pic: InterruptLine | null = null) {
  const clock = new ManualClock();
  const bus = new ApicBus(clock, cpus, pic);
  const started: Array<[string, number, number]> = [];
  bus.control = {
    initCpu: (i) => started.push(['init', i, 0]),
    startCpu: (i, v) => started.push(['sipi', i, v]),
    unsupportedIpi: (d) => started.push([d, -1, 0]),
  };
  const read = (reg: number, cpu = 0): number => { bus.current = cpu; return bus.mmioRead(0, reg, 4) >>> 0; };
  const write = (reg: number, value: number, cpu = 0): void => { bus.current = cpu; bus.mmioWrite(0, reg, 4, value >>> 0); };
  for (let i = 0; i < cpus; i++) write(ApicReg.SVR, 0x1ff, i); // software-enable
  return { clock, bus, read, write, started, apic: bus.apics[0]! };
}

describe('local APIC (xAPIC)', () => {
  it('ID, version, LDR, DFR and SVR read back as the SDM defines them', () => {
    const { read, write, bus } = setup(2);
    assert.equal(read(ApicReg.ID), 0);
    assert.equal(read(ApicReg.ID, 1), 0x01000000);
    assert.equal(read(ApicReg.VERSION), LAPIC_VERSION);
    write(ApicReg.VERSION, 0);
    assert.equal(read(ApicReg.VERSION), LAPIC_VERSION, 'version is read-only');
    write(ApicReg.ID, 0x05ffffff);
    assert.equal(read(ApicReg.ID), 0x05000000);
    write(ApicReg.LDR, 0x12345678);
    assert.equal(read(ApicReg.LDR), 0x12000000);
    assert.equal(read(ApicReg.DFR), 0xffffffff);
    write(ApicReg.DFR, 0);
    assert.equal(read(ApicReg.DFR), 0x0fffffff, 'bits 27:0 read as ones');
    assert.equal(read(ApicReg.SVR), 0x1ff);
    write(ApicReg.SVR, 0xfff);
    assert.equal(read(ApicReg.SVR), 0x3ff);
    assert.equal(bus.apics[1]!.softwareEnabled, true);
  });

  it('software disable sets every LVT mask and keeps it set', () => {
    const { read, write } = setup();
    write(ApicReg.LVT_TIMER, 0x20);
    assert.equal(read(ApicReg.LVT_TIMER), 0x20);
    write(ApicReg.SVR, 0xff);
    for (let r = ApicReg.LVT_TIMER; r <= ApicReg.LVT_ERROR; r += 0x10) assert.equal(read(r) & 0x10000, 0x10000, `LVT ${r.toString(16)}`);
    write(ApicReg.LVT_TIMER, 0x20);
    assert.equal(read(ApicReg.LVT_TIMER), 0x10020);
  });

  it('LVT entries keep only their writable bits', () => {
    const { read, write } = setup();
    write(ApicReg.LVT_TIMER, 0xffffffff);
    assert.equal(read(ApicReg.LVT_TIMER), 0x300ff);
    write(ApicReg.LVT_LINT0, 0xffffffff);
    assert.equal(read(ApicReg.LVT_LINT0), 0x1a7ff);
    write(ApicReg.LVT_ERROR, 0xffffffff);
    assert.equal(read(ApicReg.LVT_ERROR), 0x100ff);
    write(ApicReg.LVT_THERMAL, 0xffffffff);
    assert.equal(read(ApicReg.LVT_THERMAL), 0x107ff);
  });

  it('TPR, PPR and delivery follow the priority classes (§11.8.3.1)', () => {
    const { read, write, apic } = setup();
    apic.accept(0x51, false);
    assert.equal(apic.pending(), true);
    assert.equal(read(ApicReg.IRR + 0x20), 1 << (0x51 - 64), 'IRR bit 0x51');
    write(ApicReg.TPR, 0x50);
    assert.equal(read(ApicReg.TPR), 0x50);
    assert.equal(read(ApicReg.PPR), 0x50);
    assert.equal(apic.pending(), false, 'class 5 does not beat TPR class 5');
    write(ApicReg.TPR, 0x4f);
    assert.equal(apic.pending(), true);
    assert.equal(apic.acknowledge(), 0x51);
    assert.equal(read(ApicReg.ISR + 0x20), 1 << (0x51 - 64), 'in service');
    assert.equal(read(ApicReg.IRR + 0x20), 0);
    assert.equal(read(ApicReg.PPR), 0x50, 'PPR = ISRV class when above TPR');
    apic.accept(0x55, false);
    assert.equal(apic.pending(), false, 'same class as the one in service waits');
    apic.accept(0x61, true);
    assert.equal(apic.pending(), true);
    assert.equal(apic.acknowledge(), 0x61);
    assert.equal(read(ApicReg.TMR + 0x30), 1 << (0x61 - 96), 'level-triggered: TMR set');
    write(ApicReg.EOI, 0);
    assert.equal(read(ApicReg.ISR + 0x30), 0, 'EOI clears the highest ISR bit');
    assert.equal(read(ApicReg.TMR + 0x30), 0);
    assert.equal(read(ApicReg.ISR + 0x20), 1 << (0x51 - 64));
    write(ApicReg.EOI, 0);
    assert.equal(apic.acknowledge(), 0x55);
  });

  it('APR follows §11.6.2.1', () => {
    const { read, write, apic } = setup();
    write(ApicReg.TPR, 0x35);
    assert.equal(read(ApicReg.APR), 0x35);
    apic.accept(0x80, false);
    assert.equal(read(ApicReg.APR), 0x80, 'IRRV class above TPR');
  });

  it('the BSP passes the 8259A through LINT0 in ExtINT mode or when globally disabled', () => {
    const pic = new FakePic();
    const { apic, write } = setup(1, pic);
    pic.vector = 0x20;
    assert.equal(apic.pending(), true, 'reset state: LINT0 ExtINT');
    write(ApicReg.LVT_LINT0, 0x10700);
    assert.equal(apic.pending(), false, 'LINT0 masked');
    apic.writeBaseMsr(0xfee00100);
    assert.equal(apic.globallyEnabled, false);
    assert.equal(apic.pending(), true, 'globally disabled: INTR is the PIC');
    assert.equal(apic.acknowledge(), 0x20);
  });

  it('ESR latches errors on write: illegal vectors sent and received, illegal register', () => {
    const { read, write, apic } = setup();
    write(ApicReg.ICR_LOW, 0x00004005); // fixed, vector 5
    apic.accept(3, false);
    read(0x3f0);
    assert.equal(read(ApicReg.ESR), 0, 'not latched before a write');
    write(ApicReg.ESR, 0);
    assert.equal(read(ApicReg.ESR), Esr.SEND_ILLEGAL_VECTOR | Esr.RECEIVE_ILLEGAL_VECTOR | Esr.ILLEGAL_REGISTER);
    write(ApicReg.ESR, 0);
    assert.equal(read(ApicReg.ESR), 0);
    write(ApicReg.LVT_ERROR, 0xee);
    apic.accept(2, false);
    assert.equal(apic.acknowledge(), 0xee, 'the error LVT raises its vector');
  });

  it('timer: divide configuration, one-shot and periodic on the virtual clock', () => {
    assert.deepEqual([0, 1, 2, 3, 8, 9, 10, 11].map(timerDivisor), [2, 4, 8, 16, 32, 64, 128, 1]);
    const { read, write, apic, clock } = setup();
    write(ApicReg.TIMER_DIVIDE, 0xb); // divide by 1
    assert.equal(read(ApicReg.TIMER_DIVIDE), 0xb);
    write(ApicReg.LVT_TIMER, 0x40); // one-shot, vector 0x40
    clock.cycles = 100;
    write(ApicReg.TIMER_INITIAL, 1000);
    assert.equal(apic.nextDeadline(), 1100);
    clock.cycles = 600;
    assert.equal(read(ApicReg.TIMER_CURRENT), 500);
    apic.advanceTo(600);
    assert.equal(apic.pending(), false);
    clock.cycles = 1100;
    apic.advanceTo(1100);
    assert.equal(read(ApicReg.TIMER_CURRENT), 0);
    assert.equal(apic.acknowledge(), 0x40);
    assert.equal(apic.nextDeadline(), Infinity, 'one-shot fires once');
    write(ApicReg.EOI, 0);
    write(ApicReg.TIMER_DIVIDE, 0x1); // divide by 4
    write(ApicReg.LVT_TIMER, 0x20041); // periodic, vector 0x41
    write(ApicReg.TIMER_INITIAL, 10); // period 40 cycles from 1100
    assert.equal(apic.nextDeadline(), 1140);
    clock.cycles = 1150;
    assert.equal(read(ApicReg.TIMER_CURRENT), 10 - 2);
    apic.advanceTo(1150);
    assert.equal(apic.acknowledge(), 0x41);
    write(ApicReg.EOI, 0);
    assert.equal(apic.nextDeadline(), 1180);
    write(ApicReg.TIMER_INITIAL, 0);
    assert.equal(apic.nextDeadline(), Infinity, 'a zero count stops the timer');
    assert.equal(read(ApicReg.TIMER_CURRENT), 0);
  });

  it('a masked timer counts but raises nothing', () => {
    const { write, apic, clock } = setup();
    write(ApicReg.TIMER_DIVIDE, 0xb);
    write(ApicReg.LVT_TIMER, 0x10040);
    write(ApicReg.TIMER_INITIAL, 10);
    clock.cycles = 20;
    apic.advanceTo(20);
    assert.equal(apic.pending(), false);
  });

  it('ICR: fixed IPIs by physical and logical destination and by shorthand', () => {
    const { read, write, bus } = setup(3);
    write(ApicReg.ICR_HIGH, 0x02000000);
    write(ApicReg.ICR_LOW, 0x00004031); // fixed, physical, to APIC 2
    assert.equal(read(ApicReg.ICR_LOW) & 0x1000, 0, 'delivery status idle');
    assert.equal(read(ApicReg.ICR_HIGH), 0x02000000);
    assert.equal(bus.apics[2]!.acknowledge(), 0x31);
    assert.equal(bus.apics[1]!.pending(), false);
    write(ApicReg.LDR, 0x02000000, 1);
    write(ApicReg.LDR, 0x04000000, 2);
    write(ApicReg.ICR_HIGH, 0x06000000);
    write(ApicReg.ICR_LOW, 0x00004842); // logical, flat: APICs 1 and 2 (each class above the one in service)
    assert.equal(bus.apics[1]!.acknowledge(), 0x42);
    assert.equal(bus.apics[2]!.acknowledge(), 0x42);
    write(ApicReg.ICR_LOW, 0x000c4053); // all excluding self
    assert.equal(bus.apics[0]!.pending(), false);
    assert.equal(bus.apics[1]!.acknowledge(), 0x53);
    assert.equal(bus.apics[2]!.acknowledge(), 0x53);
    write(ApicReg.ICR_LOW, 0x00044064); // self
    assert.equal(bus.apics[0]!.acknowledge(), 0x64);
    write(ApicReg.TPR, 0x20, 1);
    write(ApicReg.ICR_HIGH, 0xff000000);
    write(ApicReg.TPR, 0x70, 0);
    write(ApicReg.ICR_LOW, 0x00004175); // lowest priority to all: APR 0x70, 0x50, 0x50 -> the tie goes to APIC 1
    assert.equal(bus.apics[0]!.pending(), false);
    assert.equal(bus.apics[2]!.pending(), false);
    assert.equal(bus.apics[1]!.acknowledge(), 0x75);
  });

  it('ICR: INIT and start-up go to the machine; INIT resets the APIC but keeps its ID', () => {
    const { write, read, bus, started } = setup(2);
    write(ApicReg.TPR, 0x30, 1);
    write(ApicReg.ICR_HIGH, 0x01000000);
    write(ApicReg.ICR_LOW, 0x00004500); // INIT assert
    write(ApicReg.ICR_LOW, 0x00008500); // INIT level de-assert: no effect
    write(ApicReg.ICR_LOW, 0x00004608); // SIPI vector 8
    assert.deepEqual(started, [['init', 1, 0], ['sipi', 1, 8]]);
    assert.equal(read(ApicReg.TPR, 1), 0);
    assert.equal(read(ApicReg.ID, 1), 0x01000000);
    assert.equal(bus.apics[1]!.softwareEnabled, false, 'SVR back to 0xFF');
    write(ApicReg.ICR_LOW, 0x00004400); // NMI
    assert.match(started[2]![0], /NMI IPIs are not modelled/);
  });

  it('saves and restores its complete state', () => {
    const { write, apic, clock } = setup();
    write(ApicReg.TIMER_DIVIDE, 0xb);
    write(ApicReg.LVT_TIMER, 0x20050);
    write(ApicReg.TIMER_INITIAL, 100);
    apic.accept(0x70, true);
    const saved = structuredClone(apic.saveState());
    const other = setup().apic;
    other.loadState(saved);
    assert.deepEqual(other.saveState(), saved);
    assert.equal(other.pending(), true);
    clock.cycles = 0;
    assert.equal(other.nextDeadline(), apic.nextDeadline());
  });
});
