// Byte-exact corpus: every test/corpus/asm/*.asm is assembled by the real nasm and by HyperStep, for each
// format named in its `; formats:` header (with the `; nasm-args:` options), and the outputs must be equal;
// Multiboot kernels linked with ld -T link.ld from our object and from nasm's must be identical too.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

describe('assembler: linked Multiboot kernels', () => {
  const linkScript = join(REPO_ROOT, 'test/corpus/asm/link.ld');

  function link(object: Uint8Array, dir: string, name: string): Buffer {
    writeFileSync(join(dir, `${name}.o`), object);
    const r = spawnSync('ld', ['-m', 'elf_i386', '-T', linkScript, '-o', join(dir, `${name}.elf`), join(dir, `${name}.o`)], { encoding: 'utf8' });
    if (r.error) throw new Error(`ld (binutils) is required for the link test: ${r.error.message}`);
    assert.equal(r.status, 0, `ld failed on the ${name} object:\n${r.stderr}`);
    return readFileSync(join(dir, `${name}.elf`));
  }

  for (const file of ['test/corpus/asm/multiboot.asm', 'test/corpus/asm/elf_extern_linkable.asm']) {
    it(`${file}: ld -T link.ld of our object gives the same kernel as nasm's object`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'hs-link-'));
      try {
        const reference = runNasm(file, 'elf32');
        assert.equal(reference.status, 0, reference.stderr);
        const ours = runOurs(file, 'elf32');
        assert.ok(ours.ok, JSON.stringify(ours.diagnostics));
        const kernel = link(ours.output, dir, 'ours');
        assert.deepEqual(kernel, link(reference.output!, dir, 'nasm'));
        // The Multiboot header (magic 0x1BADB002) sits in the first 8 KiB of the file, as GRUB/QEMU need.
        assert.ok(kernel.subarray(0, 8192).includes(Buffer.from([0x02, 0xb0, 0xad, 0x1b])), 'multiboot magic in the first 8 KiB');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('assembler: the project samples assemble exactly as with nasm', () => {
  const samples: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
      if (entry.isDirectory()) walk(`${dir}/${entry.name}`);
      else if (entry.name.endsWith('.asm')) samples.push(`${dir}/${entry.name}`);
    }
  };
  walk('samples');
  it('finds samples', () => assert.ok(samples.length > 0));
  for (const file of samples.sort()) {
    for (const format of ['bin', 'elf32'] as const) {
      it(`${file} -f ${format}`, () => {
        const args = ['-Isamples/include/'];
        const reference = runNasm(file, format, args);
        const ours = runOurs(file, format, args);
        if (reference.status !== 0) {
          // A sample written for one format only: we must reject it too.
          assert.equal(ours.ok, false, `nasm rejects it (${reference.stderr.trim()}) but HyperStep accepted it`);
          return;
        }
        assert.deepEqual(ours.diagnostics.filter((d) => d.severity === 'error'), []);
        assert.equal(firstDifference(reference.output!, ours.output), undefined);
      });
    }
  }
});
