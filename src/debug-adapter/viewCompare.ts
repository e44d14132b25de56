// SPDX-License-Identifier: MIT
// `hyperstep.compare`: runs the session's guest image headless under every requested technique and
// architecture, each on a fresh machine with its own ExecutionEngine (createVmmEngine), and returns one row
// per run: how it ended, instructions, cycles per layer and transitions by kind, so the Compare view can draw
// the seed's lesson (the same guest, different costs) as one chart. Emulator APIs only — no Node APIs: the
// adapter also runs in the web extension host. Runs are sliced and yield to the event loop between slices,
// so the debug session keeps answering requests while a comparison runs.
import type { Machine, MachineStop } from '../emulator/machine/machine';
import { createPcMachine } from '../emulator/machine/pc';
import { defaultRecipe } from '../emulator/machine/recipe';
import type { EngineStop } from '../emulator/vmm/engine';
import { createVmmEngine, IMPLEMENTED_TECHNIQUES } from '../emulator/vmm/index';
import { ARCHITECTURES, isArchitecture, isTechnique } from '../emulator/vmm/layers';
import { AdapterError, ErrorCode } from './errors';
import type { LaunchConfig } from './launchArgs';
import type { CompareResponseBody, CompareRow } from './viewProtocol';

/** Default instruction budget per run (viewProtocol CompareArguments.maxInstructions). */
export const COMPARE_DEFAULT_BUDGET = 20_000_000;
/** Default wall-clock limit per run, so a slow guest cannot hold the comparison forever. */
export const COMPARE_DEFAULT_TIME_LIMIT_MS = 15_000;
/** Guest instructions per slice between yields to the event loop. */
const COMPARE_SLICE = 200_000;
/** Serial output kept per row (the view shows it to prove equivalence, not to archive it). */
const SERIAL_LIMIT = 4096;

/** Lets other requests run between slices (setTimeout exists in Node and in web workers). */
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Validates the request's arguments (CompareArguments plus an optional `timeLimitMs` per run) into concrete
 * lists; unknown names are an error, not a silent skip.
 */
export function compareMatrix(args: Record<string, unknown>): { techniques: string[]; architectures: string[]; budget: number; timeLimitMs: number } {
  const list = (key: string, fallback: readonly string[], valid: (v: string) => boolean, what: string): string[] => {
    const value = args[key];
    if (value === undefined) return [...fallback];
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || !valid(v))) {
      throw new AdapterError(ErrorCode.BadArguments, `'${key}' must be an array of ${what}`);
    }
    return value as string[];
  };
  const techniques = list('techniques', IMPLEMENTED_TECHNIQUES, (t) => isTechnique(t), `techniques (${IMPLEMENTED_TECHNIQUES.join(', ')})`);
  const architectures = list('architectures', ['monolithic'], (a) => isArchitecture(a), `architectures (${ARCHITECTURES.join(', ')})`);
  const number = (key: string, fallback: number): number => {
    const value = args[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new AdapterError(ErrorCode.BadArguments, `'${key}' must be a positive integer`);
    return value;
  };
  return { techniques, architectures, budget: number('maxInstructions', COMPARE_DEFAULT_BUDGET), timeLimitMs: number('timeLimitMs', COMPARE_DEFAULT_TIME_LIMIT_MS) };
}

/** Runs every (technique, architecture) pair in turn; `native` runs once whatever the architectures. */
export async function compareTechniques(image: Uint8Array, config: LaunchConfig, args: Record<string, unknown>): Promise<CompareResponseBody> {
  const matrix = compareMatrix(args);
  const rows: CompareRow[] = [];
  for (const technique of matrix.techniques) {
    const architectures = technique === 'native' ? [matrix.architectures[0] ?? 'monolithic'] : matrix.architectures;
    for (const architecture of architectures) {
      rows.push(await runOne(image, config, technique, architecture, matrix.budget, matrix.timeLimitMs));
    }
  }
  return { program: config.program, costModel: config.costPreset, rows };
}

