// 8254 PIT in virtual time against the datasheet: rates honoured per programmed count, latch and
// read-back, access modes, one-shot mode 0, and deadlines the machine can schedule by.
import assert from 'node:assert/strict';
import { Pit8254, PIT_IRQ } from '../../../src/emulator/devices/pit8254';
import { busWith, IrqRecorder, ManualClock } from './helpers';

const CYCLES_PER_TICK = 10;

function setup() {
  const clock = new ManualClock();
  const irq = new IrqRecorder();
  const pit = new Pit8254(clock, irq, CYCLES_PER_TICK);
  return { clock, irq, pit, bus: busWith(pit) };
}

/** Advance virtual time to `cycle`, stopping at each deadline as the machine does. */
function runTo(clock: ManualClock, pit: Pit8254, cycle: number): void {
  for (;;) {
    const deadline = pit.nextDeadline();
    if (deadline > cycle) break;
    clock.cycles = deadline;
    pit.advanceTo(deadline);
  }
  clock.cycles = cycle;
  pit.advanceTo(cycle);
}

describe('8254 PIT', () => {
  it('mode 2 raises IRQ0 once per programmed period in virtual time', () => {
    const { clock, irq, pit, bus } = setup();
    bus.write(0x43, 1, 0x34); // counter 0, LSB then MSB, mode 2
    bus.write(0x40, 1, 100);
    bus.write(0x40, 1, 0);
    // counting starts on the next tick, so edges fall at ticks 101, 201, …
    assert.equal(pit.nextDeadline(), 101 * CYCLES_PER_TICK);
    const before = irq.risingEdges(PIT_IRQ);
    runTo(clock, pit, 1000 * CYCLES_PER_TICK + 5);
    assert.equal(irq.risingEdges(PIT_IRQ) - before, 9);
  });

  it('mode 3 (square wave) has the same period; count 0 means 65536', () => {
    const { clock, irq, pit, bus } = setup();
    bus.write(0x43, 1, 0x36);
    bus.write(0x40, 1, 0);
    bus.write(0x40, 1, 0);
    const before = irq.risingEdges(PIT_IRQ);
    runTo(clock, pit, 65536 * 3 * CYCLES_PER_TICK + CYCLES_PER_TICK);
    assert.equal(irq.risingEdges(PIT_IRQ) - before, 3);
  });

  it('mode 0 pulls OUT low on programming and raises it once at terminal count', () => {
    const { clock, irq, pit, bus } = setup();
    bus.write(0x43, 1, 0x30);
    assert.equal(irq.level(PIT_IRQ), false);
    bus.write(0x40, 1, 50);
    bus.write(0x40, 1, 0);
    runTo(clock, pit, 50 * CYCLES_PER_TICK);
    assert.equal(irq.level(PIT_IRQ), false);
    runTo(clock, pit, 51 * CYCLES_PER_TICK);
    assert.equal(irq.level(PIT_IRQ), true);
    assert.equal(pit.nextDeadline(), Infinity, 'one shot');
  });

  it('latches the count: later reads return the latched value until both bytes are read', () => {
    const { clock, bus } = setup();
    bus.write(0x43, 1, 0x34);
    bus.write(0x40, 1, 0x00);
    bus.write(0x40, 1, 0x10); // 0x1000
    clock.cycles = 0x101 * CYCLES_PER_TICK; // 0x100 ticks of counting
    bus.write(0x43, 1, 0x00); // latch counter 0
    clock.cycles += 50 * CYCLES_PER_TICK;
    const low = bus.read(0x40, 1);
    const high = bus.read(0x40, 1);
    assert.equal(low | (high << 8), 0x0f00);
    const live = bus.read(0x40, 1) | (bus.read(0x40, 1) << 8);
    assert.equal(live, 0x0f00 - 50);
  });

  it('read-back returns a status byte with mode, access, OUT and null-count', () => {
    const { bus } = setup();
    bus.write(0x43, 1, 0x34);
    bus.write(0x43, 1, 0xe2); // read-back status of counter 0
    assert.equal(bus.read(0x40, 1), 0x80 | 0x40 | 0x34);
    bus.write(0x40, 1, 10);
    bus.write(0x40, 1, 0);
    bus.write(0x43, 1, 0xe2);
    assert.equal(bus.read(0x40, 1) & 0x40, 0, 'count loaded');
  });

  it('honours LSB-only and MSB-only access modes', () => {
    const { bus, pit } = setup();
    bus.write(0x43, 1, 0x54); // counter 1, LSB only, mode 2
    bus.write(0x41, 1, 0x80);
    assert.equal(pit.inspect()[1].reload, 0x80);
    bus.write(0x43, 1, 0xa4); // counter 2, MSB only, mode 2
    bus.write(0x42, 1, 0x12);
    assert.equal(pit.inspect()[2].reload, 0x1200);
  });

  it('restores counters from saved state and keeps the same schedule', () => {
    const { clock, pit, bus } = setup();
    bus.write(0x43, 1, 0x34);
    bus.write(0x40, 1, 200);
    bus.write(0x40, 1, 0);
    runTo(clock, pit, 450 * CYCLES_PER_TICK);
    const copy = setup();
    copy.clock.cycles = clock.cycles;
    copy.pit.loadState(JSON.parse(JSON.stringify(pit.saveState())));
    assert.equal(copy.pit.nextDeadline(), pit.nextDeadline());
    assert.equal(copy.pit.nextDeadline(), 601 * CYCLES_PER_TICK);
  });
});
