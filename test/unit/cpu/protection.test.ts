// Protection tests: IOPL rules for CLI/POPF, ring 3 → 0 and ring 1 → 0 interrupt gates with the TSS stack
// switch and IRET back, the I/O permission bitmap, segment checks, #DF and triple fault → 'shutdown',
// the STI shadow and HLT. Handlers sit at fixed offsets (see `at`) so gates can point at them.
import { strict as assert } from 'node:assert';
import { CPL, EFLAGS, GDTR_LIMIT, IDTR_LIMIT, SEG_SELECTOR, Seg } from '../../../src/emulator/cpu/stateLayout';
import { at, bootFlat, CODE_BASE, createMachine, nasm, read32, SEL, setGate } from './harness';

const H1 = 0x400; // first handler offset
const H2 = 0x500;

/** Code that drops from ring 0 to `ring` (3 or 1) at label `user` with stack top `stack`. */
function toRing(ring: 1 | 3, stack = 0x5000, eflags = 0x002): string {
  const [cs, ss] = ring === 3 ? [SEL.code3, SEL.data3] : [SEL.code1, SEL.data1];
  return `
    mov ax, ${ss}
    mov ds, ax
    mov es, ax
    push dword ${ss}
    push dword ${stack}
    push dword ${eflags}
    push dword ${cs}
    push dword user
    iretd`;
}

/** A handler at CODE_BASE + offset that stores the error code, vector and faulting CS at 0x3000. */
function faultHandler(offset: number, vector: number, hasErrorCode: boolean): string {
  return `
    ${at(offset)}
    mov ebx, ${SEL.data0}
    mov ds, bx
    ${hasErrorCode ? 'pop eax' : 'xor eax, eax'}
    mov [0x3000], eax
    mov dword [0x3004], ${vector}
    mov ecx, [esp + 4]
    mov [0x3008], ecx
    cli
    hlt`;
}

function boot(source: string) {
  const machine = createMachine();
  bootFlat(machine, nasm(source));
  return machine;
}

