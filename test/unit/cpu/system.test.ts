// System and control-flow instruction tests: DIV/IDIV #DE, ENTER/LEAVE, LOOP/JECXZ, far JMP/CALL/RETF,
// descriptor-table stores, SMSW/LMSW, LAR/LSL/VERR/VERW/ARPL, CPUID, RDTSC, RDMSR/WRMSR, SYSENTER/SYSEXIT,
// VMX #UD without CR4.VMXE, IN/OUT at CPL 0, privileged instructions at CPL 3, the VMM event hook, the
// debug loop's breakpoints, and compiled-vs-interpreted equivalence.
import { strict as assert } from 'node:assert';
import { Cpu } from '../../../src/emulator/cpu/cpu';
import { CPL, CR, DR, EIP } from '../../../src/emulator/cpu/stateLayout';
import { at, bootFlat, CODE_BASE, createMachine, nasm, read32, SEL, setGate, type TestMachine } from './harness';

const H1 = 0x400;
const H2 = H1 + 0x80;
/** H1: exceptions with an error code; H2: without (stores 0). Both record error code, EIP and CS. */
const FAULT_HANDLER = `
  ${at(H1)}
  pop eax
  jmp record
  ${at(H2)}
  xor eax, eax
  record:
  mov [0x3000], eax
  mov eax, [esp]
  mov [0x3008], eax
  mov eax, [esp + 4]
  mov [0x300c], eax
  cli
  hlt`;

/** Run `source` in ring 0 with every vector 0..31 routed to a handler that records EIP/error code. */
function run(source: string, setup?: (m: TestMachine) => void): TestMachine & { reason: string } {
  const m = createMachine();
  bootFlat(m, nasm(`${source}\n${FAULT_HANDLER}`));
  for (let v = 0; v < 32; v++) setGate(m.ram, v, CODE_BASE + (v === 8 || (v >= 10 && v <= 14) || v === 17 ? H1 : H2));
  setup?.(m);
  return { ...m, reason: m.cpu.run(20000) };
}

