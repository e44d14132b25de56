// The block compiler's stack, call/ret, carry and shift paths and the block cache's followed CALL/JMP
// targets must be invisible: loops that call a function in the same page, push/pop, ADC/SBB, shift by an
// immediate and end with a RET to an unmapped address give exactly the same registers, EFLAGS, memory,
// stack and retired count with the compiler on and off; a breakpoint on a followed call target still stops.
import { strict as assert } from 'node:assert';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { readEflags } from '../../../src/emulator/cpu/lazyFlags';
import { EIP } from '../../../src/emulator/cpu/stateLayout';
import { bootFlat, CODE_BASE, createMachine, nasm, ramBus } from './harness';

function boot(program: Uint8Array, jit: boolean): { cpu: Cpu; ram: Uint8Array } {
  const machine = createMachine(1 << 20);
  const memory = ramBus(1 << 20);
  const cpu = new Cpu({ memory, ports: machine.ports, interrupts: machine.interrupts, jit });
  bootFlat({ ...machine, cpu, ram: memory.ram }, program);
  return { cpu, ram: memory.ram };
}

function runBoth(program: Uint8Array, budget: number): [unknown[], unknown[]] {
  const outcomes = [true, false].map((jit) => {
    const { cpu, ram } = boot(program, jit);
    const reason = cpu.run(budget);
    return [reason, Array.from(cpu.s.subarray(0, 9)), readEflags(cpu.s) & 0x8d5, cpu.retired,
      Array.from(ram.subarray(0x50000, 0x50200)), Array.from(ram.subarray(0x7f000, 0x80000))];
  });
  return [outcomes[0]!, outcomes[1]!];
}

describe('cpu block compiler: calls, stack, carry and shifts', function () {
  this.timeout(30000);
  for (const shift of ['shr', 'shl', 'sar']) {
    for (const count of [1, 3, 31, 0]) {
      for (const carry of ['adc', 'sbb']) {
        it(`${shift} by ${count} with ${carry} and call/ret/push/pop give identical results`, () => {
          const program = nasm(`
              mov ecx, 300
              mov eax, 0x80000001
              mov edx, 0x7ffffff3
            l:
              mov ebx, ecx
              imul ebx, ebx, 0x9e3779b1
              ${shift} ebx, ${count}
              ${carry} eax, ebx
              ${carry} edx, 0x1234567
              ${shift} edx, 1
              call f
              ${carry} esi, 0
              ${carry} edi, eax
              and eax, 0x7ffff0f3
              ${carry} eax, 0x12345
              test eax, 0x10000
              jz o1
              sub eax, 77
              cmp eax, -5
              ja o1
              xor eax, 0x55aa
            o1:
              mov [0x50000 + ecx], eax
              dec ecx
              jnz l
              mov esp, 0x7fff0
              mov dword [esp], 0xfffffff0
              ret
            f:
              push ebx
              add ebx, edx
              ${shift} ebx, ${count}
              pop ebx
              ret 0`);
          const [compiled, interpreted] = runBoth(program, 100000);
          assert.deepEqual(compiled, interpreted);
          assert.equal(compiled[0], 'shutdown', 'the final RET reaches an unmapped address (fetch fault, no IDT)');
        });
      }
    }
  }

  it('a breakpoint on a call target inside a hot block still stops the debug loop there', () => {
    const program = nasm(`
        mov ecx, 100
      l:
        add eax, 1
        call f
        dec ecx
        jnz l
        cli
        hlt
      f:
        add ebx, 2
        ret`);
    const { cpu } = boot(program, true);
    assert.equal(cpu.run(300), 'budget'); // hot: the block (including f) is compiled
    const f = CODE_BASE + program.length - 4; // add ebx, 2 (3 bytes) + ret (1 byte)
    cpu.setBreakpoint(f);
    assert.equal(cpu.runDebug(100000), 'breakpoint');
    assert.equal(cpu.s[EIP]! >>> 0, f);
    const calls = cpu.s[0]!;
    assert.equal(cpu.s[3], (calls - 1) * 2);
    assert.equal(cpu.runDebug(100000), 'breakpoint');
    assert.equal(cpu.s[3], calls * 2);
  });
});
