// Shared source fuzzer for the assembler: random token soup and mutations of the corpus programs
// (deleted, duplicated, swapped and truncated lines, flipped characters, injected directives).
import { assemble, AssemblyResult } from '../../../src/emulator/asm';

const ATOMS = [
  'mov', 'add', 'jmp', 'jz', 'call', 'ret', 'db', 'dw', 'dd', 'dq', 'resb', 'times', 'equ', 'eax', 'ebx', 'al', 'cs', 'es:',
  '[', ']', '+', '-', '*', '/', '//', '%', '%%', '<<', '>>', '(', ')', ',', ':', '$', '$$', '0x10', '12h', '0b101', "'a'", '"str"',
  '`esc\\n`', 'label', '.local', '..@x', '%define', '%macro', '%endmacro', '%rep', '%endrep', '%if', '%endif', '%else', '%include',
  '%1', '%0', '%%l', 'section', '.text', '.data', '.bss', 'bits', '32', '16', 'org', 'align', 'struc', 'endstruc', 'istruc', 'at', 'iend',
  'global', 'extern', 'byte', 'dword', 'short', 'near', 'far', 'strict', ';', '\\', '?', '!', '~', '^', '|', '&', '"', "'", '`', '{', '}',
];

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

export function randomSource(rand: () => number): string {
  const lines: string[] = [];
  const count = 1 + Math.floor(rand() * 30);
  for (let l = 0; l < count; l++) {
    const words: string[] = [];
    const n = Math.floor(rand() * 8);
    for (let w = 0; w < n; w++) words.push(ATOMS[Math.floor(rand() * ATOMS.length)]!);
    lines.push(words.join(rand() < 0.7 ? ' ' : ''));
  }
  return lines.join('\n');
}

export function mutateSource(text: string, rand: () => number): string {
  const lines = text.split('\n');
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits && lines.length > 0; e++) {
    const at = Math.floor(rand() * lines.length);
    switch (Math.floor(rand() * 6)) {
      case 0: lines.splice(at, 1); break;
      case 1: lines.splice(at, 0, lines[Math.floor(rand() * lines.length)]!); break;
      case 2: {
        const line = lines[at]!;
        const pos = Math.floor(rand() * (line.length + 1));
        lines[at] = line.slice(0, pos) + ATOMS[Math.floor(rand() * ATOMS.length)]! + line.slice(pos + 1);
        break;
      }
      case 3: lines[at] = lines[at]!.slice(0, Math.floor(rand() * lines[at]!.length)); break;
      case 4: lines.splice(at, 0, randomSource(rand)); break;
      default: lines.length = at; break;
    }
  }
  return lines.join('\n');
}

/** Assembles one fuzz case; returns a problem description, or undefined if the result is well-formed. */
export function checkCase(text: string, format: 'bin' | 'elf32', files: Record<string, string>): string | undefined {
  let result: AssemblyResult;
  try {
    result = assemble({ path: 'fuzz.asm', text }, { format, readFile: (p) => files[p], listing: true });
    // The lazily built parts must not throw either.
    void result.listing.length;
    void result.sourceMap.length;
    void result.symbols.length;
  } catch (e) {
    return `threw ${e instanceof Error ? e.stack : String(e)}`;
  }
  if (!Array.isArray(result.diagnostics) || !(result.output instanceof Uint8Array)) return 'malformed result';
  if (result.ok === result.diagnostics.some((d) => d.severity === 'error')) return 'ok flag disagrees with diagnostics';
  if (result.diagnostics.some((d) => d.message.startsWith('internal'))) return `internal error: ${result.diagnostics.find((d) => d.message.startsWith('internal'))!.message}`;
  for (const d of result.diagnostics) {
    if (!(d.line >= 1 && d.column >= 1 && d.endColumn >= d.column)) return `bad range ${JSON.stringify(d)}`;
  }
  return undefined;
}