async function runOne(image: Uint8Array, config: LaunchConfig, technique: string, architecture: string, budget: number, timeLimitMs: number): Promise<CompareRow> {
  const empty = (outcome: string): CompareRow => ({ technique, architecture, outcome, guestInstructions: 0, totalCycles: 0, cyclesPerLayer: [], countsByKind: {}, serialOutput: '' });
  let machine: Machine;
  try {
    machine = createPcMachine(defaultRecipe({ memoryMiB: config.memoryMB }));
  } catch (e) {
    return empty(`cannot build the machine: ${e instanceof Error ? e.message : String(e)}`);
  }
  const booted = machine.boot(image, { kernelName: config.program, append: '' });
  if ('error' in booted) return empty(`cannot boot: ${booted.error}`);
  const created = createVmmEngine(machine, {
    technique, architecture, costModel: config.costPreset, costOverrides: config.costOverrides,
    ...(technique === 'hardware-assisted' && config.vmxControls !== undefined ? { vmxControls: config.vmxControls } : {}),
  });
  if (!created.ok) return empty(created.errors.join('; '));
  const { engine, log, ledger } = created.handle;
  const countsByKind: Record<string, number> = {};
  log.onRecord((t) => void (countsByKind[t.kind] = (countsByKind[t.kind] ?? 0) + 1));
  const serial: number[] = [];
  machine.onSerialOutput((b) => void (serial.length < SERIAL_LIMIT && serial.push(b)));
  if (config.serialInput !== '') machine.serialInput(new TextEncoder().encode(config.serialInput));
  machine.limits.instructionLimit = budget;
  if (config.outputLimitBytes > 0) machine.limits.outputLimit = config.outputLimitBytes;

  let outcome: string;
  const attached = engine.attach();
  if (attached !== undefined) outcome = describeStop(machine, attached);
  else {
    const deadline = Date.now() + timeLimitMs;
    for (;;) {
      const remaining = budget - machine.cpu.retired();
      if (remaining <= 0) {
        outcome = 'budget';
        break;
      }
      const stop = engine.run(Math.min(COMPARE_SLICE, remaining));
      const magic = stop.kind === 'stop' && machine.ended === null && /magic breakpoint/.test(stop.message);
      if (!magic && stop.kind !== 'budget' && stop.kind !== 'step-done') {
        outcome = describeStop(machine, stop);
        break;
      }
      if (Date.now() >= deadline) {
        outcome = `time limit (${timeLimitMs} ms)`;
        break;
      }
      await yieldToEventLoop();
    }
  }
  return {
    technique, architecture, outcome,
    guestInstructions: machine.cpu.retired(),
    totalCycles: ledger.total,
    cyclesPerLayer: ledger.byLayer().filter((l) => l.cycles > 0).map((l) => ({ layer: l.layer, cycles: l.cycles })),
    countsByKind,
    serialOutput: new TextDecoder('utf-8').decode(Uint8Array.from(serial)),
  };
}

/** "exit 0x21", "halted", "budget", or the diagnosed stop — CompareRow.outcome's vocabulary. */
function describeStop(machine: Machine, stop: EngineStop): string {
  const ended: MachineStop | null = machine.ended;
  if (ended !== null) {
    if (ended.reason === 'guest-exit') return `exit 0x${(ended.exitStatus ?? 0).toString(16)}`;
    if (ended.reason === 'instruction-limit') return 'budget';
    return `${ended.reason}: ${ended.detail}`;
  }
  switch (stop.kind) {
    case 'guest-exit':
      return `exit 0x${stop.status.toString(16)}`;
    case 'halt':
      return 'halted';
    case 'shutdown':
      return `shutdown: ${stop.reason}`;
    case 'stop':
      return `stopped: ${stop.message}`;
    case 'breakpoint':
      return `breakpoint at 0x${stop.address.toString(16)}`;
    default:
      return stop.kind;
  }
}
