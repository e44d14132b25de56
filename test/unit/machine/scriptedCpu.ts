// A stand-in CPU for machine tests: executes a tiny script of port writes, reads, STI/CLI and HLT, one
// "instruction" per step, acknowledging interrupts through the machine's InterruptLine like a real core.
// It exercises the run loop, virtual time, devices and snapshots without depending on the IA-32 core.
import type { CpuStopReason } from '../../../src/emulator/hw/contracts';
import type { CpuSummary, MachineCpu, ProtectedModeEntry } from '../../../src/emulator/machine/cpuPort';
import type { Machine } from '../../../src/emulator/machine/machine';

export type ScriptOp =
  | { op: 'out'; port: number; value: number; size?: 1 | 2 | 4 }
  | { op: 'in'; port: number }
  | { op: 'sti' }
  | { op: 'cli' }
  | { op: 'hlt' }
  | { op: 'nop' }
  | { op: 'jmp'; to: number }
  /** Interrupt handler epilogue: non-specific EOI to the master PIC. */
  | { op: 'eoi' };

interface ScriptedState {
  pc: number;
  retired: number;
  interruptsEnabled: boolean;
  halted: boolean;
  vectors: number[];
  lastIn: number;
  entry: ProtectedModeEntry | null;
  interruptTimes: number[];
}

export class ScriptedCpu implements MachineCpu {
  state: ScriptedState = { pc: 0, retired: 0, interruptsEnabled: false, halted: false, vectors: [], lastIn: 0, entry: null, interruptTimes: [] };
  private stopRequested = false;

  constructor(private readonly machine: Machine, private readonly script: ScriptOp[]) {}

  retired(): number {
    return this.state.retired;
  }

  run(budget: number): CpuStopReason {
    const s = this.state;
    const irq = this.machine.devices.pic;
    for (let i = 0; i < budget; i++) {
      if (this.stopRequested) {
        this.stopRequested = false;
        return 'exit';
      }
      if (s.interruptsEnabled && irq?.pending()) {
        s.vectors.push(irq.acknowledge());
        s.interruptTimes.push(this.machine.now());
        s.halted = false;
      }
      if (s.halted) return 'halt';
      const op = this.script[s.pc];
      if (op === undefined) return 'halt';
      s.pc++;
      s.retired++;
      switch (op.op) {
        case 'out':
          this.machine.ports.write(op.port, op.size ?? 1, op.value);
          break;
        case 'in':
          s.lastIn = this.machine.ports.read(op.port, 1);
          break;
        case 'sti':
          s.interruptsEnabled = true;
          break;
        case 'cli':
          s.interruptsEnabled = false;
          break;
        case 'hlt':
          s.halted = true;
          return 'halt';
        case 'jmp':
          s.pc = op.to;
          break;
        case 'eoi':
          this.machine.ports.write(0x20, 1, 0x20);
          break;
        case 'nop':
          break;
      }
    }
    if (this.stopRequested) {
      this.stopRequested = false;
      return 'exit';
    }
    return 'budget';
  }

  requestStop(): void {
    this.stopRequested = true;
  }

  cancelStop(): void {
    this.stopRequested = false;
  }

  interruptsEnabled(): boolean {
    return this.state.interruptsEnabled;
  }

  enterProtectedMode(entry: ProtectedModeEntry): void {
    this.state.entry = entry;
  }

  summary(): CpuSummary {
    return { registers: { pc: this.state.pc }, cpl: 0, halted: this.state.halted };
  }

  saveState(): unknown {
    return structuredClone(this.state);
  }

  loadState(state: unknown): void {
    this.state = structuredClone(state as ScriptedState);
  }

  stateBytes(): Uint8Array {
    const text = JSON.stringify(this.state);
    return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
  }

  peekLinear(linear: number): number | undefined {
    return this.machine.peekPhysical(linear);
  }

  pokeLinear(linear: number, value: number): boolean {
    return this.machine.pokePhysical(linear, value);
  }

  setBreakpoint(): void {}
  clearBreakpoint(): void {}
}
