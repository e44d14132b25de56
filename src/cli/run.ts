// `hyperstep run <file.asm|kernel.elf|flat.bin>`: boots a guest natively on the emulated PC and streams its
// COM1 output to stdout. A .asm file is assembled first with the project's assembler (flat binary: the
// source must `org` at 1 MiB or above and carry a Multiboot header with the a.out kludge, as
// samples/hello/hello.asm does); anything else is loaded as a Multiboot ELF32 kernel or flat image.
// Exit status: the guest's debug-exit status (v << 1) | 1 (always odd, QEMU's isa-debug-exit convention),
// or one of the even RUN_STATUS codes below, with a one-line reason on stderr.
import { assemble, formatDiagnostic } from '../emulator/asm';
import type { Machine, MachineStop } from '../emulator/machine/machine';
import { createPcMachine } from '../emulator/machine/pc';
import { defaultRecipe } from '../emulator/machine/recipe';
import type { CliIo } from './io';
import { VMM_USAGE } from './vmmOptions';
import { runUnderVmm, wantsVmm } from './vmmRun';

/** Even statuses, so they never collide with a debug-exit status. */
export const RUN_STATUS = {
  usage: 2, // bad arguments, unreadable or unbootable file, assembly errors
  shutdown: 4, // triple fault, or the Bochs shutdown port
  halted: 6, // HLT with interrupts disabled, or waiting for an interrupt nothing will raise
  instructionLimit: 8,
  timeLimit: 10,
  outputLimit: 12,
  stopped: 14, // a breakpoint or another stop the command line cannot continue from
} as const;

const USAGE = `usage: hyperstep run <file.asm|kernel.elf|flat.bin> [options]
  --memory <MiB>             guest RAM (default 32)
  --instruction-limit <n>    stop after n instructions (default: none)
  --time-limit <seconds>     stop after this much host time (default 300; 0 = none)
  --output-limit <bytes>     stop when the guest writes more serial output (default 16777216)
  --append <text>            the kernel command line after the file name (QEMU -append)
  --input <text>             bytes for the guest to receive on COM1
  --dump                     print the final CPU and device state on stderr
  --debug-loop               run the CPU's debug loop (breakpoint checks) instead of the fast loop
  -I <dir>, -D <name=value>  include paths and defines when assembling a .asm file
${VMM_USAGE}exit status: the guest's debug-exit status (v<<1)|1, or ${Object.entries(RUN_STATUS).map(([k, v]) => `${v} ${k}`).join(', ')}
`;

export interface RunArguments {
  file: string;
  memoryMiB: number;
  instructionLimit?: number;
  timeLimitSeconds: number;
  outputLimit: number;
  append: string;
  input: string;
  dump: boolean;
  debugLoop: boolean;
  includePaths: string[];
  defines: Record<string, string>;
}

export function parseRunArguments(argv: readonly string[]): RunArguments | string {
  const args: Partial<RunArguments> = {};
  const parsed: RunArguments = {
    file: '', memoryMiB: 32, timeLimitSeconds: 300, outputLimit: 16 * 1024 * 1024, append: '', input: '', dump: false,
    debugLoop: false, includePaths: [], defines: {},
  };
  const number = (flag: string, text: string | undefined, min: number): number | string => {
    const n = Number(text);
    return text === undefined || !Number.isFinite(n) || n < min ? `${flag} needs a number ≥ ${min}` : n;
  };
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k]!;
    const value = (): string | undefined => argv[++k];
    let n: number | string;
    switch (a) {
      case '--memory':
        if (typeof (n = number(a, value(), 2)) === 'string') return n;
        parsed.memoryMiB = n;
        break;
      case '--instruction-limit':
        if (typeof (n = number(a, value(), 1)) === 'string') return n;
        parsed.instructionLimit = n;
        break;
      case '--time-limit':
        if (typeof (n = number(a, value(), 0)) === 'string') return n;
        parsed.timeLimitSeconds = n;
        break;
      case '--output-limit':
        if (typeof (n = number(a, value(), 0)) === 'string') return n;
        parsed.outputLimit = n;
        break;
      case '--append':
        parsed.append = value() ?? '';
        break;
      case '--input':
        parsed.input = value() ?? '';
        break;
      case '--dump':
        parsed.dump = true;
        break;
      case '--debug-loop':
        parsed.debugLoop = true;
        break;
      case '-h':
      case '--help':
        return 'help';
      default:
        if (a.startsWith('-I')) {
          const dir = a.length > 2 ? a.slice(2) : value();
          if (dir !== undefined) parsed.includePaths.push(dir);
        } else if (a.startsWith('-D')) {
          const def = a.length > 2 ? a.slice(2) : value();
          if (def !== undefined) {
            const eq = def.indexOf('=');
            parsed.defines[eq < 0 ? def : def.slice(0, eq)] = eq < 0 ? '' : def.slice(eq + 1);
          }
        } else if (a.startsWith('-')) {
          return `unknown option ${a}`;
        } else if (args.file === undefined) {
          args.file = a;
        } else {
          return 'more than one guest file given';
        }
    }
  }
  if (args.file === undefined) return 'no guest file given';
  parsed.file = args.file;
  return parsed;
}

