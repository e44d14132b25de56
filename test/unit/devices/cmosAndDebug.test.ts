// CMOS RTC (deterministic clock, BCD/binary, NVRAM, NMI bit) and the debug ports (isa-debug-exit status
// convention, POST latch, Bochs "Shutdown" sequence).
import assert from 'node:assert/strict';
import { CmosRtc } from '../../../src/emulator/devices/cmosRtc';
import { BochsShutdown, DebugExit, PostCode, debugExitStatus } from '../../../src/emulator/devices/debugPorts';
import { busWith, ControlRecorder, IrqRecorder, ManualClock } from './helpers';

const EPOCH = Date.UTC(2024, 1, 29, 23, 59, 58) / 1000; // a leap day, two seconds before midnight
const HZ = 1000;

describe('CMOS RTC', () => {
  const setup = () => {
    const clock = new ManualClock();
    const irq = new IrqRecorder();
    const rtc = new CmosRtc(clock, irq, HZ, EPOCH, 32 * 1024);
    return { clock, rtc, irq, bus: busWith(rtc) };
  };
  const reg = (bus: ReturnType<typeof busWith>, index: number) => (bus.write(0x70, 1, index), bus.read(0x71, 1));

  it('shows the recipe epoch plus virtual time in BCD, 24-hour', () => {
    const { clock, bus } = setup();
    assert.deepEqual([reg(bus, 4), reg(bus, 2), reg(bus, 0)], [0x23, 0x59, 0x58]);
    assert.deepEqual([reg(bus, 7), reg(bus, 8), reg(bus, 9), reg(bus, 0x32)], [0x29, 0x02, 0x24, 0x20]);
    clock.cycles = 3 * HZ; // three virtual seconds later: 1 March, 00:00:01
    assert.deepEqual([reg(bus, 4), reg(bus, 2), reg(bus, 0), reg(bus, 7), reg(bus, 8)], [0x00, 0x00, 0x01, 0x01, 0x03]);
  });

  it('switches to binary and to 12-hour format through status register B', () => {
    const { bus } = setup();
    bus.write(0x70, 1, 0x0b);
    bus.write(0x71, 1, 0x04); // binary, 12-hour
    assert.equal(reg(bus, 0), 58);
    assert.equal(reg(bus, 4), 0x80 | 11, '11 PM');
  });

  it('keeps NVRAM bytes, ignores the NMI-disable bit in the index, and reports memory size', () => {
    const { bus } = setup();
    bus.write(0x70, 1, 0x80 | 0x40);
    bus.write(0x71, 1, 0x5a);
    assert.equal(reg(bus, 0x40), 0x5a);
    assert.equal(reg(bus, 0x0d), 0x80, 'valid RAM and time');
    const extended = reg(bus, 0x30) | (reg(bus, 0x31) << 8);
    assert.equal(extended, 31 * 1024);
  });

  it('raises IRQ8 at the periodic rate in virtual time when B.PIE is set; reading C acknowledges', () => {
    const { clock, rtc, irq, bus } = setup();
    assert.equal(rtc.nextDeadline(), Infinity, 'no periodic interrupt by default');
    assert.equal(reg(bus, 0x0c), 0x40, 'PF set at power-on (the divider ran long before)');
    clock.cycles = 100;
    bus.write(0x70, 1, 0x0a);
    bus.write(0x71, 1, 0x20 | 0x0f); // rate 15: 2 Hz (32768 >> 14)
    bus.write(0x70, 1, 0x0b);
    bus.write(0x71, 1, 0x02 | 0x40); // 24-hour + PIE
    assert.equal(irq.level(8), false, 'PF clear: enabling PIE raises nothing yet');
    assert.equal(rtc.nextDeadline(), 100 + HZ / 2);
    clock.cycles = 100 + HZ / 2;
    rtc.advanceTo(clock.cycles);
    assert.equal(irq.level(8), true);
    assert.equal(reg(bus, 0x0c), 0xc0, 'IRQF and PF');
    assert.equal(irq.level(8), false);
    assert.equal(reg(bus, 0x0c), 0x00, 'flags clear on read');
    assert.equal(rtc.nextDeadline(), 100 + HZ);
    // PF keeps running with PIE off; turning PIE back on with PF set interrupts at once (as QEMU does)
    bus.write(0x70, 1, 0x0b);
    bus.write(0x71, 1, 0x02);
    clock.cycles = 100 + 2 * HZ;
    bus.write(0x70, 1, 0x0b);
    bus.write(0x71, 1, 0x02 | 0x40);
    assert.equal(irq.level(8), true);
  });

  it('gives the same readings on every run (no host clock)', () => {
    const a = setup();
    const b = setup();
    a.clock.cycles = b.clock.cycles = 123456;
    for (const r of [0, 2, 4, 6, 7, 8, 9]) assert.equal(reg(a.bus, r), reg(b.bus, r));
  });
});

describe('debug ports', () => {
  it('isa-debug-exit requests exit with status (v<<1)|1 for byte and dword writes', () => {
    const control = new ControlRecorder();
    const bus = busWith(new DebugExit(control));
    bus.write(0xf4, 1, 0x10);
    bus.write(0xf4, 4, 0x7f);
    assert.deepEqual(control.exits.map((e) => e.status), [33, 255]);
    assert.equal(debugExitStatus(0), 1);
  });

  it('port 0x80 latches the last POST code', () => {
    const post = new PostCode();
    const bus = busWith(post);
    bus.write(0x80, 1, 0x12);
    bus.write(0x80, 1, 0x34);
    assert.equal(bus.read(0x80, 1), 0x34);
    assert.deepEqual(post.saveState().history, [0x12, 0x34]);
  });

  it('Bochs port 0x8900 shuts down only on the exact word "Shutdown"', () => {
    const control = new ControlRecorder();
    const bus = busWith(new BochsShutdown(control));
    for (const c of 'ShutXShutdown') bus.write(0x8900, 1, c.charCodeAt(0));
    assert.equal(control.shutdowns.length, 1);
  });
});
