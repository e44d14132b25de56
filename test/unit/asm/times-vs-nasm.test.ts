// TIMES against the real nasm (NASM manual 3.2.5): the listing of test/corpus/asm/times.asm row by row,
// `<rep N>` and `<res N>` columns included (its bytes are checked by corpus.test.ts), and the errors
// nasm gives for the count.
import { strict as assert } from 'node:assert';
import { assemble } from '../../../src/emulator/asm';
import { runNasm, runOurs } from './nasmOracle';

/** `line offset hex-column` of every listing row that has an offset (directive-only lines differ). */
function listingRows(listing: string): string[] {
  return listing
    .split('\n')
    .map((l) => /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F?[\]()]*(?:<(?:rep|res) [0-9A-F]+h>)?-?)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    // elf32: nasm brackets relocated fields, HyperStep lists their bytes plainly.
    .map((m) => `${m[1]} ${m[2]} ${m[3]!.replace(/[[\]()]/g, '')}`);
}

describe('times vs nasm', () => {
  for (const format of ['bin', 'elf32'] as const) {
    it(`lists one repetition and <rep N> as nasm -l does (-f ${format})`, () => {
      const file = 'test/corpus/asm/times.asm';
      const reference = runNasm(file, format);
      assert.equal(reference.status, 0, reference.stderr);
      const expected = listingRows(reference.listing);
      assert.ok(expected.some((row) => row.includes('<rep ')) && expected.some((row) => row.includes('<res ')), 'nasm listing parsed');
      assert.deepEqual(listingRows(runOurs(file, format).listing), expected);
    });
  }

  it("gives nasm's errors for a bad count, also in `times a times b`", () => {
    const cases: [string, string][] = [
      ['times undefined_x nop', 'non-constant argument supplied to TIMES'],
      ['times undefined_x times 2 nop', 'non-constant argument supplied to TIMES'],
      ['times -1 times 2 nop', 'TIMES value -1 is negative'],
      ['times 2 times -3 nop', 'TIMES value -3 is negative'],
    ];
    for (const [source, message] of cases) {
      const r = assemble({ path: 'in.asm', text: `bits 32\n${source}\n` }, { format: 'bin' });
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), [message], source);
    }
  });
});
