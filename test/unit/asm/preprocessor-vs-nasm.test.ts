// Preprocessor features checked against the real nasm, snippet by snippet: the context stack (%push,
// %pop, %repl, %$ and %$$ names, %ifctx), %strlen/%substr/%strcat, %00 and condition-code parameters,
// recursion (%macro vs %rmacro).
// Each snippet must give nasm's bytes, or nasm's first error message. NASM manual 4.2, 4.3, 4.7.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../src/emulator/asm';
import { firstDifference, requireNasm } from './nasmOracle';

const SNIPPETS: readonly string[] = [
  '%pop',
  '%repl x',
  '%push a\n%pop b',
  '%push\n%pop\nnop',
  // (`%$$x` one level too deep is an error too; nasm 2.16 names it inconsistently, so it is not listed.)
  'jmp %$nowhere',
  '%push a\n%$l: jmp %$l\n%pop\n%push b\n%$l: jmp %$l\n%pop',
  '%push a\n%ifctx a\ndb 1\n%else\ndb 2\n%endif\n%repl b\n%ifctx a\ndb 3\n%elifctx b c\ndb 4\n%endif\n%pop',
  '%ifctx a\ndb 1\n%endif\n%ifnctx a\ndb 2\n%endif',
  '%push a\n%define %$v 3\n%push b\n%define %$v 4\ndb %$v, %$$v\n%pop\n%pop',
  "%push a\ndb '%$notalabel' ; %$ in a comment\n%pop",
  "%strlen n 'abc'\ndb n",
  '%strlen',
  "%strlen n abc",
  "%substr s 'hello', 2\ndb s",
  "%substr s 'hello', 2, 10\ndb s, 0",
  "%substr s 'hello', 5, -1\ndb s",
  "%substr s 'hello', 1, -2\ndb s",
  "%strcat s 'a', \"b'c\"\ndb s",
  "%strcat s 'a', 5",
  "%macro m 0\n%00: db 1\n%endmacro\nhere: m\ndd here",
  '%macro m 0\ndb 2\n%endmacro\nthere: m\ndd there',
  '%macro cc 1\nj%-1 $+2\nj%+1 $+2\n%endmacro\ncc e\ncc nz\ncc a\ncc nge\ncc pe\ncc c',
  // A label before a name that only differs in case from a case-sensitive macro stays a label.
  '%macro Push 1\ndb 1\n%endmacro\nlbl: push eax\ndd lbl',
  // A plain %macro is not expanded inside itself (the name is left as written); %rmacro recurses.
  '%macro m 0\n m\n%endmacro\nm',
  '%macro m 0\nlbl: m\n%endmacro\nm\ndd lbl',
  '%imacro m 0\ndb 1\nM\n%endmacro\nm',
  '%assign n 0\n%rmacro r 0\n%assign n n+1\n%if n < 4\ndb n\nr\n%endif\n%endmacro\nr',
  '%assign n 0\n%irmacro r 0\n%assign n n+1\n%if n < 4\ndb n\nR\n%endif\n%endmacro\nr',
];

function nasmVerdict(source: string): { output?: Uint8Array; error?: string } {
  requireNasm();
  const dir = mkdtempSync(join(tmpdir(), 'hs-pp-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    const r = spawnSync('nasm', ['-f', 'bin', '-o', 'out', 'in.asm'], { cwd: dir, encoding: 'utf8' });
    if (r.status === 0) return { output: new Uint8Array(readFileSync(join(dir, 'out'))) };
    return { error: /error: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('preprocessor vs nasm: contexts, string functions, %00, condition codes', () => {
  it(`${SNIPPETS.length} snippets give nasm's bytes or its error message`, () => {
    const failures: string[] = [];
    for (const snippet of SNIPPETS) {
      const source = `bits 32\n${snippet}\n`;
      const reference = nasmVerdict(source);
      const ours = assemble({ path: 'in.asm', text: source }, { format: 'bin' });
      const ourError = ours.diagnostics.find((d) => d.severity === 'error')?.message;
      if (reference.error !== ourError) failures.push(`${JSON.stringify(snippet)}: nasm ${reference.error ?? 'ok'}, ours ${ourError ?? 'ok'}`);
      else if (reference.output && firstDifference(reference.output, ours.output)) failures.push(`${JSON.stringify(snippet)}: ${firstDifference(reference.output, ours.output)}`);
    }
    assert.deepEqual(failures, []);
  });
});
