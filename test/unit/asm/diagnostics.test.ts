// Diagnostics: NASM's wording and lines (checked against the real nasm), exact columns and ranges,
// errors inside %include files and macro expansions, and bounded recursion that never hangs.
import { strict as assert } from 'node:assert';
import { assemble, Diagnostic } from '../../../src/emulator/asm';
import { runNasm, runOurs } from './nasmOracle';

function memoryFiles(files: Record<string, string>): (path: string) => string | undefined {
  return (path) => files[path];
}

function errorsOf(text: string, files: Record<string, string> = {}): Diagnostic[] {
  return assemble({ path: 'main.asm', text }, { format: 'bin', readFile: memoryFiles(files) }).diagnostics.filter((d) => d.severity === 'error');
}

describe('assembler diagnostics', () => {
  it('reports every error nasm reports, on the same line with the same message', () => {
    const file = 'test/fixtures/asm-diagnostics/errors.asm';
    const reference = runNasm(file, 'bin');
    assert.equal(reference.status, 1, 'nasm should reject the fixture');
    const ours = runOurs(file, 'bin');
    const ourLines = ours.diagnostics.map((d) => `${d.file}:${d.line}: ${d.severity}: ${d.message}`);
    const nasmErrors = reference.stderr.split('\n').filter((l) => / error: /.test(l));
    assert.ok(nasmErrors.length >= 4, reference.stderr);
    for (const line of nasmErrors) {
      const match = ourLines.find((ours) => line.startsWith(ours));
      assert.ok(match, `nasm said "${line}" but HyperStep said:\n${ourLines.join('\n')}`);
    }
    assert.equal(ours.ok, false);
    assert.equal(ours.output.length, 0);
  });

  it('points at the offending token with a column range', () => {
    const [undefinedSymbol] = errorsOf('bits 32\n  mov eax, no_such_label + 4\n');
    assert.equal(undefinedSymbol!.message, "symbol `no_such_label' not defined");
    assert.deepEqual([undefinedSymbol!.line, undefinedSymbol!.column, undefinedSymbol!.endLine, undefinedSymbol!.endColumn], [2, 12, 2, 25]);
    const [syntax] = errorsOf('bits 32\nmov eax, [ebx+]\n');
    assert.equal(syntax!.message, 'expression syntax error');
    assert.equal(syntax!.column, 15);
    const [bad] = errorsOf('bits 32\nadd eax, ebx, ecx\n');
    assert.equal(bad!.message, 'invalid combination of opcode and operands');
    assert.equal(bad!.column, 1);
  });

  it('reports errors inside an %include file at the included file and line', () => {
    const errors = errorsOf('bits 32\n%include "lib/util.inc"\nnop\n', { 'lib/util.inc': 'nop\nnop\nmov eax, [ebx+*]\n' });
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.file, 'lib/util.inc');
    assert.equal(errors[0]!.line, 3);
  });

  it('reports errors inside macro expansions at the call, naming the macro body line', () => {
    const text = ['bits 32', '%macro twice 1', '  nop', '  mov eax, %1', '%endmacro', 'twice ebx', 'twice nothing_here'].join('\n');
    const errors = errorsOf(text);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.line, 7);
    assert.equal(errors[0]!.message, "symbol `nothing_here' not defined");
    assert.deepEqual(errors[0]!.expansion, { macro: 'twice', file: 'main.asm', line: 4 });
  });

  it('bounds infinite macro recursion, include cycles, and huge %rep/times without hanging', () => {
    const started = Date.now();
    assert.match(errorsOf('%rmacro r 0\nr\n%endmacro\nr\n')[0]!.message, /nested too deeply/);
    assert.match(errorsOf('%include "a.inc"\n', { 'a.inc': '%include "a.inc"\n' })[0]!.message, /nested too deeply/);
    assert.match(errorsOf('%define A B\n%define B A\ndb A\n')[0]!.message, /./);
    assert.match(errorsOf('%rep 100000000\nnop\n%endrep\n')[0]!.message, /exceeds/);
    assert.match(errorsOf('times 1 << 40 db 0\n')[0]!.message, /exceeds/);
    assert.ok(Date.now() - started < 15000, 'bounded inputs took too long');
  });

  it('reports unterminated blocks and stray directives', () => {
    assert.match(errorsOf('%macro m 0\nnop\n')[0]!.message, /end of file while still defining macro/);
    assert.match(errorsOf('%if 1\nnop\n')[0]!.message, /expected `%endif'/);
    assert.match(errorsOf('%endif\n')[0]!.message, /no matching `%if'/);
    assert.match(errorsOf('%bogus\n')[0]!.message, /unknown preprocessor directive/);
    assert.match(errorsOf('extern foo\n')[0]!.message, /binary format does not support external references/);
  });
});
