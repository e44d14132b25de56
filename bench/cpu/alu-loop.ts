// Guest MIPS of the CPU on a simple ALU loop (add/xor/lea/dec/jnz), in the fast loop and in the debug
// loop with 10 execution breakpoints set (none hit). Bounded: ~50 M instructions per measurement.
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

function measure(debug: boolean): number {
  const machine = createMachine(16 << 20);
  bootFlat(machine, program);
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

const fast = measure(false);
const debug = measure(true);
console.log(`ALU loop: fast loop ${fast.toFixed(1)} MIPS, debug loop (10 breakpoints) ${debug.toFixed(1)} MIPS`);
