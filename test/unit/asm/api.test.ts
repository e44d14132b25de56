// The assembler API beyond bytes: source map across %include and macro expansion, symbol table,
// NASM-style listing (compared with nasm's own listing), and never-throwing on any input.
import { strict as assert } from 'node:assert';
import { assemble, clearAssemblerCaches } from '../../../src/emulator/asm';
import { generateSource, rng } from '../../../bench/asm/generate';
import { hostReadFile } from './nasmOracle';
import { runNasm, runOurs } from './nasmOracle';

const files: Record<string, string> = {
  'inc/io.inc': ['; io helpers', '%macro outb 2', '    mov dx, %1', '    mov al, %2', '    out dx, al', '%endmacro', 'helper:', '    ret'].join('\n'),
};
const main = ['bits 32', 'org 0x100000', '%include "inc/io.inc"', 'start:', '    outb 0x3f8, 65', '    call helper', '.spin: jmp .spin', 'value equ 42', 'msg: db "hi", 0'].join('\n');

describe('assembler API', () => {
  const result = assemble({ path: 'main.asm', text: main }, { format: 'bin', readFile: (p) => files[p] });

  it('assembles the program', () => {
    assert.deepEqual(result.diagnostics, []);
    assert.equal(result.ok, true);
    assert.equal(result.origin, 0x100000);
  });

  it('maps addresses to file:line:column across %include and macro expansion', () => {
    const at = (address: number) => result.sourceMap.find((e) => e.address <= address && address < e.address + e.size);
    const helper = at(0x100000)!;
    assert.deepEqual([helper.file, helper.line, helper.column], ['inc/io.inc', 8, 5]);
    const start = result.symbols.find((s) => s.name === 'start')!;
    const movDx = at(start.value)!;
    assert.deepEqual([movDx.file, movDx.line], ['main.asm', 5]);
    assert.deepEqual(movDx.expansion, { macro: 'outb', file: 'inc/io.inc', line: 3 });
    const outInsn = result.sourceMap.filter((e) => e.line === 5 && e.file === 'main.asm');
    assert.deepEqual(outInsn.map((e) => e.expansion?.line), [3, 4, 5]);
    const spin = result.symbols.find((s) => s.name === 'start.spin')!;
    assert.deepEqual([at(spin.value)!.line, at(spin.value)!.column], [7, 8]);
    // Every emitted byte is covered exactly once.
    const covered = result.sourceMap.reduce((n, e) => n + e.size, 0);
    assert.equal(covered, result.output.length);
  });

  it('lists symbols with value, section and kind', () => {
    const byName = new Map(result.symbols.map((s) => [s.name, s]));
    assert.deepEqual(
      { ...byName.get('start.spin')!, file: undefined },
      { name: 'start.spin', value: byName.get('start')!.value + 12, section: '.text', kind: 'local', global: false, file: undefined, line: 7, column: 1 },
    );
    assert.equal(byName.get('value')!.kind, 'equ');
    assert.equal(byName.get('value')!.value, 42);
    assert.equal(byName.get('helper')!.value, 0x100000);
    assert.equal(byName.get('helper')!.file, 'inc/io.inc');
  });

  it('produces a listing whose offsets and bytes match nasm -l', () => {
    // elf32: nasm lists relocated fields with their stored addend, which are exactly the object's bytes.
    const file = 'test/corpus/asm/multiboot.asm';
    const reference = runNasm(file, 'elf32');
    const ours = runOurs(file, 'elf32');
    const rows = (listing: string) =>
      listing
        .split('\n')
        .map((l) => /^\s*(\d+) ([0-9A-F]{8}) ([0-9A-F[\]()]+)/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && !m[0].includes('<'))
        .map((m) => `${m[1]} ${m[2]} ${m[3]!.replace(/[[\]()]/g, '')}`);
    const expected = rows(reference.listing);
    assert.ok(expected.length > 20, 'nasm listing parsed');
    assert.deepEqual(rows(ours.listing), expected);
  });

  it('names the NASM directives it does not support, and keeps the %if nesting around them', () => {
    const text = ['bits 32', '%ifenv HOME', 'db 1', '%elif 1', 'db 2', '%endif', '%defstr s abc', '%use altreg', 'db 3', '%bogus'].join('\n');
    const r = assemble({ path: 'u.asm', text }, { format: 'bin' });
    assert.deepEqual(r.diagnostics.map((d) => `${d.line}: ${d.message}`), [
      "2: `%ifenv' is not supported by HyperStep",
      "7: `%defstr' is not supported by HyperStep",
      "8: `%use' is not supported by HyperStep",
      "10: unknown preprocessor directive `%bogus'",
    ]);
  });

  it('gives 8- and 16-bit ELF relocations without a warning, as nasm 2.16.01 does', () => {
    const file = 'test/corpus/asm/elf_small_relocs.asm';
    const reference = runNasm(file, 'elf32');
    assert.equal(reference.status, 0, reference.stderr);
    assert.equal(reference.stderr, '', 'nasm warned');
    assert.deepEqual(runOurs(file, 'elf32').diagnostics, []);
  });

  it('gives ELF symbol values as section offsets and marks globals and externs', () => {
    const elf = assemble({ path: 'x.asm', text: 'extern ext\nglobal g\nsection .data\nd: dd 0\nsection .text\nnop\ng: call ext\n' }, { format: 'elf32' });
    const byName = new Map(elf.symbols.map((s) => [s.name, s]));
    assert.deepEqual([byName.get('g')!.value, byName.get('g')!.section, byName.get('g')!.global], [1, '.text', true]);
    assert.deepEqual([byName.get('ext')!.kind, byName.get('ext')!.global], ['extern', true]);
    assert.deepEqual([byName.get('d')!.section, byName.get('d')!.global], ['.data', false]);
  });

  it('never throws, even for binary garbage, and always returns a result object', () => {
    for (const text of ['\u0000\u0001\u0002', '%', '[', 'db', 'times', 'mov', 'section', '%macro', '%if', '`unterminated', "'", '$$$$', '.local: nop', 'a equ a', 'x: jmp x+']) {
      const r = assemble({ path: 'g.asm', text }, { format: 'elf32' });
      assert.equal(typeof r.ok, 'boolean');
      assert.ok(Array.isArray(r.diagnostics));
    }
  });

  it('re-assembles incrementally after edits with exactly the result of a cold assembly', () => {
    const original = hostReadFile('test/corpus/asm/jumps.asm')!.split('\n');
    const edits: ((lines: string[]) => void)[] = [
      (l) => l.splice(10, 0, '    times 40 nop'), // grows code: jumps must resize
      (l) => l.splice(8, 1), // removes the 127 nops
      (l) => l.splice(12, 0, 'inserted_label: dd inserted_label'),
      (l) => (l[7] = '    jmp no_such_label'),
    ];
    for (const format of ['bin', 'elf32'] as const) {
      for (const edit of edits) {
        const lines = original.slice();
        edit(lines);
        const text = lines.join('\n');
        assemble({ path: 'inc.asm', text: original.join('\n') }, { format }); // the previous version
        const incremental = assemble({ path: 'inc.asm', text }, { format });
        clearAssemblerCaches();
        const cold = assemble({ path: 'inc.asm', text }, { format });
        assert.deepEqual(incremental.diagnostics, cold.diagnostics);
        assert.deepEqual(incremental.output, cold.output);
        // With errors the addresses after the bad line are provisional in both runs; without, identical.
        if (cold.ok) assert.deepEqual(incremental.symbols, cold.symbols);
      }
    }
    // Random one-line edits of a generated program (replace, insert, delete; valid and half-typed):
    // every incremental result, including those finished in a single seeded pass, equals a cold one.
    const program = generateSource(600, 7).split('\n');
    const rand = rng(5);
    let singlePass = 0;
    for (let k = 0; k < 90; k++) {
      const lines = program.slice();
      const at = 12 + Math.floor(rand() * (lines.length - 24));
      const variants = [`    mov eax, ${k}`, `    mov eax, [ebx+${k}`, `    jmp .l${k % 40}`, `    add ebx, table+${k}`, `.m${k}x: nop`, 'orphan_label', '    dw 70000',
        '    save2 eax, ecx', '    mov eax, SCALE', 'section .data', '%define SCALE 8', 'x: align 16', `    mov eax, ${k} \\`];
      const kind = k < 60 ? 0 : k % 3;
      if (kind === 0) lines[at] = variants[k % variants.length]!;
      else if (kind === 1) lines.splice(at, 0, variants[k % variants.length]!);
      else lines.splice(at, 1);
      const format = k % 2 ? 'bin' : 'elf32';
      assemble({ path: 'rand.asm', text: program.join('\n') }, { format });
      const incremental = assemble({ path: 'rand.asm', text: lines.join('\n') }, { format });
      if (incremental.passes === 1) singlePass++;
      clearAssemblerCaches();
      const cold = assemble({ path: 'rand.asm', text: lines.join('\n') }, { format });
      const what = `edit ${k} (${['replace', 'insert', 'delete'][kind]} at line ${at + 1}, ${format})`;
      assert.deepEqual(incremental.diagnostics, cold.diagnostics, what);
      assert.deepEqual(incremental.output, cold.output, what);
      assert.deepEqual(incremental.symbols, cold.symbols, what);
      assert.deepEqual(incremental.sourceMap, cold.sourceMap, what);
    }
    assert.ok(singlePass >= 3, `only ${singlePass} edits finished in one seeded pass`);
    // The same for the times and %[...] corpus files, listings included (times copies of a branch move).
    for (const file of ['test/corpus/asm/times.asm', 'test/corpus/asm/indirect.asm']) {
      const source = hostReadFile(file)!.split('\n');
      const pick = rng(file.length);
      for (let k = 0; k < 24; k++) {
        const lines = source.slice();
        const at = 6 + Math.floor(pick() * (lines.length - 8));
        const variants = ['    times 3 jmp $', `    times ${k} nop`, '    nop', `    dd $ + ${k}`, '    times 2 times 2 db 1', `lbl${k}: times 2 jmp lbl${k}`];
        if (k % 3 === 2) lines.splice(at, 1);
        else lines[at] = variants[k % variants.length]!;
        const format = k % 2 ? 'bin' : 'elf32';
        assemble({ path: 'times.asm', text: source.join('\n') }, { format });
        const incremental = assemble({ path: 'times.asm', text: lines.join('\n') }, { format });
        clearAssemblerCaches();
        const cold = assemble({ path: 'times.asm', text: lines.join('\n') }, { format });
        const what = `${file} edit ${k} at line ${at + 1} (${format})`;
        assert.deepEqual(incremental.diagnostics, cold.diagnostics, what);
        assert.deepEqual(incremental.output, cold.output, what);
        assert.equal(incremental.listing, cold.listing, what);
      }
    }
    // A label deleted by the edit is reported, not remembered from the previous run.
    assemble({ path: 'del.asm', text: 'bits 32\njmp target\ntarget: ret\n' }, { format: 'bin' });
    const after = assemble({ path: 'del.asm', text: 'bits 32\njmp target\nret\n' }, { format: 'bin' });
    assert.equal(after.diagnostics[0]?.message, "symbol `target' not defined");
  });
});
