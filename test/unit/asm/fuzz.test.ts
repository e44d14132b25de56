// Bounded fuzz: random and mutated sources never throw, never hang, always give a well-formed result
// (a larger run: `npx tsx bench/asm/fuzz.ts [cases] [seed]`).
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkCase, mutateSource, randomSource, rng } from './fuzzing';
import { REPO_ROOT } from './nasmOracle';

describe('assembler fuzz (bounded)', () => {
  const corpusDir = join(REPO_ROOT, 'test/corpus/asm');
  const corpus = readdirSync(corpusDir).filter((f) => f.endsWith('.asm')).map((f) => readFileSync(join(corpusDir, f), 'utf8'));
  const files = { 'inc/defs.inc': readFileSync(join(corpusDir, 'inc/defs.inc'), 'utf8') };

  it('survives 300 random sources', () => {
    const rand = rng(0xa5a5);
    for (let k = 0; k < 300; k++) {
      const text = randomSource(rand);
      const problem = checkCase(text, k % 2 ? 'bin' : 'elf32', files);
      assert.equal(problem, undefined, `case ${k}:\n${text}`);
    }
  });

  it('survives 200 mutated corpus programs', () => {
    const rand = rng(0x5eed);
    for (let k = 0; k < 200; k++) {
      const text = mutateSource(corpus[k % corpus.length]!, rand);
      const problem = checkCase(text, k % 2 ? 'bin' : 'elf32', files);
      assert.equal(problem, undefined, `case ${k}:\n${text}`);
    }
  });
});