describe('cpu system and control instructions', () => {
  it('DIV by zero and IDIV overflow raise #DE at the faulting instruction', () => {
    const m = run(`
      mov eax, 10
      xor edx, edx
      xor ecx, ecx
    fault:
      div ecx
      hlt`, (mm) => setGate(mm.ram, 0, CODE_BASE + 0x300));
    void m;
    const m2 = createMachine();
    bootFlat(m2, nasm(`
      mov eax, 0x80000000
      mov edx, -1
      mov ecx, -1
      idiv ecx
      hlt
      ${at(0x300)}
      mov eax, [esp]
      mov [0x3010], eax
      cli
      hlt`));
    setGate(m2.ram, 0, CODE_BASE + 0x300);
    assert.equal(m2.cpu.run(100), 'halt');
    assert.equal(read32(m2.ram, 0x3010), CODE_BASE + 15, '#DE is a fault: EIP of IDIV');
  });

  it('DIV/IDIV/MUL produce quotient, remainder and the high half', () => {
    const m = run(`
      mov eax, 1000001
      xor edx, edx
      mov ecx, 7
      div ecx
      mov [0x3100], eax
      mov [0x3104], edx
      mov eax, -1000001
      cdq
      idiv ecx
      mov [0x3108], eax
      mov [0x310c], edx
      mov eax, 0xffffffff
      mov ecx, 0xffffffff
      mul ecx
      mov [0x3110], eax
      mov [0x3114], edx
      mov ax, 1000
      mov cl, 7
      div cl
      mov [0x3118], eax
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3100), 142857);
    assert.equal(read32(m.ram, 0x3104), 2);
    assert.equal(read32(m.ram, 0x3108) | 0, -142857);
    assert.equal(read32(m.ram, 0x310c) | 0, -2);
    assert.equal(read32(m.ram, 0x3110), 1);
    assert.equal(read32(m.ram, 0x3114), 0xfffffffe);
    assert.equal(read32(m.ram, 0x3118) & 0xffff, (1000 % 7) << 8 | Math.floor(1000 / 7));
  });

  it('ENTER with nesting, LEAVE, LOOP, LOOPE and JECXZ', () => {
    const m = run(`
      mov ebp, 0x8800
      enter 16, 2
      mov [0x3100], ebp
      mov [0x3104], esp
      leave
      mov [0x3108], ebp
      mov [0x310c], esp
      mov ecx, 5
      xor eax, eax
    l1: add eax, 2
      loop l1
      mov [0x3110], eax
      mov ecx, 5
      xor ebx, ebx
    l2: inc ebx
      cmp ebx, 3
      loopne l2
      mov [0x3114], ecx
      xor ecx, ecx
      jecxz over
      mov dword [0x3118], 1
    over:
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3100), 0x9000 - 4);
    assert.equal(read32(m.ram, 0x3104), 0x9000 - 4 - 8 - 16, 'saved EBP, one outer frame pointer, the new frame pointer, 16 bytes');
    assert.equal(read32(m.ram, 0x3108), 0x8800);
    assert.equal(read32(m.ram, 0x310c), 0x9000);
    assert.equal(read32(m.ram, 0x3110), 10);
    assert.equal(read32(m.ram, 0x3114), 2);
    assert.equal(read32(m.ram, 0x3118), 0);
  });

  it('far JMP, far CALL and RETF through GDT code segments; a far JMP to a data segment is #GP(selector)', () => {
    const m = run(`
      jmp ${SEL.conforming}:next
    next:
      mov eax, cs
      mov [0x3100], eax
      call ${SEL.code0}:farproc
      mov [0x3104], eax
      jmp ${SEL.data0}:0
    farproc:
      mov eax, 0x1234
      retf`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3100) & 0xffff, SEL.conforming);
    assert.equal(read32(m.ram, 0x3104), 0x1234);
    assert.equal(read32(m.ram, 0x3000), SEL.data0);
  });

  it('SGDT/SIDT/SLDT/STR/SMSW reveal state at CPL 3 (sensitive, unprivileged); LMSW cannot clear PE', () => {
    const m = run(`
      mov eax, cr0
      and eax, ~0x10000
      mov cr0, eax
      lmsw ax
      mov ax, ${SEL.data3}
      mov ds, ax
      push dword ${SEL.data3}
      push dword 0x5000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    user:
      sgdt [0x3100]
      sidt [0x3108]
      str ax
      mov [0x3110], ax
      smsw ebx
      mov [0x3114], ebx
      ${at(0x300)}
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(m.ram[0x3100]! | (m.ram[0x3101]! << 8), 12 * 8 - 1);
    assert.equal(read32(m.ram, 0x3102), 0x800);
    assert.equal(read32(m.ram, 0x310a), 0x1000);
    assert.equal(m.ram[0x3110], SEL.tss);
    assert.equal(read32(m.ram, 0x3114) & 1, 1);
    assert.equal(read32(m.ram, 0x3008), CODE_BASE + 0x300, 'HLT at CPL 3 is #GP(0) at the HLT');
    assert.equal(read32(m.ram, 0x300c), SEL.code3);
    assert.equal(read32(m.ram, 0x3000), 0);
  });

  it('LAR, LSL, VERR, VERW and ARPL', () => {
    const m = run(`
      mov ecx, ${SEL.code3}
      lar eax, ecx
      mov [0x3100], eax
      setz [0x3104]
      lsl ebx, ecx
      mov [0x3108], ebx
      mov dx, ${SEL.readOnlyData0}
      verr dx
      setz [0x310c]
      verw dx
      setz [0x310d]
      mov dx, 0x7ff8
      lar eax, edx
      setz [0x310e]
      mov ax, 0x10
      mov bx, 0x13
      arpl ax, bx
      mov [0x3110], eax
      setz [0x3114]
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3100), 0x00c0fa00, 'LAR masks with 00F0FF00 (limit bits 19:16 cleared, as QEMU)');
    assert.equal(m.ram[0x3104], 1);
    assert.equal(read32(m.ram, 0x3108), 0xffffffff);
    assert.deepEqual([...m.ram.subarray(0x310c, 0x310f)], [1, 0, 0]);
    assert.equal(read32(m.ram, 0x3110) & 0xffff, 0x13);
    assert.equal(m.ram[0x3114], 1);
  });

  it('CPUID reports GenuineIntel, family 6, PSE/TSC/MSR/SEP/PGE/CMOV, and VMX only with hardware assist', () => {
    for (const vmx of [false, true]) {
      const m = createMachine(4 << 20, vmx);
      bootFlat(m, nasm(`
        xor eax, eax
        cpuid
        mov [0x3100], ebx
        mov [0x3104], edx
        mov [0x3108], ecx
        mov eax, 1
        cpuid
        mov [0x3110], eax
        mov [0x3114], ecx
        mov [0x3118], edx
        cli
        hlt`));
      assert.equal(m.cpu.run(100), 'halt');
      assert.equal(Buffer.from(m.ram.subarray(0x3100, 0x310c)).toString('latin1'), 'GenuineIntel');
      assert.equal((read32(m.ram, 0x3110) >> 8) & 0xf, 6);
      assert.equal(read32(m.ram, 0x3118) & 0xa838, 0xa838);
      assert.equal((read32(m.ram, 0x3114) >> 5) & 1, vmx ? 1 : 0);
    }
  });

  it('RDTSC counts retired instructions; WRMSR to the TSC sets it; SYSENTER MSRs round-trip; unknown MSRs #GP', () => {
    const m = run(`
      rdtsc
      mov [0x3100], eax
      nop
      nop
      rdtsc
      mov [0x3104], eax
      mov ecx, 0x10
      mov eax, 1000000
      xor edx, edx
      wrmsr
      rdtsc
      mov [0x3108], eax
      mov ecx, 0x175
      mov eax, 0xdeadbeef
      wrmsr
      xor eax, eax
      rdmsr
      mov [0x310c], eax
      mov ecx, 0x12345
      rdmsr`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3104) - read32(m.ram, 0x3100), 4, 'mov, nop, nop, rdtsc');
    assert.equal(read32(m.ram, 0x3108), 1000000 + 1, 'the TSC advanced by the WRMSR itself');
    assert.equal(read32(m.ram, 0x310c), 0xdeadbeef);
    assert.equal(read32(m.ram, 0x3000), 0);
  });

  it('SYSENTER enters flat ring 0 from ring 3 and SYSEXIT returns', () => {
    const m = run(`
      mov ecx, 0x174
      mov eax, ${SEL.code0}
      xor edx, edx
      wrmsr
      mov ecx, 0x175
      mov eax, 0x7800
      wrmsr
      mov ecx, 0x176
      mov eax, kernel
      wrmsr
      mov ax, ${SEL.data3}
      mov ds, ax
      push dword ${SEL.data3}
      push dword 0x5000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    user:
      mov ecx, esp
      mov edx, back
      sysenter
    back:
      mov [0x3104], esp
      mov eax, cs
      mov [0x3108], eax
      int3
    kernel:
      mov [0x3100], esp
      sysexit`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3100), 0x7800);
    assert.equal(read32(m.ram, 0x3104), 0x5000);
    assert.equal(read32(m.ram, 0x3108) & 0xffff, (SEL.code0 + 16) | 3);
  });

  it('VMX instructions are #UD without CR4.VMXE; CR4.VMXE itself is #GP without hardware assist', () => {
    const m = run('vmxoff');
    assert.equal(read32(m.ram, 0x3008), CODE_BASE);
    assert.equal(m.cpu.s[CR + 4], 0);
    const m2 = run(`
      mov eax, cr4
      or eax, 0x2000
      mov cr4, eax`);
    assert.equal(read32(m2.ram, 0x3000), 0);
    assert.equal(read32(m2.ram, 0x3008), CODE_BASE + 8, "#GP at the MOV to CR4");
  });

  it('privileged instructions at CPL 3 are #GP(0) and the VMM hook can intercept them', () => {
    const m = createMachine();
    bootFlat(m, nasm(`
      mov ax, ${SEL.data3}
      mov ds, ax
      push dword ${SEL.data3}
      push dword 0x5000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    ${at(0x100)}
    user:
      mov eax, cr0`));
    const events: [string, number][] = [];
    m.cpu.eventHook = (kind, code) => {
      events.push([kind, code]);
      return true;
    };
    assert.equal(m.cpu.run(100), 'exit');
    assert.deepEqual(events, [['exception', 13]]);
    assert.equal(m.cpu.s[CPL], 3);
    assert.equal(m.cpu.s[EIP], CODE_BASE + 0x100, 'stopped at the faulting instruction');
  });

  it('the debug loop stops at execution breakpoints and resumes over them', () => {
    const m = createMachine();
    bootFlat(m, nasm(`
      mov ecx, 100
    l: inc eax
      dec ecx
      jnz l
      cli
      hlt`));
    for (let i = 0; i < 9; i++) m.cpu.setBreakpoint(0x500000 + i * 16);
    m.cpu.setBreakpoint(CODE_BASE + 6); // dec ecx
    let hits = 0;
    let reason = '';
    for (;;) {
      reason = m.cpu.runDebug(100000);
      if (reason !== 'breakpoint') break;
      assert.equal(m.cpu.s[EIP], CODE_BASE + 6);
      hits++;
    }
    assert.equal(reason, 'halt');
    assert.equal(hits, 100);
    assert.equal(m.cpu.s[0], 100);
  });

  it('compiled blocks and the interpreter give identical results (faults mid-block included)', () => {
    const source = `
      mov ecx, 3000
      mov esi, 0x40000
    l:
      add eax, ecx
      xor ebx, eax
      lea edx, [eax + ebx*2 + 3]
      mov [esi + ecx*4], edx
      mov ebx, [esi + ecx*4 + 8]
      push ebx
      push eax
      pop edi
      pop ebp
      sub edx, 7
      adc edi, edx
      inc ebp
      cmp ecx, 1500
      jne skip
      mov dword [0x3200], 1
    skip:
      dec ecx
      jnz l
      mov eax, [0x7ffffff0]
      cli
      hlt`;
    const results = [true, false].map((jit) => {
      const m = createMachine(1 << 20);
      const cpu = new Cpu({ memory: { ram: m.ram, isMmio: (a) => a >= m.ram.length, mmioRead: () => -1, mmioWrite: () => undefined }, ports: m.ports, interrupts: m.interrupts, jit });
      const mm = { ...m, cpu };
      bootFlat(mm, nasm(`${source}\n${FAULT_HANDLER}`));
      setGate(m.ram, 13, CODE_BASE + H1);
      assert.equal(cpu.run(1000000), 'halt');
      return [Array.from(cpu.s), cpu.retired, Array.from(m.ram.subarray(0x40000, 0x43000))];
    });
    assert.deepEqual(results[0], results[1]);
  });
});


