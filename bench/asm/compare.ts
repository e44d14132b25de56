// Before/after comparison of on-keystroke latency in one process: the assembler of another checkout (e.g. a
// `git archive <rev> src | tar -x -C /tmp/old`) and this one are bundled together as the language server
// ships them (esbuild), then every one-line edit of the generated file is assembled by both, back to back
// in alternating order, so machine load drifts cancel out. Reports CPU time (process.cpuUsage) per edit
// and the median of the paired after/before ratios.
// Usage: npx tsx bench/asm/compare.ts OLD_ROOT [lines=5000] [rounds=8] [format=elf32]
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const oldRoot = process.argv[2];
if (!oldRoot) throw new Error('usage: npx tsx bench/asm/compare.ts OLD_ROOT [lines] [rounds] [bin|elf32]');
const lines = Number(process.argv[3] ?? 5000);
const rounds = Math.max(1, Math.min(20, Number(process.argv[4] ?? 8)));
const format = process.argv[5] === 'bin' ? 'bin' : 'elf32';

type Api = typeof import('../../src/emulator/asm');
const dir = mkdtempSync(join(tmpdir(), 'hs-asm-compare-'));
const bundle = join(dir, 'both.cjs');
const here = resolve(__dirname, '../..');
buildSync({
  stdin: {
    contents: [
      `export * as before from ${JSON.stringify(resolve(oldRoot, 'src/emulator/asm/index'))};`,
      `export * as after from ${JSON.stringify(join(here, 'src/emulator/asm/index'))};`,
      `export { generateSource, rng } from ${JSON.stringify(join(here, 'bench/asm/generate'))};`,
    ].join('\n'),
    resolveDir: here,
    loader: 'ts',
  },
  bundle: true, platform: 'node', format: 'cjs', outfile: bundle, logLevel: 'warning',
});
const loaded = require(bundle) as { before: Api; after: Api; generateSource: (n: number, seed: number) => string; rng: (seed: number) => () => number };
rmSync(dir, { recursive: true, force: true });

const impl = { before: loaded.before, after: loaded.after };
const names = ['before', 'after'] as const;
const base = loaded.generateSource(lines, 3).split('\n');
const options = { format, listing: false, output: false } as const;
const cpu = (f: () => void): number => {
  const c = process.cpuUsage();
  f();
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000;
};
const edits = { before: [] as number[], after: [] as number[] };
const cold = { before: [] as number[], after: [] as number[] };
for (const name of names) impl[name].assemble({ path: 'doc.asm', text: base.join('\n') }, options); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const name of r % 2 ? [...names].reverse() : names) {
    impl[name].clearAssemblerCaches();
    cold[name].push(cpu(() => impl[name].assemble({ path: 'doc.asm', text: base.join('\n') }, options)));
  }
  const rand = loaded.rng(99 + r);
  for (let k = 0; k < 30; k++) {
    const doc = base.slice();
    doc[20 + Math.floor(rand() * (lines - 40))] = k % 2 ? `    mov eax, ${k}` : `    mov eax, [ebx+${k}`;
    const text = doc.join('\n');
    for (const name of k % 2 ? [...names].reverse() : names) edits[name].push(cpu(() => impl[name].assemble({ path: 'doc.asm', text }, options)));
  }
}
const quantile = (xs: readonly number[], q: number): number => {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
for (const name of names) {
  console.log(`${name}: cold CPU median ${quantile(cold[name], 0.5).toFixed(0)} ms; per edit CPU median ${quantile(edits[name], 0.5).toFixed(1)} ms, p10 ${quantile(edits[name], 0.1).toFixed(1)}, p90 ${quantile(edits[name], 0.9).toFixed(1)} (${edits[name].length} edits, ${lines} lines, ${format})`);
}
const ratios = edits.after.map((a, k) => a / edits.before[k]!);
console.log(`per-edit after/before CPU ratio: median ${quantile(ratios, 0.5).toFixed(3)} (p25 ${quantile(ratios, 0.25).toFixed(3)}, p75 ${quantile(ratios, 0.75).toFixed(3)})`);
