// Assembler throughput: a generated 50,000-line source assembled by HyperStep (in-process, after one
// warm-up) and by `nasm` (a process per run, as Makefiles use it) in the same run, both to -f elf32 and
// -f bin, checking the outputs are identical. Usage: npx tsx bench/asm/throughput.ts [lines] [runs]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { assemble, clearAssemblerCaches } from '../../src/emulator/asm';
import { generateSource } from './generate';

const lines = Number(process.argv[2] ?? 50000);
const runs = Math.max(1, Math.min(5, Number(process.argv[3] ?? 3)));
const dir = mkdtempSync(join(tmpdir(), 'hs-asm-bench-'));
const file = join(dir, 'bench.asm');
const text = generateSource(lines);
writeFileSync(file, text);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

try {
  for (const format of ['elf32', 'bin'] as const) {
    const nasmTimes: number[] = [];
    const ourTimes: number[] = [];
    let reference: Buffer | undefined;
    let ours: Uint8Array | undefined;
    let passes = 0;
    assemble({ path: file, text }, { format, listing: false }); // warm-up (JIT)
    clearAssemblerCaches();
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      const n = spawnSync('nasm', ['-f', format, '-o', join(dir, 'ref.out'), file]);
      nasmTimes.push(performance.now() - t);
      if (n.error || n.status !== 0) throw new Error(`nasm failed: ${n.error?.message ?? n.stderr}`);
      reference = readFileSync(join(dir, 'ref.out'));
      clearAssemblerCaches(); // measure cold assemblies, not incremental re-assembly
      t = performance.now();
      const result = assemble({ path: file, text }, { format, listing: false });
      ourTimes.push(performance.now() - t);
      ours = result.output;
      passes = result.passes;
    }
    const same = reference !== undefined && ours !== undefined && Buffer.compare(reference, Buffer.from(ours)) === 0;
    const nasmMs = median(nasmTimes);
    const ourMs = median(ourTimes);
    console.log(
      `${format}: ${lines} lines  nasm ${nasmMs.toFixed(0)} ms  hyperstep ${ourMs.toFixed(0)} ms (${passes} passes, ` +
        `${((lines / ourMs) * 1000).toFixed(0)} lines/s)  ratio ${(nasmMs / ourMs).toFixed(2)}x  identical=${same}`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
