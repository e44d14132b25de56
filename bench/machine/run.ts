// Guest MIPS of HyperStep's machine, in process: the ALU loop and the interrupt-heavy kernel (bench/machine
// *.asm, assembled with the project's assembler), each in the fast loop and in the debug loop with 10
// breakpoints set that are never hit. Time covers machine.run only (boot excluded); medians of RUNS. Both
// wall-clock MIPS and process-CPU-time MIPS are printed: on a shared, loaded host the second is steadier.
// Usage: npx tsx bench/machine/run.ts [--iter N] [--runs R]        (defaults: 20,000,000 and 3)
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { assemble, formatDiagnostic } from '../../src/emulator/asm';
import type { Machine, MachineStop } from '../../src/emulator/machine/machine';
import { createPcMachine } from '../../src/emulator/machine/pc';
import { defaultRecipe } from '../../src/emulator/machine/recipe';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const ITER = option('--iter', 20_000_000);
const RUNS = option('--runs', 3);

function image(name: string): Uint8Array {
  const path = resolve(__dirname, `${name}.asm`);
  const result = assemble({ path, text: readFileSync(path, 'utf8') }, { format: 'bin', defines: { ITER: String(ITER) }, listing: false });
  if (!result.ok) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.output;
}

interface Sample {
  readonly mips: number;
  readonly cpuMips: number;
  readonly instructions: number;
  readonly stop: MachineStop;
}

function measure(bytes: Uint8Array, debug: boolean): Sample {
  const machine: Machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(bytes, { kernelName: 'bench' });
  if ('error' in loaded) throw new Error(loaded.error);
  if (debug) {
    // Ten breakpoints on addresses the guest never executes (in the padding past its code).
    for (let i = 0; i < 10; i++) machine.cpu.setBreakpoint(0x180000 + i * 0x40);
  }
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let stop: MachineStop;
  do stop = machine.run(50_000_000, { debug });
  while (stop.reason === 'budget');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const instructions = machine.cpu.retired();
  return { mips: instructions / seconds / 1e6, cpuMips: instructions / cpuSeconds / 1e6, instructions, stop };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

for (const workload of ['alu', 'irq']) {
  const bytes = image(workload);
  for (const debug of [false, true]) {
    const samples = Array.from({ length: RUNS }, () => measure(bytes, debug));
    const last = samples[samples.length - 1];
    console.log(
      `hyperstep ${workload} ${debug ? 'debug-loop(10 bp)' : 'fast-loop'} ${median(samples.map((s) => s.mips)).toFixed(0)} MIPS wall,` +
        ` ${median(samples.map((s) => s.cpuMips)).toFixed(0)} MIPS cpu-time` +
        ` (${last.instructions} instructions, ${last.stop.reason} status ${last.stop.exitStatus ?? '-'}, runs ${samples.map((s) => s.mips.toFixed(0)).join('/')})`,
    );
  }
}