function isAssemblySource(path: string): boolean {
  return /\.(asm|nasm|inc|s)$/i.test(path);
}

/** Produce the bootable image: the file itself, or the flat binary assembled from it. */
export function guestImage(args: RunArguments, io: CliIo): Uint8Array | string {
  const bytes = io.readFile(args.file);
  if (bytes === undefined) return `cannot read ${args.file}`;
  if (!isAssemblySource(args.file)) return bytes;
  const text = new TextDecoder('utf-8').decode(bytes);
  const result = assemble(
    { path: io.resolve(args.file), text },
    {
      format: 'bin',
      includePaths: args.includePaths.map((d) => io.resolve(d)),
      // NASM predefines __?OUTPUT_FORMAT?__ (NASM manual 5.x); samples/include/multiboot.inc tests it.
      defines: { __OUTPUT_FORMAT__: 'bin', ...args.defines },
      listing: false,
      readFile: (path) => {
        const b = io.readFile(path);
        return b === undefined ? undefined : new TextDecoder('utf-8').decode(b);
      },
      readBinaryFile: (path) => io.readFile(path),
    },
  );
  for (const d of result.diagnostics) io.stderr(`${formatDiagnostic(d)}\n`);
  if (!result.ok) return `${args.file} did not assemble`;
  return result.output;
}

export function runStatusFor(stop: MachineStop): number {
  switch (stop.reason) {
    case 'guest-exit':
      return stop.exitStatus ?? 1;
    case 'shutdown':
      return RUN_STATUS.shutdown;
    case 'halt':
      return RUN_STATUS.halted;
    case 'instruction-limit':
      return RUN_STATUS.instructionLimit;
    case 'output-limit':
      return RUN_STATUS.outputLimit;
    default:
      return RUN_STATUS.stopped;
  }
}

const hex = (v: number) => '0x' + (v >>> 0).toString(16).padStart(8, '0');

/** The final state, for --dump: registers, interrupt controller, timer, counters. */
export function formatDump(machine: Machine): string {
  const cpu = machine.cpu.summary();
  const r = cpu.registers;
  const lines = [
    `eax=${hex(r['eax']!)} ebx=${hex(r['ebx']!)} ecx=${hex(r['ecx']!)} edx=${hex(r['edx']!)}`,
    `esi=${hex(r['esi']!)} edi=${hex(r['edi']!)} ebp=${hex(r['ebp']!)} esp=${hex(r['esp']!)}`,
    `eip=${hex(r['eip']!)} eflags=${hex(r['eflags']!)} cpl=${cpu.cpl}${cpu.halted ? ' (halted)' : ''}`,
    `cs=${r['cs']?.toString(16)} ds=${r['ds']?.toString(16)} es=${r['es']?.toString(16)} ss=${r['ss']?.toString(16)} fs=${r['fs']?.toString(16)} gs=${r['gs']?.toString(16)}` +
      ` cr0=${hex(r['cr0'] ?? 0)} cr2=${hex(r['cr2'] ?? 0)} cr3=${hex(r['cr3'] ?? 0)} cr4=${hex(r['cr4'] ?? 0)}`,
  ];
  const pic = machine.devices.pic?.inspect();
  if (pic) {
    const p = (c: typeof pic.master) => `base=${c.vectorBase.toString(16)} irr=${c.irr.toString(16)} isr=${c.isr.toString(16)} imr=${c.imr.toString(16)}`;
    lines.push(`pic master ${p(pic.master)}; slave ${p(pic.slave)}`);
  }
  const pit = machine.devices.pit?.inspect()[0];
  if (pit) lines.push(`pit0 mode=${pit.mode} reload=${pit.reload} count=${pit.count}`);
  lines.push(`retired=${machine.cpu.retired()} virtual-cycles=${machine.now()} serial-bytes=${machine.serialByteCount} state-hash=${machine.stateHash()}`);
  return lines.join('\n') + '\n';
}

