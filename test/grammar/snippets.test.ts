// The snippets in snippets/hyperstep-nasm.code-snippets are real code: with every placeholder at its
// default, each fragment assembles with nasm, and the Multiboot skeleton links with ld and boots in
// qemu-system-i386 -kernel, printing its message on COM1 and leaving through isa-debug-exit.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSnippet } from './snippet-expander';
import { tokenizeLines } from './tokenize';
import { bootInQemu, buildKernel, loadSnippets, runTool as run, snippetBody } from './tools';

const snippets = loadSnippets();

describe('snippets', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hyperstep-snippets-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('offers the snippets the foundation issue asks for, each with a description', () => {
    const prefixes = Object.values(snippets).map((s) => s.prefix).sort();
    assert.deepEqual(prefixes, ['gdt-entry', 'hypercall', 'idt-gate', 'isr-stub', 'macro', 'multiboot-kernel', 'ring3-iret', 'sections']);
    for (const [name, s] of Object.entries(snippets)) assert.ok(s.description.length > 20, `${name} lacks a description`);
  });

  it('every fragment assembles with nasm once its placeholders take their defaults', () => {
    for (const [name, snippet] of Object.entries(snippets)) {
      const source = expandSnippet(snippet.body);
      const file = join(dir, 'fragment.asm');
      // Fragments refer to symbols of the surrounding kernel (handlers, tables, stacks): define the ones
      // nasm reports as missing and assemble again, so every other error still fails the test.
      let text = `bits 32\n${source}\n`;
      writeFileSync(file, text);
      let result = run('nasm', ['-f', 'bin', '-o', join(dir, 'fragment.bin'), file]);
      const missing = [...result.stderr.matchAll(/symbol `([^']+)' not defined/g)].map((m) => m[1]!);
      if (missing.length > 0) {
        text += [...new Set(missing)].map((symbol) => `${symbol}:\n`).join('');
        writeFileSync(file, text);
        result = run('nasm', ['-f', 'bin', '-o', join(dir, 'fragment.bin'), file]);
      }
      assert.equal(result.status, 0, `${name}:\n${result.stderr}\n${text}`);
    }
  });

  it('the macro skeleton defines a macro that expands', () => {
    const source = `bits 32\n${expandSnippet(snippetBody('macro'))}\nNAME 5\nNAME 6\n`;
    const file = join(dir, 'macro.asm');
    writeFileSync(file, source);
    const result = run('nasm', ['-f', 'bin', '-o', join(dir, 'macro.bin'), file]);
    assert.equal(result.status, 0, result.stderr);
  });

  it('the Multiboot kernel skeleton assembles, links and boots in qemu-system-i386, printing its message', function () {
    this.timeout(60000);
    const elf = buildKernel(dir, expandSnippet(snippetBody('multiboot-kernel')));
    const { serial, status } = bootInQemu(elf);
    assert.equal(serial, 'Hello from a Multiboot kernel\n');
    assert.equal(status, 33, 'isa-debug-exit status (0x10 << 1) | 1');
  });

  it('the Multiboot skeleton is highlighted with its special classes (in, out, cli, hlt)', async () => {
    const lines = await tokenizeLines(expandSnippet(snippetBody('multiboot-kernel')));
    const scopesOf = (word: string) =>
      lines.flat().filter((t) => t.text === word).map((t) => t.scopes[t.scopes.length - 1]);
    assert.deepEqual([...new Set(scopesOf('out'))], ['keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm']);
    assert.deepEqual([...new Set(scopesOf('hlt'))], ['keyword.control.privileged.instruction.hyperstep-nasm']);
    assert.deepEqual([...new Set(scopesOf('0x1BADB002'))], ['constant.numeric.integer.hexadecimal.hyperstep-nasm']);
  });

  it('the hypercall snippet is scoped as a hypercall', async () => {
    const lines = await tokenizeLines(expandSnippet(snippetBody('hypercall')));
    const int = lines.flat().find((t) => t.text === 'int');
    assert.ok(int?.scopes.includes('constant.character.escape.hypercall.instruction.hyperstep-nasm'), JSON.stringify(int));
  });
});

describe('snippet expander', () => {
  it('takes defaults, mirrors tabstops, first choices and escapes', () => {
    assert.equal(expandSnippet(['${1:a} $1 ${1} ${2|x,y|} \\$ $0', '${3:${1:a}b}']), 'a a a x $ \nab');
  });
  it('rejects a bare NASM $ and conflicting defaults', () => {
    assert.throws(() => expandSnippet('times 4-($-$$) db 0'), /escape NASM's \$/);
    assert.throws(() => expandSnippet('${1:a} ${1:b}'), /two defaults/);
  });
});
