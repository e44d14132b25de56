// Generated conformance test of NASM's full-width rule for label-based values (issue 3): every statement
// the instruction-table generator produces is rewritten so that each immediate, displacement, moffs and
// far-pointer constant becomes a label-based expression (`L0+k`, an equ of a label, `$$+k`, `k-L0`) or a
// plain-number expression built from labels (`(Lb-La)+k`, `k+($-$)`), then the whole source is assembled
// by the real nasm and by HyperStep, in -f bin (org 0, where such values would fit a byte) and -f elf32.
// Bytes must be identical and the same lines must be rejected. NASM manual 3.5 (simple vs relocatable).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import { allGeneratedCases } from '../isa/generate';
import { firstDifference, requireNasm } from './nasmOracle';

/** Rewrites of a numeric literal `k` (hex text, maybe negative): label-based ones keep full width. */
const VARIANTS: readonly ((k: string) => string)[] = [
  (k) => `L0+${k}`,
  (k) => `(Lb-La)+${k}`,
  (k) => `CL0+${k}`,
  (k) => `${k}+($-$)`,
  (k) => `$$+${k}`,
  (k) => `${k}-L0`,
  (k) => `${k}+CNUM`,
];

const PRELUDE = ['La:', 'Lb:', 'L0:', 'CL0 equ L0', 'CNUM equ Lb-La'];

/**
 * Replaces every literal outside a `$±k` jump target with variant `v` (undefined if there is none). A
 * literal after a binary `+`/`-` (`[ebp-0x8]`) becomes `+v(-0x8)`, so the label term stays positive.
 */
function rewrite(text: string, v: (k: string) => string): string | undefined {
  let changed = false;
  const out = text.replace(/(\$)?([-+]?)(0x[0-9a-f]+)/g, (whole, jump: string | undefined, sign: string, literal: string, at: number) => {
    if (jump) return whole;
    changed = true;
    const before = text.slice(0, at).trimEnd();
    const binary = sign !== '' && /[\w\])]$/.test(before);
    const signed = sign === '-' ? `-${literal}` : literal;
    return binary ? `+${v(signed)}` : `${sign === '+' ? '+' : ''}${v(signed)}`;
  });
  return changed ? out : undefined;
}

interface Generated {
  readonly lines: string[];
  readonly firstStatementLine: number;
}

/**
 * elf32 leaves out `k-L0`: for a negated label NASM emits an R_386_PC32 against *ABS* (a self-relative
 * reading of `-L0`) that HyperStep rejects as not relocatable instead.
 */
function generateSource(bits: 16 | 32, format: 'bin' | 'elf32'): Generated {
  const variants = format === 'elf32' ? VARIANTS.filter((v) => !v('k').endsWith('-L0')) : VARIANTS;
  const lines = [`bits ${bits}`, ...PRELUDE];
  const firstStatementLine = lines.length + 1;
  allGeneratedCases().forEach((c, i) => {
    // Every case with every variant would be ~30,000 lines; rotate so each case meets two variants
    // and each variant meets every kind of operand.
    for (const v of [variants[i % variants.length]!, variants[(i + 3) % variants.length]!]) {
      const text = rewrite(c.text, v);
      if (text !== undefined) lines.push(text);
    }
  });
  return { lines, firstStatementLine };
}

interface NasmResult {
  readonly output: Uint8Array | undefined;
  readonly errorLines: Set<number>;
}

