// The larger fuzz run (not part of `npm test`): N random + N mutated sources, both formats, with a
// per-case time bound. Usage: npx tsx bench/asm/fuzz.ts [cases=5000] [seed=1]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkCase, mutateSource, randomSource, rng } from '../../test/unit/asm/fuzzing';

const cases = Math.min(200000, Number(process.argv[2] ?? 5000));
const rand = rng(Number(process.argv[3] ?? 1));
const corpusDir = join(__dirname, '../../test/corpus/asm');
const corpus = readdirSync(corpusDir).filter((f) => f.endsWith('.asm')).map((f) => readFileSync(join(corpusDir, f), 'utf8'));
let failures = 0;
let slowest = 0;
const started = performance.now();
for (let k = 0; k < cases; k++) {
  const text = k % 2 ? randomSource(rand) : mutateSource(corpus[k % corpus.length]!, rand);
  if (process.env.FUZZ_TRACE) require("node:fs").writeFileSync("/tmp/fuzz-case.asm", text);
  const t = performance.now();
  const problem = checkCase(text, k % 4 < 2 ? 'bin' : 'elf32', {});
  const ms = performance.now() - t;
  slowest = Math.max(slowest, ms);
  if (problem || ms > 2000) {
    failures++;
    console.log(`case ${k}: ${problem ?? `took ${ms.toFixed(0)} ms`}\n---\n${text}\n---`);
  }
}
console.log(`${cases} cases, ${failures} failures, slowest ${slowest.toFixed(1)} ms, total ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exitCode = failures > 0 ? 1 : 0;
