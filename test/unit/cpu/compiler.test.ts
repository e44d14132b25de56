// The block compiler must be invisible: random instruction streams (the differential test's generator)
// inside hot loops give exactly the same registers, EFLAGS, memory and retired count with the compiler on
// and off (the interpreter is checked against QEMU by differential.test.ts). Also faults mid-loop.
import { strict as assert } from 'node:assert';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { readEflags } from '../../../src/emulator/cpu/lazyFlags';
import { randomInstruction } from './randomInstructions';
import { bootFlat, createMachine, nasm, ramBus } from './harness';

function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return x >>> 0;
  };
}

function runBoth(program: Uint8Array, budget: number, memoryEnd = 0x50200): [unknown[], unknown[]] {
  const outcomes = [true, false].map((jit) => {
    const machine = createMachine(1 << 20);
    const memory = ramBus(1 << 20);
    const cpu = new Cpu({ memory, ports: machine.ports, interrupts: machine.interrupts, jit });
    const m = { ...machine, cpu, ram: memory.ram };
    bootFlat(m, program);
    const reason = cpu.run(budget);
    return [reason, Array.from(cpu.s.subarray(0, 9)), readEflags(cpu.s) & 0x8d5, cpu.retired, Array.from(m.ram.subarray(0x50000, memoryEnd))];
  });
  return [outcomes[0]!, outcomes[1]!];
}

describe('cpu block compiler equivalence', function () {
  this.timeout(60000);
  const SEEDS = 30;
  it(`random loops (${SEEDS} seeds) give identical state compiled and interpreted`, () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const next = rng(seed * 2654435761);
      const body: string[] = [];
      const length = 3 + (next() % 10);
      for (let i = 0; i < length; i++) body.push(randomInstruction(next));
      const program = nasm(`buffer equ 0x50000
        mov dword [0x4000], ${20 + (next() % 30)}
      l:
        ${body.join('\n')}
        dec dword [0x4000]
        jnz l
        cli
        hlt`);
      const [compiled, interpreted] = runBoth(program, 100000);
      assert.deepEqual(compiled, interpreted, `seed ${seed}:\n${body.join('\n')}`);
    }
  });

  it('register-only loops whose flags stay in locals across iterations', () => {
    for (let seed = 1; seed <= 2 * SEEDS; seed++) {
      const next = rng(seed * 40503);
      const ops = ['add', 'sub', 'xor', 'and', 'or', 'cmp', 'test'];
      const regs = ['eax', 'ebx', 'edx', 'esi', 'edi', 'ebp'];
      const cc = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'l', 'ge', 'le', 'g', 'p'];
      const pick = <T>(list: readonly T[]): T => list[next() % list.length]!;
      const lines: string[] = [];
      for (let i = 0; i < 4; i++) {
        const choice = next() % 4;
        if (choice === 0) lines.push(`${pick(ops)} ${pick(regs)}, ${pick(regs)}`);
        else if (choice === 1) lines.push(`${pick(ops.slice(0, 6))} ${pick(regs)}, ${next() % 2 ? next() | 0 : (next() % 5) - 2}`);
        else if (choice === 2) lines.push(`${pick(['inc', 'dec'])} ${pick(regs)}`);
        else lines.push(`lea ${pick(regs)}, [${pick(regs)} + ${pick(regs)}*2 + ${next() % 100}]`);
      }
      const program = nasm(`
        mov ecx, ${50 + (next() % 50)}
        mov eax, ${next() % 3}
        mov ebx, ${next() % 3}
        mov edx, ${next() % 3}
        mov esi, ${-(next() % 3)}
        mov edi, ${next() % 2 ? 0x7fffffff : 0x80000000}
        mov ebp, ${next() % 3}
      l:
        ${lines.join('\n')}
        j${pick(cc)} skip
        inc dword [0x50000]
      skip:
        dec ecx
        jnz l
        cli
        hlt`);
      const [compiled, interpreted] = runBoth(program, 100000);
      assert.deepEqual(compiled, interpreted, `seed ${seed}:\n${lines.join('\n')}`);
    }
  });

  it('every condition after every inline flag producer, on edge operands, branches the same way', () => {
    const producers = ['add eax, ebx', 'sub eax, ebx', 'cmp eax, ebx', 'and eax, ebx', 'or eax, ebx', 'xor eax, ebx',
      'test eax, ebx', 'inc eax', 'dec eax', 'cmp eax, 1', 'add eax, -1'];
    const conditions = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
    const values = [0, 1, -1, 0x7fffffff, -0x80000000];
    const loops: string[] = [];
    let slot = 0;
    for (const producer of producers) {
      for (const cc of conditions) {
        for (const a of values) {
          const b = values[(slot * 7) % values.length]!;
          loops.push(`mov ecx, 12\nl${slot}: mov eax, ${a}\nmov ebx, ${b}\n${producer}\nj${cc} s${slot}\n` +
            `inc dword [0x50000 + ${slot * 4}]\ns${slot}: dec ecx\njnz l${slot}`);
          slot++;
        }
      }
    }
    const program = nasm(`${loops.join('\n')}\ncli\nhlt`);
    const [compiled, interpreted] = runBoth(program, 1000000, 0x50000 + slot * 4);
    assert.equal(compiled[0], 'halt');
    assert.deepEqual(compiled, interpreted);
  });

  it('a budget that ends inside a compiled loop stops at the same instruction', () => {
    const program = nasm(`
      mov ecx, 100000
    l: add eax, ecx
      xor ebx, eax
      dec ecx
      jnz l
      cli
      hlt`);
    for (const budget of [1, 7, 99, 1001, 4003]) {
      const [compiled, interpreted] = runBoth(program, budget);
      assert.deepEqual(compiled, interpreted, `budget ${budget}`);
    }
  });
});