describe('cpu watchpoints', () => {
  it('a write watchpoint stops the debug loop after the writing instruction; the fast loop ignores it', () => {
    const program = nasm(`
      mov ecx, 50
    l: mov [0x3100], ecx
      mov eax, [0x3200]
      dec ecx
      jnz l
      cli
      hlt`);
    const m = createMachine();
    bootFlat(m, program);
    m.cpu.setWatchpoint(0x3102, 1, 'write');
    m.cpu.setWatchpoint(0x3200, 4, 'read');
    m.cpu.clearWatchpoint(0x3200, 4);
    assert.equal(m.cpu.runDebug(1000), 'watchpoint');
    assert.deepEqual(m.cpu.lastWatchpoint, { address: 0x3102, write: true });
    assert.equal(m.cpu.s[EIP], CODE_BASE + 11, 'stopped after the MOV (a trap)');
    assert.equal(read32(m.ram, 0x3100), 50);
    assert.equal(m.cpu.runDebug(1000), 'watchpoint');
    assert.equal(read32(m.ram, 0x3100), 49);
    assert.equal(m.cpu.run(10000), 'halt');
  });
});

describe('cpu single-step trap', () => {
  it('EFLAGS.TF raises #DB after each instruction (DR6.BS), not inside the handler', () => {
    const m = createMachine();
    bootFlat(m, nasm(`
      pushfd
      or dword [esp], 0x100
      popfd            ; TF takes effect for the next instruction
      mov eax, 1
      mov eax, 2
      pushfd
      and dword [esp], ~0x100
      popfd
      mov eax, 3
      cli
      hlt
      ${at(0x200)}
      inc dword [0x3100]   ; count traps
      iretd`));
    setGate(m.ram, 1, CODE_BASE + 0x200);
    assert.equal(m.cpu.run(1000), 'halt');
    // Traps after: mov 1, mov 2, pushfd, and, popf (TF was set when POPF began) = 5.
    assert.equal(read32(m.ram, 0x3100), 5);
    assert.equal(m.cpu.s[0], 3);
    assert.equal(m.cpu.s[DR + 6]! & 0x4000, 0x4000, 'DR6.BS');
  });
});

describe('cpu time stamp counter with a virtual clock', () => {
  it('RDTSC reads the machine clock when one is given (never the host clock)', () => {
    const machine = createMachine();
    let cycles = 123456789;
    const cpu = new Cpu({ memory: { ram: machine.ram, isMmio: (a) => a >= machine.ram.length, mmioRead: () => -1, mmioWrite: () => undefined },
      ports: machine.ports, interrupts: machine.interrupts, clock: { now: () => cycles } });
    bootFlat({ ...machine, cpu }, nasm('rdtsc\nmov [0x3100], eax\nmov [0x3104], edx\nrdtsc\ncli\nhlt'));
    assert.equal(cpu.run(2), 'budget');
    assert.equal(read32(machine.ram, 0x3100), 123456789);
    cycles = 2 ** 33 + 5;
    assert.equal(cpu.run(100), 'halt');
    assert.equal(cpu.s[0]! >>> 0, 5);
    assert.equal(cpu.s[2], 2);
  });
});
