// Runs the CPU benchmarks the way the extension ships the emulator: bundled by esbuild (scope-hoisted, so
// module constants are plain bindings), then executed by Node. Usage: node bench/cpu/run.mjs [millions]
// Other entries: node bench/cpu/run.mjs --entry peer-kernel.ts [its arguments]; PROFILE=1 adds --cpu-prof
// (profiles written to the current folder). Run from the repository (peer-kernel.ts finds ../shared/bench).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hyperstep-bench-'));
try {
  const args = process.argv.slice(2);
  const at = args.indexOf('--entry');
  const entry = at >= 0 ? args.splice(at, 2)[1] : 'alu-loop.ts';
  const outfile = join(dir, 'bench.cjs');
  await build({ entryPoints: [join(here, entry)], bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'warning' });
  const profile = process.env.PROFILE === '1' ? ['--cpu-prof'] : [];
  execFileSync(process.execPath, [...profile, outfile, ...args], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