describe('cpu protection', () => {
  it('CLI at CPL 3 with IOPL 0 raises #GP(0), delivered to ring 0 with a stack switch', () => {
    const m = boot(`${toRing(3)}
    user:
      cli
      jmp $
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3004), 13);
    assert.equal(read32(m.ram, 0x3000), 0);
    assert.equal(read32(m.ram, 0x3008), SEL.code3);
    assert.equal(m.cpu.cpl, 0);
    // The ring-0 stack came from TSS.ESP0 = 0x7000: EIP CS EFLAGS ESP SS remain (error code popped).
    assert.equal(m.cpu.s[4], 0x7000 - 20);
    assert.equal(read32(m.ram, 0x7000 - 4), SEL.data3);
    assert.equal(read32(m.ram, 0x7000 - 8), 0x5000);
  });

  it('POPF at CPL 3 silently keeps IF and IOPL; at CPL 0 it changes them', () => {
    const m = boot(`
      push dword 0x3202 ; IF=1, IOPL=3
      popfd
      pushfd
      pop dword [0x3100]
      push dword 0x0002
      popfd
      ${toRing(3, 0x5000, 0x0002)}
    user:
      push dword 0x3202
      popfd
      pushfd
      pop dword [0x3104]
      int3
    ${faultHandler(H1, 11, true)}`);
    setGate(m.ram, 11, CODE_BASE + H1);
    setGate(m.ram, 3, CODE_BASE + H2, { dpl: 3 });
    m.ram[0x1000 + 3 * 8 + 5] &= 0x7f; // vector 3 gate not present → #NP(3*8+2)
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3100) & 0x3200, 0x3200, 'ring 0 may set IF and IOPL');
    assert.equal(read32(m.ram, 0x3104) & 0x3200, 0, 'ring 3 with IOPL 0 may not (silently)');
    assert.equal(read32(m.ram, 0x3004), 11);
    assert.equal(read32(m.ram, 0x3000), 3 * 8 + 2, '#NP error code names the IDT entry (IDT bit set)');
  });

  it('INT from ring 3 through a DPL-3 interrupt gate switches stacks, and IRET returns to ring 3', () => {
    const m = boot(`${toRing(3)}
    user:
      mov esi, esp
      int 0x80
      mov [0x3200], esi
      mov [0x3204], edi
      mov [0x3208], esp
      int 0x81
      ${at(H2)}
      mov edi, esp
      mov eax, [esp + 4]
      mov [0x3300], eax
      mov eax, [esp + 16]
      mov [0x3304], eax
      iretd
    ${faultHandler(H1, 0x81, false)}`.replace(`${faultHandler(H1, 0x81, false)}`, '') + faultHandlerAfter(0x600));
    setGate(m.ram, 0x80, CODE_BASE + H2, { dpl: 3 });
    setGate(m.ram, 0x81, CODE_BASE + 0x600, { dpl: 3 });
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3300), SEL.code3);
    assert.equal(read32(m.ram, 0x3304), SEL.data3);
    assert.equal(read32(m.ram, 0x3204), 0x7000 - 20, 'handler ran on the TSS ring-0 stack');
    assert.equal(read32(m.ram, 0x3200), 0x5000);
    assert.equal(read32(m.ram, 0x3208), 0x5000, 'IRET restored the ring-3 stack');
    assert.equal(read32(m.ram, 0x3004), 0x81);
  });

  it('a ring-1 kernel gets ring-0 service through the TSS and returns to ring 1', () => {
    const m = boot(`${toRing(1, 0x5800)}
    user:
      int 0x80
      mov [0x3200], esp
      mov eax, cs
      mov [0x3204], eax
      int 0x81
      ${at(H2)}
      mov [0x3300], esp
      iretd
      ${faultHandler(0x600, 0x81, false)}`);
    setGate(m.ram, 0x80, CODE_BASE + H2, { dpl: 1 });
    setGate(m.ram, 0x81, CODE_BASE + 0x600, { dpl: 1 });
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3300), 0x7000 - 20);
    assert.equal(read32(m.ram, 0x3200), 0x5800);
    assert.equal(read32(m.ram, 0x3204) & 0xffff, SEL.code1);
  });

  it('INT n through a gate with DPL < CPL is #GP(vector*8+2)', () => {
    const m = boot(`${toRing(3)}
    user:
      int 0x40
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 0x40, CODE_BASE, { dpl: 0 });
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3004), 13);
    assert.equal(read32(m.ram, 0x3000), 0x40 * 8 + 2);
  });

  it('IN/OUT at CPL 3 consult the TSS I/O permission bitmap', () => {
    const m = boot(`${toRing(3)}
    user:
      mov dx, 0x3f8
      mov al, 0x41
      out dx, al
      mov dx, 0x3f9
      out dx, al
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    m.ram[0x1800 + 0x68 + (0x3f8 >> 3)] = 0xfe; // allow port 0x3F8 only
    assert.equal(m.cpu.run(1000), 'halt');
    assert.deepEqual(m.ports.writes, [[0x3f8, 1, 0x41]]);
    assert.equal(read32(m.ram, 0x3004), 13);
  });

  it('loading SS with a DPL-3 selector at CPL 0 is #GP(selector); a null DS loads without a fault', () => {
    const m = boot(`
      xor eax, eax
      mov ds, ax
      mov ax, ${SEL.data3}
      mov ss, ax
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3000), SEL.data3 & 0xfffc);
    assert.equal(m.cpu.s[SEG_SELECTOR + Seg.SS], SEL.data0);
  });

  it('a write through a read-only data segment is #GP(0); expand-down segments accept offsets above the limit', () => {
    const m = boot(`
      mov ax, ${SEL.dataExpandDown0}
      mov es, ax
      mov dword [es:0x2000], 1
      mov ax, ${SEL.readOnlyData0}
      mov es, ax
      mov eax, [es:0x2000]
      mov [es:0x2000], eax
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x2000), 1);
    assert.equal(read32(m.ram, 0x3004), 13);
    assert.equal(read32(m.ram, 0x3000), 0);
  });

  it('an expand-down segment faults at offsets up to its limit', () => {
    const m = boot(`
      mov ax, ${SEL.dataExpandDown0}
      mov es, ax
      mov dword [es:0x800], 1
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3004), 13);
    assert.equal(read32(m.ram, 0x800), 0);
  });

  it('a fault with no deliverable handler becomes #DF, then a triple fault: stop reason shutdown', () => {
    const m = boot('ud2');
    m.cpu.s[IDTR_LIMIT] = 7; // only vector 0 fits: #UD → #GP → #DF → #GP → shutdown
    assert.equal(m.cpu.run(1000), 'shutdown');
    assert.equal(m.cpu.run(1000), 'shutdown', 'shutdown persists');
  });

  it('#DF is delivered (error code 0) when delivering #GP itself faults', () => {
    const m = boot(`
      mov ax, 0x1234
      mov ds, ax
    ${faultHandler(H1, 8, true)}`);
    setGate(m.ram, 13, CODE_BASE, { selector: 0x78 }); // selector beyond the GDT: #GP during delivery
    setGate(m.ram, 8, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3004), 8);
    assert.equal(read32(m.ram, 0x3000), 0);
  });

  it('STI shadows interrupts for one instruction and HLT waits for one', () => {
    const m = boot(`
      mov dword [0x3500], 0
      sti
      mov dword [0x3500], 1
      hlt
      mov dword [0x3504], 2
      hlt
      ${at(H1)}
      mov eax, [0x3500]
      mov [0x3508], eax
      iretd`);
    setGate(m.ram, 0x20, CODE_BASE + H1);
    m.interrupts.queue.push(0x20);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3508), 1, 'the instruction after STI ran before the interrupt');
    assert.equal(read32(m.ram, 0x3504), 0, 'halted again after the handler');
    assert.equal(m.cpu.run(1000), 'halt', 'HLT keeps waiting without an interrupt');
    assert.equal(m.cpu.s[EFLAGS]! & 0x200, 0x200);
    m.interrupts.queue.push(0x20);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3504), 2);
    assert.equal(m.cpu.s[CPL], 0);
  });
});

