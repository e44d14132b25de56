// The port and MMIO buses: overlap rejection, offsets relative to the range, unclaimed ports, splitting.
import assert from 'node:assert/strict';
import type { AccessSize } from '../../../src/emulator/hw/contracts';
import type { MmioDevice, PortDevice } from '../../../src/emulator/devices/device';
import { BusConflictError, IoPortBus } from '../../../src/emulator/devices/portBus';
import { MmioBus } from '../../../src/emulator/devices/mmioBus';

class RecordingPorts implements PortDevice {
  readonly accesses: string[] = [];
  constructor(
    readonly name: string,
    readonly portRanges: { base: number; length: number }[],
    readonly byteWide: boolean,
  ) {}
  portRead(rangeIndex: number, offset: number, size: AccessSize): number {
    this.accesses.push(`r${rangeIndex}:${offset}/${size}`);
    return 0x10 + offset;
  }
  portWrite(rangeIndex: number, offset: number, size: AccessSize, value: number): void {
    this.accesses.push(`w${rangeIndex}:${offset}/${size}=${value.toString(16)}`);
  }
}

describe('IoPortBus', () => {
  it('passes offsets relative to the claimed range and the range index', () => {
    const bus = new IoPortBus();
    const dev = new RecordingPorts('two', [{ base: 0x20, length: 2 }, { base: 0xa0, length: 2 }], true);
    bus.attach(dev);
    bus.write(0xa1, 1, 0x5a);
    assert.equal(bus.read(0x21, 1), 0x11);
    assert.deepEqual(dev.accesses, ['w1:1/1=5a', 'r0:1/1']);
  });

  it('rejects a device whose range overlaps one already attached, naming both', () => {
    const bus = new IoPortBus();
    bus.attach(new RecordingPorts('first', [{ base: 0x3f8, length: 8 }], true));
    assert.throws(() => bus.attach(new RecordingPorts('second', [{ base: 0x3ff, length: 1 }], true)), (e: unknown) => {
      return e instanceof BusConflictError && /0x03FF.*first/.test(e.message);
    });
    // the failed attach claimed nothing
    assert.equal(bus.deviceAt(0x3ff)?.name, 'first');
  });

  it('reads unclaimed ports as all ones at every width and ignores writes', () => {
    const bus = new IoPortBus();
    assert.equal(bus.read(0x1234, 1), 0xff);
    assert.equal(bus.read(0x1234, 2), 0xffff);
    assert.equal(bus.read(0x1234, 4), 0xffffffff);
    bus.write(0x1234, 4, 0);
    assert.equal(bus.unclaimedWrites, 4);
  });

  it('splits wide accesses to byte-wide devices into consecutive byte accesses, low byte first', () => {
    const bus = new IoPortBus();
    const dev = new RecordingPorts('bytes', [{ base: 0x40, length: 4 }], true);
    bus.attach(dev);
    bus.write(0x40, 2, 0xbeef);
    assert.deepEqual(dev.accesses, ['w0:0/1=ef', 'w0:1/1=be']);
    assert.equal(bus.read(0x42, 4), 0xff_ff_13_12); // ports 0x44/0x45 unclaimed
  });

  it('hands wide accesses whole to devices that are not byte-wide', () => {
    const bus = new IoPortBus();
    const dev = new RecordingPorts('wide', [{ base: 0xf4, length: 4 }], false);
    bus.attach(dev);
    bus.write(0xf4, 4, 0x12345678);
    assert.deepEqual(dev.accesses, ['w0:0/4=12345678']);
  });
});

describe('MmioBus', () => {
  const device = (name: string, base: number, length: number): MmioDevice & { log: string[] } => {
    const log: string[] = [];
    return {
      name,
      log,
      mmioRanges: [{ base, length }],
      mmioRead: (_r, offset, size) => (log.push(`r${offset}/${size}`), 0xabcd1234),
      mmioWrite: (_r, offset, size, value) => void log.push(`w${offset}/${size}=${value.toString(16)}`),
    };
  };

  it('routes by range with relative offsets and answers all ones elsewhere', () => {
    const bus = new MmioBus();
    const lapic = device('lapic', 0xfee00000, 0x1000);
    bus.attach(lapic);
    assert.equal(bus.claims(0xfee000b0, 4), true);
    assert.equal(bus.claims(0xfec00000, 4), false);
    bus.write(0xfee000b0, 4, 0);
    assert.equal(bus.read(0xfee00020, 2), 0x1234);
    assert.equal(bus.read(0xfec00000, 4), 0xffffffff);
    assert.deepEqual(lapic.log, ['w176/4=0', 'r32/2']);
  });

  it('rejects overlapping MMIO ranges', () => {
    const bus = new MmioBus();
    bus.attach(device('ioapic', 0xfec00000, 0x1000));
    assert.throws(() => bus.attach(device('clash', 0xfec00ff0, 0x20)), BusConflictError);
  });
});
