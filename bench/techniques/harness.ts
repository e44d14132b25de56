// Shared harness for the cross-technique evaluation (issue 6 "Tests and figures"): builds guests with the real
// nasm + ld (samples' link script), runs them under any technique createVmmEngine implements with a cost preset,
// and measures Adams & Agesen's nanobenchmarks (samples/vmm/nanobench-aa.asm) in cost-model cycles per
// operation. Used by bench/techniques/mips.ts (`npm run bench:techniques`) and test/unit/vmm/nanobench-aa.test.ts.
//
// Cycles per operation = (ledger cycles at ROUNDS = N2 − at N1) / (N2 − N1), minus the same for the empty loop,
// plus the operation's native hardware price when the hardware completes it without entering the VMM. The
// native engine does not itemise exception deliveries or off-chip port accesses (they are not intercepted), and
// neither does a VMM the operation never reaches (a fast system call, an exception VT-x delivers straight to
// the guest); an operation that does enter the VMM is priced by the VMM's own ledger, which already includes
// the hardware delivery into the VMM. "Enters the VMM" is measured, not assumed: VMM entries per operation
// from the engine's exit counts at the two ROUNDS values.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createPcMachine } from '../../src/emulator/machine/pc';
import { defaultRecipe } from '../../src/emulator/machine/recipe';
import { CostModel, type CostParameter, type CostPresetId } from '../../src/emulator/vmm/costModel';
import type { EngineStop } from '../../src/emulator/vmm/engine';
import { createVmmEngine, IMPLEMENTED_TECHNIQUES } from '../../src/emulator/vmm/index';
import type { Technique } from '../../src/emulator/vmm/layers';

/** The repository (from this file under tsx; from the working directory when bundled into a temporary file). */
export const REPO_ROOT = existsSync(path.resolve(__dirname, '../../samples/vmm')) ? path.resolve(__dirname, '../..') : process.cwd();
const INCLUDE = path.join(REPO_ROOT, 'samples/include');
const LINK_SCRIPT = path.join(REPO_ROOT, 'samples/vmm/link.ld');
export const NANOBENCH_SOURCE = path.join(REPO_ROOT, 'samples/vmm/nanobench-aa.asm');

/** The techniques the comparison covers, in table order; only those createVmmEngine implements are run. */
export const COMPARED_TECHNIQUES: readonly Technique[] = ['native', 'binary-translation', 'hardware-assisted', 'trap-and-emulate'];

export function implementedTechniques(): Technique[] {
  return COMPARED_TECHNIQUES.filter((t) => IMPLEMENTED_TECHNIQUES.includes(t));
}

export interface Nanobenchmark {
  readonly bench: number;
  readonly name: string;
  /** What the operation costs the hardware natively beyond its instruction (undefined: nothing). */
  readonly nativeEvent?: CostParameter;
  /** Needs paging (so memory virtualization under a VMM). */
  readonly paging: boolean;
  /** nanobench-aa.asm has a -DPARAVIRTUAL port of it (not `in` and cr8wr: a PV kernel has no port I/O or CRs). */
  readonly paravirtualPort: boolean;
  /**
   * The binary translator rewrites the operation inline once it keeps faulting (cr8wr: a virtual-TPR update,
   * apicAccess.ts), so under BT it never reaches the hardware and its native price is not added.
   */
  readonly inlineUnderBt?: boolean;
  /** Adams & Agesen Fig. 4 on a 3.8 GHz Pentium 4, as virtualization.md §4 quotes it: native / BT / VT cycles. */
  readonly paper: { readonly native: string; readonly bt: string; readonly vt: string };
}

export const NANOBENCHMARKS: readonly Nanobenchmark[] = [
  { bench: 1, name: 'syscall', paravirtualPort: true, nativeEvent: 'exceptionDelivery', paging: false, paper: { native: 'baseline', bt: 'native + ~2,000', vt: '≈ native' } },
  { bench: 2, name: 'in', paravirtualPort: false, nativeEvent: 'deviceAccess', paging: false, paper: { native: '3,209', bt: '≈ 214 (derived)', vt: '15,826' } },
  { bench: 3, name: 'cr8wr', paravirtualPort: false, inlineUnderBt: true, nativeEvent: 'apicAccess', paging: false, paper: { native: '≈ 140 (derived)', bt: '35', vt: '≈ native' } },
  { bench: 4, name: 'call/ret', paravirtualPort: true, paging: false, paper: { native: '11', bt: '51', vt: '11' } },
  { bench: 5, name: 'pgfault', paravirtualPort: true, nativeEvent: 'pageFaultDelivery', paging: true, paper: { native: '1,093', bt: '3,927', vt: '11,242' } },
  { bench: 6, name: 'divzero', paravirtualPort: true, nativeEvent: 'exceptionDelivery', paging: false, paper: { native: '889', bt: '3,223', vt: '1,014' } },
  { bench: 7, name: 'ptemod', paravirtualPort: true, paging: true, paper: { native: '~1', bt: '391', vt: '12,733' } },
];

function requireTool(tool: string): void {
  if (spawnSync(tool, ['--version']).error !== undefined) throw new Error(`${tool} is required but was not found on PATH (CI installs it via .ci/run)`);
}

let scratch: string | undefined;
const built = new Map<string, Uint8Array>();

