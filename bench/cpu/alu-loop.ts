// Guest MIPS of the CPU on a simple ALU loop (add/xor/lea/dec/jnz), in the fast loop and in the debug
// loop with 10 execution breakpoints set (none hit), plus a memory/stack/call loop for contrast.
// Bounded: the given millions of instructions per measurement (default 50).
// Run: npx tsx bench/cpu/alu-loop.ts [millionInstructions]
import { createMachine, bootFlat, nasm, CODE_BASE } from '../../test/unit/cpu/harness';

const millions = Number(process.argv[2] ?? 50);
const program = nasm(`
  mov ecx, 0x7fffffff
l:
  add eax, ebx
  xor edx, eax
  lea esi, [eax + ebx*4 + 7]
  dec ecx
  jnz l
  hlt`);

const memoryProgram = nasm(`
  mov ecx, 0x7fffffff
  mov esi, 0x40000
l:
  mov eax, [esi]
  add [esi + 4], eax
  push eax
  pop ebx
  call f
  dec ecx
  jnz l
  hlt
f: ret`);

function measure(debug: boolean, code = program): number {
  const machine = createMachine(16 << 20);
  bootFlat(machine, code);
  const cpu = machine.cpu;
  if (debug) for (let i = 0; i < 10; i++) cpu.setBreakpoint(CODE_BASE + 0x1000 + i * 0x40);
  cpu.run(100000); // warm-up
  const budget = millions * 1e6;
  const start = process.hrtime.bigint();
  const reason = debug ? cpu.runDebug(budget) : cpu.run(budget);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (reason !== 'budget') throw new Error(`unexpected stop: ${reason}`);
  return budget / seconds / 1e6;
}

/** Best of three alternating runs (the machine is shared; V8 tiers up each new compiled block). */
function best(debug: boolean, code = program): number {
  let top = 0;
  for (let i = 0; i < 3; i++) top = Math.max(top, measure(debug, code));
  return top;
}

const fast = best(false);
const debug = best(true);
console.log(`ALU loop: fast loop ${fast.toFixed(1)} MIPS, debug loop (10 breakpoints) ${debug.toFixed(1)} MIPS`);
const memoryFast = best(false, memoryProgram);
const memoryDebug = best(true, memoryProgram);
console.log(`memory/call loop: fast loop ${memoryFast.toFixed(1)} MIPS, debug loop (10 breakpoints) ${memoryDebug.toFixed(1)} MIPS`);
