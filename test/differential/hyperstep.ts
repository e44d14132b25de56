// Runs a Multiboot kernel on HyperStep's PC machine the way the differential tests need it: serial output,
// the final stop, and the sequence of exceptions and interrupts the CPU delivered (vector, error code,
// software or not, CPL at the time), in the vocabulary of QEMU's `-d int` log.
import type { Ia32CpuAdapter } from '../../src/emulator/machine/cpuAdapter';
import type { MachineStop } from '../../src/emulator/machine/machine';
import { createPcMachine } from '../../src/emulator/machine/pc';
import { defaultRecipe } from '../../src/emulator/machine/recipe';

export interface InterruptEvent {
  readonly vector: number;
  readonly errorCode: number;
  /** QEMU's i=1: a software interrupt (INT n, INT3, INTO). */
  readonly software: boolean;
  readonly cpl: number;
}

export interface HyperStepRun {
  readonly serial: string;
  readonly stop: MachineStop;
  readonly events: InterruptEvent[];
  readonly retired: number;
  readonly stateHash: string;
}

export function runHyperStep(image: Uint8Array, options: { kernelName: string; memoryMiB?: number; instructionLimit?: number }): HyperStepRun {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: options.memoryMiB ?? 32 }));
  const loaded = machine.boot(image, { kernelName: options.kernelName });
  if ('error' in loaded) throw new Error(`HyperStep could not boot ${options.kernelName}: ${loaded.error}`);
  const events: InterruptEvent[] = [];
  const core = (machine.cpu as Ia32CpuAdapter).core;
  core.eventHook = (kind, vector, errorCode) => {
    if (kind !== 'exception' && kind !== 'software-interrupt' && kind !== 'external-interrupt') return false;
    events.push({ vector, errorCode: Math.max(0, errorCode), software: kind === 'software-interrupt', cpl: core.cpl });
    return false; // observe only: the CPU delivers as usual
  };
  machine.limits.instructionLimit = options.instructionLimit ?? 50_000_000;
  const bytes: number[] = [];
  machine.onSerialOutput((b) => bytes.push(b));
  let stop: MachineStop;
  do stop = machine.run(10_000_000);
  while (stop.reason === 'budget');
  return { serial: String.fromCharCode(...bytes), stop, events, retired: machine.cpu.retired(), stateHash: machine.stateHash() };
}

/**
 * The interrupts QEMU delivered after the kernel started, from its `-d int` log. Deliveries that QEMU starts
 * while already delivering another (a "check_exception old: X" line with X ≠ 0xffffffff before them: the
 * #DF that replaces a fault during delivery) are marked `nested`.
 */
export function parseQemuInterrupts(log: string, kernelStart = 0x100000): Array<InterruptEvent & { nested: boolean }> {
  const events: Array<InterruptEvent & { nested: boolean }> = [];
  let nested = false;
  let started = false;
  for (const line of log.split('\n')) {
    const check = /check_exception old: (0x[0-9a-f]+) new/.exec(line);
    if (check) {
      nested = check[1] !== '0xffffffff';
      continue;
    }
    const m = /^\s*\d+: v=([0-9a-f]+) e=([0-9a-f]+) i=(\d) cpl=(\d) IP=[0-9a-f]+:[0-9a-f]+ pc=([0-9a-f]+)/.exec(line);
    if (!m) continue;
    const pc = parseInt(m[5], 16);
    if (!started && pc < kernelStart) {
      nested = false;
      continue; // firmware-time interrupts
    }
    started = true;
    events.push({ vector: parseInt(m[1], 16), errorCode: parseInt(m[2], 16), software: m[3] === '1', cpl: Number(m[4]), nested });
    nested = false;
  }
  return events;
}

export function qemuTripleFaulted(log: string): boolean {
  return /Triple fault/.test(log);
}
