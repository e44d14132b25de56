// Floating-point constants in db/dw/dd/dq/dt against the real nasm (NASM manual 3.4.6): a generated set
// of decimal and hexadecimal literals (random magnitudes, exact ties, subnormals, values at and beyond the
// largest finite number, specials, signs, underscores) must give nasm's bytes and its overflow warnings.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import { rng } from './fuzzing';
import { firstDifference, requireNasm } from './nasmOracle';

function literals(): string[] {
  const rand = rng(Number(process.env.HYPERSTEP_FLOAT_SEED ?? 2024));
  const out: string[] = [];
  const digits = (n: number): string => Array.from({ length: n }, () => Math.floor(rand() * 10)).join('');
  for (let k = 0; k < 500; k++) {
    const exponent = Math.floor(rand() * 700) - 350;
    out.push(`${Math.floor(rand() * 10)}.${digits(1 + Math.floor(rand() * 20))}e${exponent}`);
  }
  for (let k = 0; k < 150; k++) out.push(`${digits(1 + Math.floor(rand() * 25))}.${digits(Math.floor(rand() * 5))}`);
  for (let k = 0; k < 300; k++) {
    const hex = Array.from({ length: 1 + Math.floor(rand() * 14) }, () => Math.floor(rand() * 16).toString(16)).join('');
    out.push(`0x${hex.slice(0, 1)}.${hex.slice(1)}p${Math.floor(rand() * 300) - 150}`);
  }
  // Ties (integers just past each format's precision), the largest finite numbers and just beyond.
  for (const base of [2049, 16777217, 9007199254740993]) for (let d = 0; d < 8; d++) out.push(`${BigInt(base) + BigInt(d * 2)}.0`);
  out.push('65504.0', '65519.0', '65520.0', '70000.0', '131072.0', '3.4028234e38', '3.40282357e38', '3.5e38', '1e39');
  out.push('1.7976931348623157e308', '1.7976931348623159e308', '1e309', '4.9e-324', '2.4e-324', '1.4e-45', '7e-46', '1e-50');
  out.push('1e4932', '1e4933', '3.6e-4951', '1e-4960', '0.0', '1.0', '0.5', '0.1', '1_000.25', '1.e+10', '1e10', '0x1p+0', '0x1.8p1');
  out.push('__?Infinity?__', '__?QNaN?__', '__?SNaN?__', '__Infinity__', '__QNaN__', '__SNaN__');
  return out;
}

function nasmBin(source: string): { output: Uint8Array | undefined; warnings: string[] } {
  requireNasm();
  const dir = mkdtempSync(join(tmpdir(), 'hs-floats-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    const r = spawnSync('nasm', ['-f', 'bin', '-o', 'out', 'in.asm'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 24 });
    let output: Uint8Array | undefined;
    try { output = new Uint8Array(readFileSync(join(dir, 'out'))); } catch { output = undefined; }
    const warnings = [...r.stderr.matchAll(/^in\.asm:(\d+): warning: (.*)$/gm)].map((m) => `${m[1]}: ${m[2]}`);
    return { output: r.status === 0 ? output : undefined, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('assembler vs nasm: floating-point constants (generated)', function () {
  this.timeout(60000);
  const values = literals();
  const lines: string[] = [];
  values.forEach((v, k) => {
    const sign = k % 5 === 0 ? '-' : k % 7 === 0 ? '+' : '';
    for (const directive of ['dw', 'dd', 'dq', 'dt']) lines.push(`${directive} ${sign}${v}`);
    if (k % 4 === 0) lines.push(`db ${sign}${v}`);
  });
  lines.push('dd 1.5, -2.25, 3', 'dq 0.1, 7, 2.5', 'times 3 dd 1.5');

  it(`${lines.length} data declarations give nasm's bytes and overflow warnings`, () => {
    const source = lines.join('\n') + '\n';
    const reference = nasmBin(source);
    assert.ok(reference.output, 'nasm rejected the generated float source');
    const ours = assemble({ path: 'in.asm', text: source }, { format: 'bin', listing: false });
    assert.deepEqual(ours.diagnostics.filter((d) => d.severity === 'error'), []);
    const diff = firstDifference(reference.output, ours.output);
    const offset = diff ? parseInt(/0x([0-9a-f]+)/.exec(diff)![1]!, 16) : -1;
    const line = diff ? ours.sourceMap.find((e) => offset >= e.address && offset < e.address + e.size)?.line : undefined;
    assert.equal(diff, undefined, `${diff} (line ${line}: ${line ? lines[line - 1] : ''})`);
    const ourWarnings = ours.diagnostics.filter((d) => d.severity === 'warning').map((d) => `${d.line}: ${d.message}`);
    assert.deepEqual(ourWarnings.sort(), reference.warnings.sort());
  });

  it('rejects floats where NASM does (instruction operands, arithmetic on floats)', () => {
    for (const text of ['mov eax, 1.5', 'dd 1.5+1', 'push 2.0']) {
      const r = assemble({ path: 'f.asm', text: `bits 32\n${text}\n` }, { format: 'bin' });
      assert.ok(r.diagnostics.some((d) => d.severity === 'error'), `${text} should be an error`);
      assert.ok(nasmBin(`bits 32\n${text}\n`).output === undefined, `nasm accepts ${text}`);
    }
  });
});
