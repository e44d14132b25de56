// Test doubles shared by the device unit tests: an IRQ recorder, a settable virtual clock, a machine-control
// recorder, and a port bus with one device attached.
import type { IrqSink, MachineControl, PortDevice } from '../../../src/emulator/devices/device';
import { IoPortBus } from '../../../src/emulator/devices/portBus';
import type { VirtualClock } from '../../../src/emulator/hw/contracts';

export class IrqRecorder implements IrqSink {
  readonly levels = new Map<number, boolean>();
  readonly events: Array<[number, boolean]> = [];
  setIrq(line: number, level: boolean): void {
    this.levels.set(line, level);
    this.events.push([line, level]);
  }
  level(line: number): boolean {
    return this.levels.get(line) ?? false;
  }
  risingEdges(line: number): number {
    let previous = false;
    let edges = 0;
    for (const [l, level] of this.events) {
      if (l !== line) continue;
      if (level && !previous) edges++;
      previous = level;
    }
    return edges;
  }
}

export class ManualClock implements VirtualClock {
  cycles = 0;
  now(): number {
    return this.cycles;
  }
}

export class ControlRecorder implements MachineControl {
  exits: Array<{ status: number; reason: string }> = [];
  shutdowns: string[] = [];
  requestExit(status: number, reason: string): void {
    this.exits.push({ status, reason });
  }
  requestShutdown(reason: string): void {
    this.shutdowns.push(reason);
  }
}

export function busWith(...devices: PortDevice[]): IoPortBus {
  const bus = new IoPortBus();
  for (const d of devices) bus.attach(d);
  return bus;
}