/**
 * Assembles or reads the guest, builds the PC and boots it (shared by the native and the VMM runs). When it
 * cannot, the one-line reason is already on stderr and the usage status is returned.
 */
export function bootGuest(args: RunArguments, io: CliIo): Machine | number {
  const image = guestImage(args, io);
  if (typeof image === 'string') {
    io.stderr(`hyperstep run: ${image}\n`);
    return RUN_STATUS.usage;
  }
  let machine: Machine;
  try {
    machine = createPcMachine(defaultRecipe({ memoryMiB: args.memoryMiB }));
  } catch (e) {
    io.stderr(`hyperstep run: ${e instanceof Error ? e.message : String(e)}\n`);
    return RUN_STATUS.usage;
  }
  const loaded = machine.boot(image, { kernelName: args.file, append: args.append });
  if ('error' in loaded) {
    const hint = isAssemblySource(args.file)
      ? ' (a .asm guest must assemble to a flat image: org 0x100000 and a Multiboot header with the a.out kludge, see samples/hello/hello.asm)'
      : '';
    io.stderr(`hyperstep run: ${args.file}: ${loaded.error}${hint}\n`);
    return RUN_STATUS.usage;
  }
  return machine;
}

export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  if (wantsVmm(argv)) return runUnderVmm(argv, io); // --technique, --trace, --json…: vmmRun.ts
  const args = parseRunArguments(argv);
  if (args === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  if (typeof args === 'string') {
    io.stderr(`hyperstep run: ${args}\n${USAGE}`);
    return RUN_STATUS.usage;
  }
  const machine = bootGuest(args, io);
  if (typeof machine === 'number') return machine;
  machine.limits.instructionLimit = args.instructionLimit;
  machine.limits.outputLimit = args.outputLimit;
  const decoder = new TextDecoder('utf-8');
  let pending: number[] = [];
  machine.onSerialOutput((b) => pending.push(b));
  const flush = () => {
    if (pending.length === 0) return;
    io.stdout(decoder.decode(Uint8Array.from(pending), { stream: true }));
    pending = [];
  };
  machine.serialInput(Array.from(args.input, (c) => c.charCodeAt(0) & 0xff));
  const deadline = args.timeLimitSeconds > 0 ? Date.now() + args.timeLimitSeconds * 1000 : Infinity;
  const slice = 4_000_000;
  let stop: MachineStop;
  for (;;) {
    stop = machine.run(slice, { debug: args.debugLoop });
    flush();
    if (stop.reason === 'magic-breakpoint') continue; // nothing to stop for without a debugger
    if (stop.reason !== 'budget') break;
    if (Date.now() >= deadline) {
      stop = { reason: 'budget', detail: `time limit of ${args.timeLimitSeconds} s reached` };
      break;
    }
  }
  flush();
  io.stdout(decoder.decode());
  const timedOut = stop.reason === 'budget';
  const status = timedOut ? RUN_STATUS.timeLimit : runStatusFor(stop);
  const label = timedOut ? 'time limit' : stop.reason;
  io.stderr(`hyperstep run: ${label}: ${stop.detail} (${machine.cpu.retired()} instructions; exit status ${status})\n`);
  if (args.dump) io.stderr(formatDump(machine));
  return status;
}

export function runUsage(): string {
  return USAGE;
}