/** nasm -f elf32 + ld with the samples' link script; cached per source and defines. */
export function buildGuest(source: string, defines: readonly string[] = []): Uint8Array {
  const key = `${source}|${defines.join(',')}`;
  const cached = built.get(key);
  if (cached !== undefined) return cached;
  requireTool('nasm');
  requireTool('ld');
  scratch ??= mkdtempSync(path.join(tmpdir(), 'hyperstep-techniques-'));
  const base = path.join(scratch, `${path.basename(source, '.asm')}-${built.size}`);
  const nasm = spawnSync('nasm', ['-f', 'elf32', '-I', `${INCLUDE}/`, ...defines.map((d) => `-D${d}`), '-o', `${base}.o`, source], { encoding: 'utf8' });
  if (nasm.status !== 0) throw new Error(`nasm failed on ${source}:\n${nasm.stderr}`);
  execFileSync('ld', ['-m', 'elf_i386', '--no-warn-rwx-segments', '-T', LINK_SCRIPT, '-o', `${base}.elf`, `${base}.o`]);
  const image = new Uint8Array(readFileSync(`${base}.elf`));
  built.set(key, image);
  return image;
}

export interface GuestRun {
  readonly technique: Technique;
  readonly serial: string;
  readonly stop: EngineStop;
  /** Cost-ledger total (cycles of the preset). */
  readonly cycles: number;
  /** VMM entries (sum of the engine's exit counts). */
  readonly vmmEntries: number;
  /** Guest instructions retired. */
  readonly instructions: number;
  readonly wallMs: number;
  /** CPU time of this process during the run (user + system), less sensitive to other load than wallMs. */
  readonly cpuMs: number;
  /** The engine's memory-virtualization counters (memoryStats), empty when it has none. */
  readonly memoryCounters: Readonly<Record<string, number>>;
}

export function runGuest(image: Uint8Array, technique: Technique, preset: CostPresetId = 'p4-2006', budget = 20_000_000, vmxControls?: unknown): GuestRun {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 32 }));
  let serial = '';
  machine.onSerialOutput((b) => (serial += String.fromCharCode(b)));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const created = createVmmEngine(machine, { technique, costModel: preset, ...(vmxControls === undefined ? {} : { vmxControls }) });
  if (!created.ok) throw new Error(created.errors.join('; '));
  const { engine, ledger } = created.handle;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const stop = engine.run(budget);
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - start;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const vmmEntries = engine.exitCounts().reduce((sum, c) => sum + c.count, 0);
  const memoryCounters = engine.memoryStats?.().counters ?? {};
  return { technique, serial, stop, cycles: ledger.total, vmmEntries, instructions: machine.cpu.retired(), wallMs, cpuMs, memoryCounters };
}

export interface NanobenchFigure {
  readonly bench: Nanobenchmark;
  readonly technique: Technique;
  /** Cost-model cycles per operation; undefined when the technique could not run the guest. */
  readonly cycles?: number;
  /** VMM entries per operation. */
  readonly vmmEntriesPerOp?: number;
  /** Why there is no figure (e.g. the engine's "needs memory virtualization" stop). */
  readonly problem?: string;
}

const ROUNDS_LOW = 40;
const ROUNDS_HIGH = 120;

function nanobenchRun(bench: number, rounds: number, paging: boolean, technique: Technique, preset: CostPresetId, vmxControls: unknown): GuestRun {
  const defines = [`BENCH=${bench}`, `ROUNDS=${rounds}`, ...(paging ? ['PAGING'] : []), ...(technique === 'paravirtual' ? ['PARAVIRTUAL'] : [])];
  return runGuest(buildGuest(NANOBENCH_SOURCE, defines), technique, preset, 20_000_000, vmxControls);
}

/** One nanobenchmark under one technique, in cycles of `preset` per operation (vmxControls: hardware-assisted only). */
export function measureNanobench(bench: Nanobenchmark, technique: Technique, preset: CostPresetId = 'p4-2006', vmxControls?: unknown): NanobenchFigure {
  if (technique === 'paravirtual' && !bench.paravirtualPort) return { bench, technique, problem: `no paravirtual port of ${bench.name}` };
  const runs = [ROUNDS_LOW, ROUNDS_HIGH].flatMap((rounds) => [bench.bench, 0].map((b) => nanobenchRun(b, rounds, bench.paging, technique, preset, vmxControls)));
  for (const run of runs) {
    if (run.stop.kind !== 'guest-exit' || run.stop.status !== 33) {
      const why = run.stop.kind === 'stop' ? run.stop.message : JSON.stringify(run.stop);
      return { bench, technique, problem: `${technique} did not complete ${bench.name}: ${why} (serial ${JSON.stringify(run.serial)})` };
    }
  }
  const [low, lowBase, high, highBase] = runs as [GuestRun, GuestRun, GuestRun, GuestRun];
  const span = ROUNDS_HIGH - ROUNDS_LOW;
  const perOp = (high.cycles - low.cycles - (highBase.cycles - lowBase.cycles)) / span;
  const entries = (high.vmmEntries - low.vmmEntries - (highBase.vmmEntries - lowBase.vmmEntries)) / span;
  const unmediated = technique === 'binary-translation' && bench.inlineUnderBt === true ? 0 : Math.max(0, 1 - entries);
  const native = bench.nativeEvent === undefined ? 0 : new CostModel(preset).cycles(bench.nativeEvent);
  return { bench, technique, cycles: perOp + unmediated * native, vmmEntriesPerOp: entries };
}