function faultHandlerAfter(offset: number): string {
  return faultHandler(offset, 0x81, false);
}

describe('cpu protection: returns, gates and descriptor tables', () => {
  it('RETF to ring 3 loads SS:ESP from the stack and nulls DS when its DPL < CPL', () => {
    const m = boot(`
      push dword ${SEL.data3}
      push dword 0x5000
      push dword ${SEL.code3}
      push dword user
      retf
    user:
      mov eax, cs
      mov ebx, ss
      mov ecx, ds
      mov esi, esp
      int3
      ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 3, CODE_BASE + H2, { dpl: 3 });
    m.ram.set(nasm('cli\nhlt', CODE_BASE + H2), CODE_BASE + H2);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(m.cpu.s[0]! & 0xffff, SEL.code3);
    assert.equal(m.cpu.s[3]! & 0xffff, SEL.data3);
    assert.equal(m.cpu.s[1]! & 0xffff, 0, 'DS (ring-0 data) was nulled on the return to ring 3');
    assert.equal(m.cpu.s[6], 0x5000);
  });

  it('a JMP to a conforming ring-0 segment from ring 3 keeps CPL 3', () => {
    const m = boot(`${toRing(3)}
    user:
      jmp ${SEL.conforming | 3}:next
    next:
      mov eax, cs
      int3`);
    setGate(m.ram, 3, CODE_BASE + H2, { dpl: 3 });
    m.ram.set(nasm('cli\nhlt', CODE_BASE + H2), CODE_BASE + H2);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(m.cpu.s[0]! & 0xffff, SEL.conforming | 3);
  });

  it('a far JMP from ring 3 to a non-conforming ring-0 segment is #GP(selector)', () => {
    const m = boot(`${toRing(3)}
    user:
      jmp ${SEL.code0}:0
    ${faultHandler(H1, 13, true)}`);
    setGate(m.ram, 13, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3000), SEL.code0);
  });

  it('LLDT makes LDT selectors usable; a not-present segment is #NP(selector)', () => {
    const m = boot(`
      mov ax, 0x60
      lldt ax
      mov ax, 0x04 | 0   ; LDT entry 0: data, DPL 0, base 0x100000
      mov ds, ax
      mov eax, [0x10]
      mov [ss:0x3100], eax
      mov ax, 0x0c       ; LDT entry 1: not present
      mov es, ax
    ${faultHandler(H1, 11, true)}`);
    // GDT entry 12 (0x60): LDT descriptor at 0x2800, limit 15; LDT: [0] data at 0x100000, [1] not present.
    const gdtEntry = 0x800 + 12 * 8;
    m.ram.set([0x0f, 0x00, 0x00, 0x28, 0x00, 0x82, 0x00, 0x00], gdtEntry);
    m.cpu.s[GDTR_LIMIT] = 13 * 8 - 1;
    m.ram.set([0xff, 0xff, 0x00, 0x00, 0x10, 0x92, 0xcf, 0x00], 0x2800);
    m.ram.set([0xff, 0xff, 0x00, 0x00, 0x10, 0x12, 0xcf, 0x00], 0x2808);
    m.ram.set([0xef, 0xbe, 0xad, 0xde], 0x100010);
    setGate(m.ram, 11, CODE_BASE + H1);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3100), 0xdeadbeef);
    assert.equal(read32(m.ram, 0x3004), 11);
    assert.equal(read32(m.ram, 0x3000), 0x0c);
  });

  it('a trap gate keeps IF, an interrupt gate clears it', () => {
    const m = boot(`
      sti
      int 0x40
      int 0x41
      cli
      hlt
      ${at(H1)}
      pushfd
      pop dword [0x3100]
      iretd
      ${at(H2)}
      pushfd
      pop dword [0x3104]
      iretd`);
    setGate(m.ram, 0x40, CODE_BASE + H1, { trap: true });
    setGate(m.ram, 0x41, CODE_BASE + H2);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3100) & 0x200, 0x200);
    assert.equal(read32(m.ram, 0x3104) & 0x200, 0);
  });

  it('an external interrupt whose gate is not present faults with the EXT bit set', () => {
    const m = boot(`
      sti
      nop
      nop
      cli
      hlt
    ${faultHandler(H1, 11, true)}`);
    setGate(m.ram, 0x20, CODE_BASE);
    m.ram[0x1000 + 0x20 * 8 + 5] &= 0x7f;
    setGate(m.ram, 11, CODE_BASE + H1);
    m.interrupts.queue.push(0x20);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3000), 0x20 * 8 + 2 + 1);
  });
});

