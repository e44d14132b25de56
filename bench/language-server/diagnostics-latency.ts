// Benchmark: language-server diagnostics latency on a 5,000-line guest after a one-line edit (issue goal
// ≤ 30 ms), cold and warm, with the assembler's own timing. Run: npx tsx bench/language-server/diagnostics-latency.ts
import { diagnoseDocument } from '../../src/language-server/features/diagnostics';

function source(lines: number, edit: number): string {
  const out: string[] = ['bits 32', 'org 0x100000'];
  for (let i = 0; i < lines; i++) out.push(i === edit ? '  mov ecx, 7' : i % 50 === 0 ? `l${i}: add eax, ${i}` : `  mov ebx, [esi+${i % 200}]`);
  out.push('  jmp l0');
  return out.join('\n');
}

const runs = Number(process.argv[2] ?? 9);
const cold = diagnoseDocument('file:///big.asm', source(5000, -1), () => undefined).elapsedMs;
const warm: number[] = [];
for (let r = 0; r < runs; r++) warm.push(diagnoseDocument('file:///big.asm', source(5000, 100 + r), () => undefined).elapsedMs);
warm.sort((a, b) => a - b);
console.log(`5,000-line file: cold ${cold} ms; after a one-line edit: median ${warm[runs >> 1]} ms, min ${warm[0]} ms, max ${warm[runs - 1]} ms (${runs} edits)`);
