// Generates a realistic NASM source of N lines for the assembler benchmarks: code with local labels,
// forward and backward jumps of both sizes, every addressing form, data, macros and equ constants.

const REGS = ['eax', 'ebx', 'ecx', 'edx', 'esi', 'edi'];

/** Deterministic pseudo-random generator (xorshift32) so every run measures the same file. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

export function generateSource(lines: number, seed = 1): string {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: string[] = [
    '; generated benchmark source',
    'bits 32',
    '%define SCALE 4',
    '%macro save2 2',
    '    push %1',
    '    push %2',
    '%endmacro',
    'BUFSZ equ 256',
    'section .text',
  ];
  let fn = 0;
  while (out.length < lines - 20) {
    out.push(`func${fn}:`, '.top:');
    const body = 10 + Math.floor(rand() * 30);
    for (let k = 0; k < body && out.length < lines - 20; k++) {
      const r1 = pick(REGS);
      const r2 = pick(REGS);
      switch (Math.floor(rand() * 12)) {
        case 0: out.push(`    mov ${r1}, ${Math.floor(rand() * 100000)}`); break;
        case 1: out.push(`    add ${r1}, [${r2}+${Math.floor(rand() * 200)}]`); break;
        case 2: out.push(`    mov [${r1}+${r2}*SCALE+8], ${r2}`); break;
        case 3: out.push(`    cmp ${r1}, ${Math.floor(rand() * 300) - 150}`); break;
        case 4: out.push(`    jnz .l${Math.floor(rand() * 40)}`); break;
        case 5: out.push(`    jc .top`); break;
        case 6: out.push(`    call func${Math.floor(rand() * (fn + 5))}`); break;
        case 7: out.push(`    lea ${r1}, [${r2}+${r1}*2+BUFSZ]`); break;
        case 8: out.push(`    save2 ${r1}, ${r2}`); break;
        case 9: out.push(`    shl ${r1}, ${1 + Math.floor(rand() * 30)}`); break;
        case 10: out.push(`    mov ${r1}, table + ${Math.floor(rand() * 64) * 4}`); break;
        default: out.push(`.m${k}: test ${r1}, ${r2}`); break;
      }
    }
    for (let k = 0; k < 40; k++) out.push(`.l${k}: inc eax`);
    out.push('    ret');
    fn++;
  }
  out.push(`func${fn}:`, ...Array.from({ length: 5 }, (_, k) => `func${fn + k + 1}: ret`));
  out.push('section .data', 'table: times 64 dd 0', 'msg: db "benchmark", 0', 'section .bss', 'buf: resb BUFSZ');
  while (out.length < lines) out.push('    ; padding comment');
  return out.join('\n') + '\n';
}
