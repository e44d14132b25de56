// Byte-exact corpus: every test/corpus/asm/*.asm is assembled by the real nasm and by HyperStep, for each
// format named in its `; formats:` header (with the `; nasm-args:` options), and the outputs must be equal.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstDifference, REPO_ROOT, runNasm, runOurs } from './nasmOracle';

const CORPUS = 'test/corpus/asm';

interface CorpusCase {
  readonly file: string;
  readonly formats: ('bin' | 'elf32')[];
  readonly args: string[];
}

function corpusCases(): CorpusCase[] {
  return readdirSync(join(REPO_ROOT, CORPUS))
    .filter((f) => f.endsWith('.asm'))
    .sort()
    .map((f) => {
      const text = readFileSync(join(REPO_ROOT, CORPUS, f), 'utf8');
      const formats = (/^;\s*formats:\s*(.*)$/m.exec(text)?.[1] ?? 'bin elf32').trim().split(/\s+/) as ('bin' | 'elf32')[];
      const args = (/^;\s*nasm-args:\s*(.*)$/m.exec(text)?.[1] ?? '').trim().split(/\s+/).filter((a) => a !== '');
      return { file: `${CORPUS}/${f}`, formats, args };
    });
}

describe('assembler corpus: bytes identical to nasm', () => {
  const cases = corpusCases();
  it('has a corpus', () => assert.ok(cases.length >= 10, `only ${cases.length} corpus files`));
  for (const c of cases) {
    for (const format of c.formats) {
      it(`${c.file} -f ${format}`, () => {
        const reference = runNasm(c.file, format, c.args);
        assert.equal(reference.status, 0, `nasm failed on the corpus file:\n${reference.stderr}`);
        const ours = runOurs(c.file, format, c.args);
        const errors = ours.diagnostics.filter((d) => d.severity === 'error');
        assert.deepEqual(errors, [], 'HyperStep reported errors');
        const diff = firstDifference(reference.output!, ours.output);
        assert.equal(diff, undefined, `output differs from nasm: ${diff}`);
      });
    }
  }
});