function runNasm(source: string, format: 'bin' | 'elf32'): NasmResult {
  requireNasm();
  const dir = mkdtempSync(join(tmpdir(), 'hs-symbolic-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    // Run in the directory so the ELF FILE symbol is `in.asm', the name HyperStep is given.
    const r = spawnSync('nasm', ['-f', format, '-o', 'out', 'in.asm'], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
    const errorLines = new Set<number>();
    for (const m of r.stderr.matchAll(/^in\.asm:(\d+): error:/gm)) errorLines.add(Number(m[1]));
    let output: Uint8Array | undefined;
    try { output = new Uint8Array(readFileSync(join(dir, 'out'))); } catch { output = undefined; }
    return { output: r.status === 0 ? output : undefined, errorLines };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function ourErrorLines(source: string, format: 'bin' | 'elf32'): Set<number> {
  const r = assemble({ path: 'in.asm', text: source }, { format, listing: false, output: false });
  return new Set(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.line));
}

for (const [bits, format] of [[32, 'bin'], [16, 'bin'], [32, 'elf32']] as const) {
  describe(`assembler vs nasm: label-based operands, bits ${bits}, -f ${format} (generated)`, function () {
    this.timeout(180000);
    const generated = generateSource(bits, format);
    const source = generated.lines.join('\n') + '\n';
    let nasmFull: NasmResult;

    before(() => {
      nasmFull = runNasm(source, format);
    });

    it('rejects exactly the statements nasm rejects', () => {
      const ours = ourErrorLines(source, format);
      const missing = [...nasmFull.errorLines].filter((l) => !ours.has(l)).map((l) => `nasm rejects, we accept: ${generated.lines[l - 1]}`);
      const extra = [...ours].filter((l) => !nasmFull.errorLines.has(l)).map((l) => `we reject, nasm accepts: ${generated.lines[l - 1]}`);
      assert.deepEqual([...missing, ...extra].slice(0, 20), [], `${missing.length + extra.length} disagreements`);
    });

    it('gives nasm\'s bytes for every statement nasm accepts', () => {
      const accepted = generated.lines.filter((_, i) => i + 1 < generated.firstStatementLine || !nasmFull.errorLines.has(i + 1));
      assert.ok(accepted.length > 4000, `only ${accepted.length} statements accepted`);
      const text = accepted.join('\n') + '\n';
      const reference = runNasm(text, format);
      assert.ok(reference.output, `nasm failed on its own accepted lines: ${[...reference.errorLines].slice(0, 5).map((l) => accepted[l - 1]).join(' | ')}`);
      const ours = assemble({ path: 'in.asm', text }, { format, listing: false });
      assert.deepEqual(ours.diagnostics.filter((d) => d.severity === 'error').slice(0, 5), []);
      if (format === 'bin') {
        const diff = firstDifference(reference.output, ours.output);
        assert.equal(diff, undefined, `${diff}\n${locate(ours.sourceMap, diff, accepted)}`);
      } else {
        // ELF: the .text bytes first (to name the line), then the whole object.
        const text = ours.sections.find((s) => s.name === '.text')!.bytes;
        const textDiff = firstDifference(elfSection(reference.output, '.text'), text);
        assert.equal(textDiff, undefined, `${textDiff}\n${locate(ours.sourceMap, textDiff, accepted)}`);
        const diff = firstDifference(reference.output, ours.output);
        assert.equal(diff, undefined, `elf32 object differs: ${diff}`);
      }
    });
  });
}

/** Names the source line behind a differing offset (bin images start at org 0 here). */
function locate(map: readonly { address: number; size: number; line: number }[], diff: string | undefined, lines: readonly string[]): string {
  const m = /offset 0x([0-9a-f]+)/.exec(diff ?? '');
  if (!m) return '';
  const at = parseInt(m[1]!, 16);
  const entry = map.find((e) => at >= e.address && at < e.address + e.size);
  return entry ? `line ${entry.line}: ${lines[entry.line - 1]}` : '';
}

/** The bytes of one section of an ELF32 little-endian object (enough of the format for nasm's output). */
function elfSection(elf: Uint8Array, name: string): Uint8Array {
  const view = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = view.getUint32(0x20, true);
  const shentsize = view.getUint16(0x2e, true);
  const shnum = view.getUint16(0x30, true);
  const shstrndx = view.getUint16(0x32, true);
  const header = (k: number): { name: number; offset: number; size: number } => {
    const at = shoff + k * shentsize;
    return { name: view.getUint32(at, true), offset: view.getUint32(at + 16, true), size: view.getUint32(at + 20, true) };
  };
  const strings = header(shstrndx);
  for (let k = 0; k < shnum; k++) {
    const h = header(k);
    let end = strings.offset + h.name;
    while (elf[end] !== 0) end++;
    if (String.fromCharCode(...elf.subarray(strings.offset + h.name, end)) === name) return elf.subarray(h.offset, h.offset + h.size);
  }
  throw new Error(`no section ${name} in nasm's object`);
}

describe('assembler vs nasm: operators on label-based values', () => {
  // Each line alone, in -f bin and -f elf32: nasm's verdict (accepted, or its error message) must be ours.
  const lines = [
    'add eax, L0/1', 'add eax, L0 & 0xff', 'add eax, L0 >> 1', 'add eax, ~L0', 'add eax, !L0', 'add eax, L0 | 1',
    'add eax, L0 ^ 1', 'add eax, L0 && 1', 'add eax, L0 // 2', 'add eax, L0*L0', 'add eax, L0 < 5', 'add eax, L0 >= 5',
    'add eax, L0 ? 1 : 2', 'add eax, L0 == 5', 'add eax, L0 != 5', 'add eax, L0 < L1', 'add eax, L1 - L0 + L0',
    'add eax, L0 + L1 - L1', 'add eax, -L0 + L1', 'times L0 nop', 'resb L0', 'add eax, 0 - (L0 - L1)', 'add eax, (L1 - L0) * 3',
  ];
  for (const format of ['bin', 'elf32'] as const) {
    it(`-f ${format}: ${lines.length} statements give nasm's verdict and message`, () => {
      const failures: string[] = [];
      for (const line of lines) {
        const source = `bits 32\nL0: nop\nL1: nop\n${line}\n`;
        const reference = runNasm(source, format);
        const nasmError = reference.output ? undefined : spawnMessage(source, format);
        const ours = assemble({ path: 'in.asm', text: source }, { format, listing: false });
        const ourError = ours.diagnostics.find((d) => d.severity === 'error')?.message;
        if (nasmError !== ourError) failures.push(`${line}: nasm ${nasmError ?? 'accepts'}, ours ${ourError ?? 'accepts'}`);
        else if (reference.output && firstDifference(reference.output, ours.output) !== undefined) failures.push(`${line}: bytes differ`);
      }
      assert.deepEqual(failures, []);
    });
  }
});

/** nasm's first error message for a source (without the file:line prefix). */
function spawnMessage(source: string, format: 'bin' | 'elf32'): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'hs-symbolic-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    const r = spawnSync('nasm', ['-f', format, '-o', 'out', 'in.asm'], { cwd: dir, encoding: 'utf8' });
    return /error: (.*)$/m.exec(r.stderr)?.[1];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
