// Preprocessor features checked against the real nasm, snippet by snippet: the context stack (%push,
// %pop, %repl, %$ and %$$ names, %ifctx), %strlen/%substr/%strcat, %00 and condition-code parameters,
// recursion (%macro vs %rmacro), indirect expansion %[...].
// Each snippet must give nasm's bytes, or nasm's first error message, and nasm's preprocessor warnings. NASM manual 4.1.3, 4.2, 4.3, 4.7.
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
  // Indirect macro expansion %[...] (NASM manual 4.1.3): joined to the text around it, expanded before directives.
  '%define BITS 16\n%define Foo16 Bar\n%define Bar 5\ndb Foo%[BITS]',
  '%define x 3\n%define y %[x]\n%define z x\n%undef x\nx equ 9\ndb y, z',
  '%define p 1\n%define w %[p]\n%define p 2\ndb w, p',
  '%define p 1\n%define q 2\ndb %[p]%[q], %[ p + q ], %[p] + %[q]',
  "%define p 1\ndb '%[p]', `%[p]\\`` ; %[q]",
  '%define a b\n%define bc 7\ndb %[a]c',
  '%define inner q\n%define q 2\ndb %[%[inner]]',
  '%define p 1\nx1x equ 4\ndb x%[p]x',
  '%macro m 1\ndb %[%1]\ndb v%[%1]\n%endmacro\n%define p 1\n%define v1 11\nm p',
  '%define p 1\n%assign t %[p]+1\ndb t',
  '%define p 1\nlbl%[p]: dd lbl%[p]',
  '%define n 5\n%define val%[n] 42\ndb val5',
  '%define one 1\n%define zero 0\n%if %[zero]\ndb 9\n%elif %[one]\ndb 1\n%endif',
  '%if 0\ndb %[unterminated\n%endif\ndb 5',
  '%if 1\ndb 1\n%elif %[a\ndb 2\n%endif\n%if 0\n%if 1\n%elif %[b\n%endif\n%endif\n%if 0\n%elif 1\n%elif %[c\n%else\n%endif',
  '%define p 1\ndb %[p\ndb 2',
  "%define p 1\nmov eax, [%[p]]\ndb %['a]b']",
  '%assign i 0\n%rep 3\nv%[i]: db i\n%assign i i+1\n%endrep\ndd v2',
  '%push c\n%define %$n 3\ndb %[%$n]\n%pop',
  '%define e\n%define p 1\ndb %[e]7, %[p ; a comment ]',
  // A label before a name that only differs in case from a case-sensitive macro stays a label.
  '%macro Push 1\ndb 1\n%endmacro\nlbl: push eax\ndd lbl',
  // A plain %macro is not expanded inside itself (the name is left as written); %rmacro recurses.
  '%macro m 0\n m\n%endmacro\nm',
  '%macro m 0\nlbl: m\n%endmacro\nm\ndd lbl',
  '%imacro m 0\ndb 1\nM\n%endmacro\nm',
  '%assign n 0\n%rmacro r 0\n%assign n n+1\n%if n < 4\ndb n\nr\n%endif\n%endmacro\nr',
  '%assign n 0\n%irmacro r 0\n%assign n n+1\n%if n < 4\ndb n\nR\n%endif\n%endmacro\nr',
];

/** nasm's preprocessor warnings (`[-w+pp-…]`) as `line: message`. */
function preprocessorWarnings(stderr: string): string[] {
  return [...stderr.matchAll(/^[^:\n]*:(\d+): warning: (.*\[-w\+pp-[a-z-]+\])$/gm)].map((m) => `${m[1]}: ${m[2]}`);
}

function nasmVerdict(source: string): { output?: Uint8Array; error?: string; warnings: string[] } {
  requireNasm();
  const dir = mkdtempSync(join(tmpdir(), 'hs-pp-'));
  try {
    writeFileSync(join(dir, 'in.asm'), source);
    const r = spawnSync('nasm', ['-f', 'bin', '-o', 'out', 'in.asm'], { cwd: dir, encoding: 'utf8' });
    const warnings = preprocessorWarnings(r.stderr);
    if (r.status === 0) return { output: new Uint8Array(readFileSync(join(dir, 'out'))), warnings };
    return { error: /error: (.*)$/m.exec(r.stderr)?.[1] ?? r.stderr, warnings };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('preprocessor vs nasm: contexts, string functions, %00, condition codes', () => {
  it(`${SNIPPETS.length} snippets give nasm's bytes or its error message, and its preprocessor warnings`, () => {
    const failures: string[] = [];
    for (const snippet of SNIPPETS) {
      const source = `bits 32\n${snippet}\n`;
      const reference = nasmVerdict(source);
      const ours = assemble({ path: 'in.asm', text: source }, { format: 'bin' });
      const ourError = ours.diagnostics.find((d) => d.severity === 'error')?.message;
      if (reference.error !== ourError) failures.push(`${JSON.stringify(snippet)}: nasm ${reference.error ?? 'ok'}, ours ${ourError ?? 'ok'}`);
      else if (reference.output && firstDifference(reference.output, ours.output)) failures.push(`${JSON.stringify(snippet)}: ${firstDifference(reference.output, ours.output)}`);
      const ourWarnings = ours.diagnostics.filter((d) => d.severity === 'warning' && d.message.includes('[-w+pp-')).map((d) => `${d.line}: ${d.message}`);
      if (JSON.stringify(ourWarnings) !== JSON.stringify(reference.warnings)) failures.push(`${JSON.stringify(snippet)}: nasm warns ${JSON.stringify(reference.warnings)}, ours ${JSON.stringify(ourWarnings)}`);
    }
    assert.deepEqual(failures, []);
  });
});
