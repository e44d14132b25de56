// 8259A pair against the datasheet: initialisation, masking, priority and nesting, EOI forms, IRR/ISR reads,
// cascade through IR2, automatic EOI, spurious IR7, poll and rotation.
import assert from 'node:assert/strict';
import { Pic8259Pair } from '../../../src/emulator/devices/pic8259';
import { busWith } from './helpers';

/** The classic remap: master at 0x20, slave at 0x28, ICW4 8086 mode. */
function initialised(autoEoi = false) {
  const pic = new Pic8259Pair();
  const bus = busWith(pic);
  const icw4 = autoEoi ? 0x03 : 0x01;
  bus.write(0x20, 1, 0x11); bus.write(0xa0, 1, 0x11);
  bus.write(0x21, 1, 0x20); bus.write(0xa1, 1, 0x28);
  bus.write(0x21, 1, 0x04); bus.write(0xa1, 1, 0x02);
  bus.write(0x21, 1, icw4); bus.write(0xa1, 1, icw4);
  bus.write(0x21, 1, 0x00); bus.write(0xa1, 1, 0x00);
  return { pic, bus };
}
const pulse = (pic: Pic8259Pair, irq: number) => {
  pic.setIrq(irq, true);
  pic.setIrq(irq, false);
};

describe('8259A PIC pair', () => {
  it('delivers vector base + IRQ after ICW1-ICW4 and moves the request from IRR to ISR', () => {
    const { pic, bus } = initialised();
    pulse(pic, 1);
    assert.equal(pic.pending(), true);
    bus.write(0x20, 1, 0x0a); // OCW3: read IRR
    assert.equal(bus.read(0x20, 1), 0x02);
    assert.equal(pic.acknowledge(), 0x21);
    assert.equal(bus.read(0x20, 1), 0x00);
    bus.write(0x20, 1, 0x0b); // OCW3: read ISR
    assert.equal(bus.read(0x20, 1), 0x02);
    bus.write(0x20, 1, 0x20); // non-specific EOI
    assert.equal(bus.read(0x20, 1), 0x00);
  });

  it('latches edges, not levels: a held line requests once', () => {
    const { pic } = initialised();
    pic.setIrq(0, true);
    assert.equal(pic.acknowledge(), 0x20);
    pic.setIrq(0, true);
    assert.equal(pic.pending(), false);
  });

  it('masks through OCW1 (IMR reads back) and keeps the request until unmasked', () => {
    const { pic, bus } = initialised();
    bus.write(0x21, 1, 0x01);
    assert.equal(bus.read(0x21, 1), 0x01);
    pulse(pic, 0);
    assert.equal(pic.pending(), false);
    bus.write(0x21, 1, 0x00);
    assert.equal(pic.pending(), true);
  });

  it('nests by priority: a lower-priority request waits for EOI, a higher one interrupts', () => {
    const { pic, bus } = initialised();
    pulse(pic, 3);
    assert.equal(pic.acknowledge(), 0x23);
    pulse(pic, 5);
    assert.equal(pic.pending(), false, 'IRQ5 is below in-service IRQ3');
    pulse(pic, 1);
    assert.equal(pic.acknowledge(), 0x21, 'IRQ1 preempts IRQ3');
    bus.write(0x20, 1, 0x20); // EOI clears the highest in service: IRQ1
    assert.equal(pic.pending(), false);
    bus.write(0x20, 1, 0x63); // specific EOI for IRQ3
    assert.equal(pic.acknowledge(), 0x25);
  });

  it('cascades slave requests through master IR2 and needs EOI on both chips', () => {
    const { pic, bus } = initialised();
    pulse(pic, 12);
    assert.equal(pic.pending(), true);
    assert.equal(pic.acknowledge(), 0x2c);
    pulse(pic, 14);
    assert.equal(pic.pending(), false, 'master IR2 still in service');
    bus.write(0xa0, 1, 0x20);
    bus.write(0x20, 1, 0x20);
    assert.equal(pic.acknowledge(), 0x2e);
  });

  it('does not lose a second slave request pending behind the first', () => {
    const { pic, bus } = initialised();
    pulse(pic, 9);
    pulse(pic, 10);
    assert.equal(pic.acknowledge(), 0x29);
    bus.write(0xa0, 1, 0x20);
    bus.write(0x20, 1, 0x20);
    assert.equal(pic.acknowledge(), 0x2a);
  });

  it('answers a vanished request with the spurious IR7 vector and no ISR bit', () => {
    const { pic, bus } = initialised();
    assert.equal(pic.acknowledge(), 0x27);
    bus.write(0x20, 1, 0x0b);
    assert.equal(bus.read(0x20, 1), 0);
    assert.equal(pic.spuriousAcknowledges, 1);
  });

  it('in automatic EOI mode leaves ISR clear', () => {
    const { pic, bus } = initialised(true);
    pulse(pic, 4);
    assert.equal(pic.acknowledge(), 0x24);
    bus.write(0x20, 1, 0x0b);
    assert.equal(bus.read(0x20, 1), 0);
    pulse(pic, 6);
    assert.equal(pic.acknowledge(), 0x26);
  });

  it('answers the poll command with 0x80|IR and acknowledges it', () => {
    const { pic, bus } = initialised();
    pic.setIrq(6, true);
    bus.write(0x20, 1, 0x0c);
    assert.equal(bus.read(0x20, 1), 0x86);
    assert.equal(pic.pending(), false);
  });

  it('rotates priority on "rotate on non-specific EOI"', () => {
    const { pic, bus } = initialised();
    pulse(pic, 0);
    assert.equal(pic.acknowledge(), 0x20);
    bus.write(0x20, 1, 0xa0); // rotate on non-specific EOI: IR0 becomes lowest
    pulse(pic, 0);
    pulse(pic, 7);
    assert.equal(pic.acknowledge(), 0x21 + 6, 'IR7 now outranks IR0');
  });

  it('restores IRR/ISR/IMR and the vector bases from saved state', () => {
    const { pic, bus } = initialised();
    bus.write(0x21, 1, 0xf0);
    pulse(pic, 2 + 1);
    const saved = JSON.parse(JSON.stringify(pic.saveState()));
    const fresh = new Pic8259Pair();
    fresh.loadState(saved);
    assert.deepEqual(fresh.inspect(), pic.inspect());
    assert.equal(fresh.acknowledge(), 0x23);
  });
});
