// Smoke tests of the CPU core: a loop of ALU instructions, HLT, the stack, and the budget.
import { strict as assert } from 'node:assert';
import { runProgram } from './harness';

describe('cpu basics', () => {
  it('runs an ALU loop to HLT with the right registers', () => {
    const m = runProgram(`
      mov ecx, 1000
      xor eax, eax
      xor edx, edx
      mov ebx, 3
    again:
      add eax, ebx
      xor edx, eax
      lea esi, [eax + ebx*4 + 7]
      dec ecx
      jnz again
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(m.cpu.s[0], 3000);
    assert.equal(m.cpu.s[1], 0);
    assert.equal(m.cpu.s[6], 3000 + 12 + 7);
    let edx = 0;
    for (let i = 1; i <= 1000; i++) edx ^= i * 3;
    assert.equal(m.cpu.s[2], edx);
    assert.equal(m.cpu.retired, 4 + 5 * 1000 + 2);
  });

  it('push/pop/call/ret use the stack', () => {
    const m = runProgram(`
      mov eax, 0x12345678
      push eax
      call f
      pop ebx
      hlt
    f: mov ecx, [esp+4]
      ret`);
    assert.equal(m.reason, 'halt');
    assert.equal(m.cpu.s[3] >>> 0, 0x12345678);
    assert.equal(m.cpu.s[1] >>> 0, 0x12345678);
    assert.equal(m.cpu.s[4], 0x9000);
  });

  it('stops with budget when the budget runs out', () => {
    const m = runProgram('l: jmp l', 1000);
    assert.equal(m.reason, 'budget');
    assert.equal(m.cpu.retired, 1000);
  });
});
