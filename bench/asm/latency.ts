// Diagnostics latency: assemble a generated 5,000-line file once (as the language server does when a
// document opens), then time re-assembly after a one-line edit, as on every keystroke. Parsed lines are
// cached by text across calls, so an edit re-parses one line; the passes re-run (they are fast).
// Usage: npx tsx bench/asm/latency.ts [lines=5000] [edits=30]
import { performance } from 'node:perf_hooks';
import { assemble } from '../../src/emulator/asm';
import { generateSource, rng } from './generate';

const lines = Number(process.argv[2] ?? 5000);
const edits = Math.max(1, Math.min(200, Number(process.argv[3] ?? 30)));
const base = generateSource(lines, 3).split('\n');
const options = { format: 'elf32' as const, listing: false, output: false };

let t = performance.now();
assemble({ path: 'doc.asm', text: base.join('\n') }, options);
const cold = performance.now() - t;

const rand = rng(99);
const times: number[] = [];
const cpuTimes: number[] = [];
let errors = 0;
for (let k = 0; k < edits; k++) {
  const doc = base.slice();
  const at = 20 + Math.floor(rand() * (lines - 40));
  // Alternate a valid edit and an invalid one (the user is mid-typing).
  doc[at] = k % 2 ? `    mov eax, ${k}` : `    mov eax, [ebx+${k}`;
  const text = doc.join('\n');
  const cpu = process.cpuUsage();
  t = performance.now();
  const r = assemble({ path: 'doc.asm', text }, options);
  times.push(performance.now() - t);
  // CPU time of the process (includes GC helper threads): far less sensitive to other load than wall time.
  const used = process.cpuUsage(cpu);
  cpuTimes.push((used.user + used.system) / 1000);
  errors += r.diagnostics.filter((d) => d.severity === 'error').length;
}
times.sort((a, b) => a - b);
cpuTimes.sort((a, b) => a - b);
const p = (q: number, xs = times): number => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
console.log(`${lines} lines: cold ${cold.toFixed(1)} ms; after a one-line edit: min ${p(0).toFixed(1)} ms, median ${p(0.5).toFixed(1)} ms, p90 ${p(0.9).toFixed(1)} ms, max ${p(1).toFixed(1)} ms; CPU time median ${p(0.5, cpuTimes).toFixed(1)} ms, min ${p(0, cpuTimes).toFixed(1)} ms (${edits} edits, ${errors} errors reported as expected)`);
