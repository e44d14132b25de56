// Runs the CPU benchmarks the way the extension ships the emulator: bundled by esbuild (scope-hoisted, so
// module constants are plain bindings), then executed by Node. Usage: node bench/cpu/run.mjs [millions]
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hyperstep-bench-'));
try {
  const outfile = join(dir, 'alu-loop.cjs');
  await build({ entryPoints: [join(here, 'alu-loop.ts')], bundle: true, platform: 'node', format: 'cjs', outfile, logLevel: 'warning' });
  execFileSync(process.execPath, [outfile, ...process.argv.slice(2)], { stdio: 'inherit' });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
