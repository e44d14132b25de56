// `hyperstep run <file> --technique … --architecture …`: the same guest loading and limits as the native
// `run` (run.ts), but the guest is driven by an ExecutionEngine from createVmmEngine (src/emulator/vmm/index.ts),
// so every trap, hypercall, world switch and I/O hop is recorded. COM1 output streams to stdout; the cost
// summary (and, with --trace, one line per transition) goes to stderr so stdout stays the guest's; --json
// replaces all of that with one JSON document on stdout. Exit statuses are run.ts's, plus
// VMM_STATUS.unimplementedTechnique for a technique createVmmEngine does not offer yet.
import type { Machine, MachineStop } from '../emulator/machine/machine';
import type { EngineStop } from '../emulator/vmm/engine';
import { createVmmEngine } from '../emulator/vmm/index';
import type { Transition } from '../emulator/vmm/transitions';
import type { CliIo } from './io';
import { formatCostSummary, formatTransition, formatVirtualCpu, ledgerJson, type JsonReport } from './report';
import { RUN_STATUS, bootGuest, formatDump, parseRunArguments, runStatusFor, runUsage } from './run';
import { splitVmmArguments, type VmmOptions } from './vmmOptions';

/** Even, above run.ts's statuses, so it never collides with a debug-exit status (always odd). */
export const VMM_STATUS = {
  unimplementedTechnique: 16, // a valid technique whose engine does not exist yet
} as const;

/** True when the argument list asks for a VMM (any of --technique, --architecture, --cost…, --trace, --json). */
export function wantsVmm(argv: readonly string[]): boolean {
  return splitVmmArguments(argv).wantsVmm;
}

/** Engine slice between output flushes and time-limit checks, in guest instructions. */
const SLICE = 1_000_000;

interface Ending {
  readonly reason: string;
  readonly detail: string;
  readonly status: number;
}

/** The final stop: the machine's own when it ended for good (limits, exit, shutdown), else the engine's. */
function ending(machine: Machine, stop: EngineStop, timedOut: string | undefined): Ending {
  if (timedOut !== undefined) return { reason: 'time-limit', detail: timedOut, status: RUN_STATUS.timeLimit };
  const final: MachineStop | null = machine.ended;
  if (final !== null) return { reason: final.reason, detail: final.detail, status: runStatusFor(final) };
  switch (stop.kind) {
    case 'guest-exit':
      return { reason: 'guest-exit', detail: `the guest ended with status ${stop.status}`, status: stop.status };
    case 'shutdown':
      return { reason: 'shutdown', detail: stop.reason, status: RUN_STATUS.shutdown };
    case 'halt':
      return { reason: 'halt', detail: 'the guest halted and nothing will wake it', status: RUN_STATUS.halted };
    case 'stop':
      return { reason: 'stopped', detail: stop.message, status: RUN_STATUS.stopped };
    case 'breakpoint':
      return { reason: 'breakpoint', detail: `breakpoint at ${stop.address}`, status: RUN_STATUS.stopped };
    default:
      return { reason: stop.kind, detail: 'the engine stopped', status: RUN_STATUS.stopped };
  }
}

/** A magic breakpoint (xchg bx, bx) means nothing without a debugger: the run goes on, as in run.ts. */
function isMagicBreakpoint(machine: Machine, stop: EngineStop): boolean {
  return stop.kind === 'stop' && machine.ended === null && /magic breakpoint/.test(stop.message);
}

export async function runUnderVmm(argv: readonly string[], io: CliIo): Promise<number> {
  const split = splitVmmArguments(argv);
  const args = parseRunArguments(split.rest);
  if (args === 'help') {
    io.stdout(runUsage());
    return 0;
  }
  const problems = [...split.errors, ...(typeof args === 'string' ? [args] : [])];
  if (problems.length > 0 || split.options === undefined || typeof args === 'string') {
    for (const problem of problems) io.stderr(`hyperstep run: ${problem} (see hyperstep run --help)\n`);
    return RUN_STATUS.usage;
  }
  const options: VmmOptions = split.options;
  const machine = bootGuest(args, io);
  if (typeof machine === 'number') return machine;
  const created = createVmmEngine(machine, {
    technique: options.technique,
    architecture: options.architecture,
    costModel: options.costModelName,
    costOverrides: options.costOverrides,
  });
  if (!created.ok) {
    const unimplemented = created.errors.some((e) => /not implemented/.test(e));
    for (const error of created.errors) io.stderr(`hyperstep run: ${error}\n`);
    return unimplemented ? VMM_STATUS.unimplementedTechnique : RUN_STATUS.usage;
  }
  const { engine, log, ledger } = created.handle;
  machine.limits.instructionLimit = args.instructionLimit;
  machine.limits.outputLimit = args.outputLimit;

  const decoder = new TextDecoder('utf-8');
  let output = '';
  let pending: number[] = [];
  machine.onSerialOutput((b) => pending.push(b));
  const flush = () => {
    if (pending.length === 0) return;
    const text = decoder.decode(Uint8Array.from(pending), { stream: true });
    pending = [];
    if (options.json) output += text;
    else io.stdout(text);
  };
  const traced: Transition[] = [];
  let transitionCount = 0;
  const transitionsByReason = new Map<string, number>();
  log.onRecord((t) => {
    transitionCount++;
    transitionsByReason.set(t.reason, (transitionsByReason.get(t.reason) ?? 0) + 1);
    if (!options.trace) return;
    if (options.json) traced.push(t);
    else {
      flush(); // the guest's output so far, so the trace interleaves with it in order
      io.stderr(`${formatTransition(t)}\n`);
    }
  });
  machine.serialInput(Array.from(args.input, (c) => c.charCodeAt(0) & 0xff));

  const deadline = args.timeLimitSeconds > 0 ? Date.now() + args.timeLimitSeconds * 1000 : Infinity;
  let stop: EngineStop;
  let timedOut: string | undefined;
  for (;;) {
    stop = engine.run(SLICE);
    flush();
    if (isMagicBreakpoint(machine, stop)) continue;
    if (stop.kind !== 'budget') break;
    if (Date.now() >= deadline) {
      timedOut = `time limit of ${args.timeLimitSeconds} s reached`;
      break;
    }
  }
  flush();
  const tail = decoder.decode();
  if (options.json) output += tail;
  else io.stdout(tail);

  const end = ending(machine, stop, timedOut);
  const instructions = machine.cpu.retired();
  if (options.json) {
    const report: JsonReport = {
      file: args.file,
      technique: options.technique,
      architecture: options.architecture,
      costModel: { preset: options.costModelName, overrides: options.costOverrides },
      output,
      stop: { reason: end.reason, detail: end.detail },
      exitStatus: end.status,
      instructions,
      exitCounts: engine.exitCounts(),
      ledger: ledgerJson(ledger, options.technique, options.architecture),
      transitionCount,
      ...(options.trace ? { transitions: traced } : {}),
    };
    io.stdout(`${JSON.stringify(report, null, 1)}\n`);
    return end.status;
  }
  io.stderr(`hyperstep run: ${end.reason}: ${end.detail} (${instructions} instructions; exit status ${end.status})\n`);
  io.stderr(
    formatCostSummary(ledger, {
      technique: options.technique,
      architecture: options.architecture,
      costModel: options.costModelName,
      instructions,
      transitions: transitionCount,
      transitionsByReason,
    }),
  );
  if (args.dump) {
    io.stderr(formatDump(machine));
    const virtual = engine.virtualCpu();
    if (virtual !== undefined) io.stderr(formatVirtualCpu(virtual));
  }
  return end.status;
}
