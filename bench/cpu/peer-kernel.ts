// Guest MIPS of HyperStep's machine, in process, on the shared peer kernels (../shared/bench/peer-kernel.asm:
// the ALU loop, 5 instructions/iteration, and with MIX the mixed loop, 16: table loads/stores, call/ret,
// push/pop, shift, cmp+adc), built with nasm + ld exactly as the peer harness builds them. Time covers
// machine.run only (boot excluded). Bundle it for honest numbers and profiles: node bench/cpu/run.mjs
// --entry peer-kernel.ts [--iter N] [--mix-iter N] [--debug]   (adds --cpu-prof with PROFILE=1)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createPcMachine } from '../../src/emulator/machine/pc';
import { defaultRecipe } from '../../src/emulator/machine/recipe';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const debug = args.includes('--debug');
const only = args.includes('--mix-only') ? ['mix'] : args.includes('--alu-only') ? ['alu'] : ['alu', 'mix'];
const sharedBench = process.env.PEER_BENCH_DIR ?? resolve(process.cwd(), '../shared/bench');

function buildKernel(mix: boolean, iterations: number): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'hyperstep-peer-'));
  try {
    const object = join(dir, 'k.o');
    const elf = join(dir, 'k.elf');
    const defines = [`-DITER=${iterations}`, ...(mix ? ['-DMIX'] : [])];
    execFileSync('nasm', ['-f', 'elf32', ...defines, `-I${sharedBench}/`, '-o', object, join(sharedBench, 'peer-kernel.asm')]);
    execFileSync('ld', ['-m', 'elf_i386', '-T', join(sharedBench, 'link.ld'), '-o', elf, object], { stdio: 'ignore' });
    return readFileSync(elf);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const workload of only) {
  const mix = workload === 'mix';
  const iterations = mix ? option('--mix-iter', 5_000_000) : option('--iter', 20_000_000);
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 8 }));
  const loaded = machine.boot(buildKernel(mix, iterations), { kernelName: workload });
  if ('error' in loaded) throw new Error(loaded.error);
  if (debug) for (let i = 0; i < 10; i++) machine.cpu.setBreakpoint(0x180000 + i * 0x40);
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  let stop;
  do stop = machine.run(50_000_000, { debug });
  while (stop.reason === 'budget');
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpuStart);
  const instructions = machine.cpu.retired();
  console.log(`hyperstep ${workload} ${debug ? 'debug' : 'fast'}: ${(instructions / seconds / 1e6).toFixed(1)} MIPS wall, ` +
    `${(instructions / ((used.user + used.system) / 1e6) / 1e6).toFixed(1)} MIPS cpu (${instructions} insns, ${stop.reason} ${stop.exitStatus ?? '-'})`);
}
