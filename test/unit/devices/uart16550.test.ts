// 16550A UART behaviour against the PC16550D datasheet: DLAB, transmit stream, receive FIFO, IIR priority,
// THRE interrupt clearing, line status, loopback and the scratch register.
import assert from 'node:assert/strict';
import { Uart16550, COM1_IRQ, IIR_NO_INTERRUPT, IIR_THR_EMPTY, IIR_RECEIVED_DATA, IIR_CHARACTER_TIMEOUT, IIR_LINE_STATUS } from '../../../src/emulator/devices/uart16550';
import { busWith, IrqRecorder } from './helpers';

const BASE = 0x3f8;
const THR = BASE, IER = BASE + 1, IIR = BASE + 2, FCR = BASE + 2, LCR = BASE + 3, MCR = BASE + 4, LSR = BASE + 5, MSR = BASE + 6, SCR = BASE + 7;

function setup() {
  const irq = new IrqRecorder();
  const uart = new Uart16550(irq);
  const sent: number[] = [];
  uart.onTransmit = (b) => sent.push(b);
  return { irq, uart, sent, bus: busWith(uart) };
}

describe('16550A UART', () => {
  it('streams every THR write to the host and keeps THRE/TEMT set (instant transmitter)', () => {
    const { bus, sent } = setup();
    for (const ch of 'hi\n') bus.write(THR, 1, ch.charCodeAt(0));
    assert.deepEqual(sent, [0x68, 0x69, 0x0a]);
    assert.equal(bus.read(LSR, 1) & 0x60, 0x60);
  });

  it('maps offsets 0 and 1 to the divisor latch while LCR.DLAB is set', () => {
    const { bus, sent } = setup();
    bus.write(LCR, 1, 0x83);
    bus.write(BASE, 1, 0x01);
    bus.write(BASE + 1, 1, 0x02);
    assert.equal(bus.read(BASE, 1), 0x01);
    assert.equal(bus.read(BASE + 1, 1), 0x02);
    assert.deepEqual(sent, [], 'a divisor write is not a transmission');
    bus.write(LCR, 1, 0x03);
    assert.equal(bus.read(IER, 1), 0, 'IER untouched by the divisor writes');
    assert.equal(bus.read(LCR, 1), 0x03);
  });

  it('delivers host bytes through RBR with LSR.DR, and raises IRQ4 only when IER enables it', () => {
    const { bus, uart, irq } = setup();
    uart.receive([0x41]);
    assert.equal(irq.level(COM1_IRQ), false);
    assert.equal(bus.read(LSR, 1) & 1, 1);
    bus.write(IER, 1, 0x01);
    assert.equal(irq.level(COM1_IRQ), true);
    assert.equal(bus.read(IIR, 1) & 0x0f, IIR_RECEIVED_DATA);
    assert.equal(bus.read(THR, 1), 0x41);
    assert.equal(bus.read(LSR, 1) & 1, 0);
    assert.equal(irq.level(COM1_IRQ), false);
    assert.equal(bus.read(IIR, 1), IIR_NO_INTERRUPT);
  });

  it('raises THRE when enabled, clears it on an IIR read, and re-arms it after each transmission', () => {
    const { bus, irq } = setup();
    bus.write(IER, 1, 0x02);
    assert.equal(irq.level(COM1_IRQ), true);
    assert.equal(bus.read(IIR, 1), IIR_THR_EMPTY);
    assert.equal(irq.level(COM1_IRQ), false);
    assert.equal(bus.read(IIR, 1), IIR_NO_INTERRUPT);
    bus.write(THR, 1, 0x2a);
    assert.equal(irq.level(COM1_IRQ), true);
  });

  it('prioritises received data over THRE in IIR (datasheet Table IV)', () => {
    const { bus, uart } = setup();
    bus.write(IER, 1, 0x03);
    uart.receive([1]);
    assert.equal(bus.read(IIR, 1), IIR_RECEIVED_DATA);
    bus.read(THR, 1);
    assert.equal(bus.read(IIR, 1), IIR_THR_EMPTY);
  });

  it('with FIFOs on: reports 0xC0 in IIR, holds 16 bytes, flags overrun, and uses the trigger level', () => {
    const { bus, uart } = setup();
    bus.write(FCR, 1, 0x81); // enable, trigger level 8
    bus.write(IER, 1, 0x05);
    assert.equal(uart.receive([1, 2, 3]), 3);
    assert.equal(bus.read(IIR, 1), 0xc0 | IIR_CHARACTER_TIMEOUT);
    uart.receive([4, 5, 6, 7, 8]);
    assert.equal(bus.read(IIR, 1), 0xc0 | IIR_RECEIVED_DATA);
    assert.equal(uart.receive(new Array(20).fill(9)), 8, 'only 16 fit');
    assert.equal(bus.read(IIR, 1), 0xc0 | IIR_LINE_STATUS);
    assert.equal(bus.read(LSR, 1) & 0x03, 0x03);
    assert.equal(bus.read(LSR, 1) & 0x02, 0, 'overrun clears when LSR is read');
    const got: number[] = [];
    while (bus.read(LSR, 1) & 1) got.push(bus.read(THR, 1));
    assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9]);
    uart.receive([7]);
    bus.write(FCR, 1, 0x83); // clear receive FIFO
    assert.equal(bus.read(LSR, 1) & 1, 0);
  });

  it('paces queued host input into the FIFO as the guest reads, without overrun', () => {
    const { uart, bus } = setup();
    uart.queueHostInput([1, 2, 3]);
    const got: number[] = [];
    while (bus.read(LSR, 1) & 1) got.push(bus.read(THR, 1));
    assert.deepEqual(got, [1, 2, 3]);
    assert.equal(bus.read(LSR, 1) & 0x02, 0, 'no overrun');
  });

  it('refills the FIFO from queued host input after a receive-FIFO reset (the held byte is lost, as in QEMU)', () => {
    const { uart, bus } = setup();
    uart.queueHostInput([0x61, 0x62, 0x63]); // FIFOs off: only 'a' is in the receive buffer
    bus.write(FCR, 1, 0xc7); // enable and clear FIFOs, as a driver's init does
    const got: number[] = [];
    while (bus.read(LSR, 1) & 1) got.push(bus.read(THR, 1));
    assert.deepEqual(got, [0x62, 0x63]);
  });

  it('holds one byte without FIFOs: a second byte overruns', () => {
    const { uart } = setup();
    assert.equal(uart.receive([1, 2]), 1);
  });

  it('loops THR back to RBR and MCR outputs to MSR inputs in loopback mode', () => {
    const { bus, sent } = setup();
    bus.write(MCR, 1, 0x10 | 0x01 | 0x02); // loopback, DTR, RTS
    bus.write(THR, 1, 0x55);
    assert.deepEqual(sent, []);
    assert.equal(bus.read(THR, 1), 0x55);
    assert.equal(bus.read(MSR, 1) & 0xf0, 0x30, 'CTS and DSR follow RTS and DTR');
    bus.write(MCR, 1, 0x10);
    assert.equal(bus.read(MSR, 1) & 0x0f, 0x03, 'delta CTS and delta DSR');
    assert.equal(bus.read(MSR, 1) & 0x0f, 0, 'delta bits clear on read');
  });

  it('keeps the scratch register and survives save/load', () => {
    const { bus, uart } = setup();
    bus.write(SCR, 1, 0xa5);
    uart.receive([0x33]);
    const saved = JSON.parse(JSON.stringify(uart.saveState()));
    const other = setup();
    other.uart.loadState(saved);
    assert.equal(other.bus.read(SCR, 1), 0xa5);
    assert.equal(other.bus.read(THR, 1), 0x33);
  });
});
