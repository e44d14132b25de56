// Small debug and test devices that guests use to report and to end a run:
//  - DebugExit: QEMU's isa-debug-exit (iobase 0xF4, iosize 4): a write of v ends the run with host status
//    (v << 1) | 1, so a guest can never produce status 0 and graders can tell "exited" from "crashed".
//  - PostCode: the PC's port 0x80 POST diagnostic latch; keeps the last code and a short history.
//  - BochsShutdown: Bochs's port 0x8900: writing the characters "Shutdown" one by one powers off.
import type { AccessSize } from '../hw/contracts';
import type { AddressRange, MachineControl, PortDevice, StatefulDevice } from './device';

export const DEBUG_EXIT_PORT = 0xf4;
export const POST_PORT = 0x80;
export const BOCHS_SHUTDOWN_PORT = 0x8900;
const BOCHS_SHUTDOWN_WORD = 'Shutdown';
const POST_HISTORY = 16;

/** The host status QEMU reports for a debug-exit write of `value`. */
export function debugExitStatus(value: number): number {
  return ((value << 1) | 1) >>> 0;
}

export interface DebugExitState {
  lastValue: number | null;
}

export class DebugExit implements PortDevice, StatefulDevice<DebugExitState> {
  readonly name = 'isa-debug-exit';
  readonly portRanges: readonly AddressRange[];
  readonly byteWide = false; // QEMU's device takes the whole access as one value
  private state: DebugExitState = { lastValue: null };

  constructor(private readonly control: MachineControl, base = DEBUG_EXIT_PORT, length = 4) {
    this.portRanges = [{ base, length }];
  }

  portRead(): number {
    return 0xffffffff;
  }

  portWrite(_rangeIndex: number, _offset: number, _size: AccessSize, value: number): void {
    this.state.lastValue = value >>> 0;
    const status = debugExitStatus(value);
    this.control.requestExit(status, `guest wrote 0x${(value >>> 0).toString(16)} to the debug-exit port → status ${status}`);
  }

  saveState(): DebugExitState {
    return { ...this.state };
  }

  loadState(state: DebugExitState): void {
    this.state = { ...state };
  }
}

export interface PostCodeState {
  lastCode: number;
  history: number[];
}

export class PostCode implements PortDevice, StatefulDevice<PostCodeState> {
  readonly name = 'POST port 0x80';
  readonly portRanges: readonly AddressRange[] = [{ base: POST_PORT, length: 1 }];
  readonly byteWide = true;
  private state: PostCodeState = { lastCode: 0, history: [] };

  portRead(): number {
    return this.state.lastCode;
  }

  portWrite(_rangeIndex: number, _offset: number, _size: AccessSize, value: number): void {
    this.state.lastCode = value & 0xff;
    this.state.history.push(value & 0xff);
    if (this.state.history.length > POST_HISTORY) this.state.history.shift();
  }

  get lastCode(): number {
    return this.state.lastCode;
  }

  saveState(): PostCodeState {
    return { lastCode: this.state.lastCode, history: [...this.state.history] };
  }

  loadState(state: PostCodeState): void {
    this.state = { lastCode: state.lastCode, history: [...state.history] };
  }
}

export interface BochsShutdownState {
  /** How many characters of "Shutdown" have arrived in order. */
  matched: number;
}

export class BochsShutdown implements PortDevice, StatefulDevice<BochsShutdownState> {
  readonly name = 'Bochs shutdown port';
  readonly portRanges: readonly AddressRange[] = [{ base: BOCHS_SHUTDOWN_PORT, length: 1 }];
  readonly byteWide = true;
  private state: BochsShutdownState = { matched: 0 };

  constructor(private readonly control: MachineControl) {}

  portRead(): number {
    return 0xff;
  }

  portWrite(_rangeIndex: number, _offset: number, _size: AccessSize, value: number): void {
    const ch = String.fromCharCode(value & 0xff);
    if (ch === BOCHS_SHUTDOWN_WORD[this.state.matched]) {
      this.state.matched++;
      if (this.state.matched === BOCHS_SHUTDOWN_WORD.length) {
        this.state.matched = 0;
        this.control.requestShutdown('guest wrote "Shutdown" to port 0x8900 (Bochs convention)');
      }
    } else {
      this.state.matched = ch === BOCHS_SHUTDOWN_WORD[0] ? 1 : 0;
    }
  }

  saveState(): BochsShutdownState {
    return { ...this.state };
  }

  loadState(state: BochsShutdownState): void {
    this.state = { ...state };
  }
}
