// Paging tests (SDM Vol. 3A chapter 4): #PF error codes and CR2, CR0.WP, U/S, 4 MiB pages (CR4.PSE),
// accessed/dirty bits, INVLPG and CR3-reload TLB flushes with global pages (CR4.PGE), and side-effect-free
// debugger access.
import { strict as assert } from 'node:assert';
import { CR } from '../../../src/emulator/cpu/stateLayout';
import { at, bootFlat, CODE_BASE, createMachine, nasm, read32, SEL, setGate, write32 } from './harness';

const PD = 0x20000;
const PT = 0x21000;
const H1 = 0x400;

/** Identity map 0..4 MiB with user/writable 4 KiB pages, plus special pages 0x50 (absent), 0x51 (ro, supervisor), 0x52 (ro, user). */
function buildTables(ram: Uint8Array): void {
  write32(ram, PD, PT | 0x7);
  for (let page = 0; page < 1024; page++) write32(ram, PT + page * 4, (page << 12) | 0x7);
  write32(ram, PT + 0x50 * 4, 0x50000); // not present
  write32(ram, PT + 0x51 * 4, 0x51000 | 0x1); // present, read-only, supervisor
  write32(ram, PT + 0x52 * 4, 0x52000 | 0x5); // present, read-only, user
  write32(ram, PD + 2 * 4, 0x00000000 | 0x87); // 0x800000: 4 MiB page → physical 0 (PS, U, W, P)
}

const ENABLE_PAGING = `
  mov eax, ${PD}
  mov cr3, eax
  mov eax, cr0
  or eax, 0x80000000
  mov cr0, eax`;

/** #PF handler: store error code, CR2, then halt. */
const PF_HANDLER = `
  ${at(H1)}
  mov ebx, ${SEL.data0}
  mov ds, bx
  pop eax
  mov [0x3000], eax
  mov eax, cr2
  mov [0x3004], eax
  cli
  hlt`;

function run(source: string, setup?: (ram: Uint8Array) => void) {
  const m = createMachine();
  bootFlat(m, nasm(`${source}\n${PF_HANDLER}`));
  buildTables(m.ram);
  setup?.(m.ram);
  setGate(m.ram, 14, CODE_BASE + H1);
  const reason = m.cpu.run(10000);
  return { ...m, reason };
}

describe('cpu paging', () => {
  it('a read of a not-present page is #PF with error code 0 and CR2 = the linear address', () => {
    const m = run(`${ENABLE_PAGING}
      mov eax, [0x50010]`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x3000), 0);
    assert.equal(read32(m.ram, 0x3004), 0x50010);
  });

  it('a supervisor write to a read-only page succeeds with CR0.WP = 0 and faults (code 3) with WP = 1', () => {
    const m = run(`${ENABLE_PAGING}
      mov dword [0x51000], 0x11
      mov eax, cr0
      or eax, 0x10000
      mov cr0, eax
      mov dword [0x51004], 0x22`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x51000), 0x11);
    assert.equal(read32(m.ram, 0x51004), 0);
    assert.equal(read32(m.ram, 0x3000), 3);
    assert.equal(read32(m.ram, 0x3004), 0x51004);
  });

  it('user accesses: write to a read-only user page is code 7, read of a supervisor page is code 5', () => {
    const write = run(`${ENABLE_PAGING}
      mov ax, ${SEL.data3}
      mov ds, ax
      push dword ${SEL.data3}
      push dword 0x5000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    user:
      mov eax, [0x52000]
      mov [0x52000], eax`);
    assert.equal(write.reason, 'halt');
    assert.equal(read32(write.ram, 0x3000), 7);
    assert.equal(read32(write.ram, 0x3004), 0x52000);
    const read = run(`${ENABLE_PAGING}
      mov ax, ${SEL.data3}
      mov ds, ax
      push dword ${SEL.data3}
      push dword 0x5000
      push dword 2
      push dword ${SEL.code3}
      push dword user
      iretd
    user:
      mov eax, [0x51000]`, (ram) => write32(ram, PT + 0x51 * 4, 0x51000 | 0x3));
    assert.equal(read32(read.ram, 0x3000), 5);
    assert.equal(read32(read.ram, 0x3004), 0x51000);
  });

  it('4 MiB pages map with CR4.PSE; without PSE the PDE is a page-table pointer', () => {
    const m = run(`
      mov eax, cr4
      or eax, 0x10
      mov cr4, eax
      ${ENABLE_PAGING}
      mov dword [0x803008], 0xabcd1234
      mov eax, [0x3008]
      mov [0x300c], eax
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, 0x300c), 0xabcd1234);
    assert.equal(read32(m.ram, PD + 8) & 0x60, 0x60, 'accessed and dirty set in the 4 MiB PDE');
  });

  it('sets accessed on reads and dirty on writes in the PTE', () => {
    const m = run(`${ENABLE_PAGING}
      mov eax, [0x60000]
      mov [0x61000], eax
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(read32(m.ram, PT + 0x60 * 4) & 0x60, 0x20);
    assert.equal(read32(m.ram, PT + 0x61 * 4) & 0x60, 0x60);
    assert.equal(read32(m.ram, PD) & 0x20, 0x20);
  });

  it('the TLB keeps a stale mapping until INVLPG, and CR3 reloads keep global pages only with PGE', () => {
    const m = run(`
      mov eax, cr4
      or eax, 0x80
      mov cr4, eax
      ${ENABLE_PAGING}
      mov dword [0x70000], 1
      mov dword [0x71000], 2
      mov dword [0x72000], 3
      mov eax, [0x70000]         ; cache 0x70000 → 0x70000 (global PTE)
      mov eax, [0x72000]         ; cache 0x72000 (not global)
      mov dword [${PT + 0x70 * 4}], 0x71000 | 0x107
      mov dword [${PT + 0x72 * 4}], 0x71000 | 0x7
      mov eax, [0x70000]
      mov [0x3100], eax          ; stale: 1
      invlpg [0x70000]
      mov eax, [0x70000]
      mov [0x3104], eax          ; fresh: 2
      mov dword [${PT + 0x70 * 4}], 0x72000 | 0x107
      mov eax, cr3
      mov cr3, eax
      mov eax, [0x70000]
      mov [0x3108], eax          ; global survives the CR3 reload: 2
      mov eax, [0x72000]
      mov [0x310c], eax          ; non-global flushed: 2 (now maps 0x71000)
      cli
      hlt`, (ram) => write32(ram, PT + 0x70 * 4, 0x70000 | 0x107));
    assert.equal(m.reason, 'halt');
    assert.deepEqual([0x3100, 0x3104, 0x3108, 0x310c].map((a) => read32(m.ram, a)), [1, 2, 2, 2]);
  });

  it('peekLinear/pokeLinear never fault and set no accessed bits', () => {
    const m = run(`${ENABLE_PAGING}
      cli
      hlt`);
    assert.equal(m.reason, 'halt');
    assert.equal(m.cpu.peekLinear(0x50000), undefined);
    assert.equal(m.cpu.pokeLinear(0x50000, 1), false);
    const before = read32(m.ram, PT + 0x66 * 4);
    assert.equal(m.cpu.pokeLinear(0x66000, 0x5a), true);
    assert.equal(m.cpu.peekLinear(0x66000), 0x5a);
    assert.equal(read32(m.ram, PT + 0x66 * 4), before);
    assert.equal(m.cpu.s[CR + 2], 0);
  });

  it('self-modifying code: a write to a page holding decoded code is seen by the next execution', () => {
    const m = createMachine();
    bootFlat(m, nasm(`
      mov ecx, 2
    again:
      mov eax, 1
      mov byte [again + 1], 7   ; patch the immediate of "mov eax, 1"
      dec ecx
      jnz again
      cli
      hlt`));
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(m.cpu.s[0], 7);
  });
});

describe('cpu decoded-code cache and paging', () => {
  it('an instruction straddling two pages sees a remapped second page', () => {
    const m = createMachine();
    bootFlat(m, nasm(`${ENABLE_PAGING}
      call 0x10ffe
      mov [0x3100], eax
      mov dword [${PT + 0x11 * 4}], 0x12000 | 7
      invlpg [0x11000]
      call 0x10ffe
      mov [0x3104], eax
      cli
      hlt`));
    buildTables(m.ram);
    m.ram.set([0xb8, 0x11], 0x10ffe); // mov eax, imm32 (first immediate byte on page 0x10)
    m.ram.set([0x22, 0x33, 0x44, 0xc3], 0x11000); // rest of the immediate, ret
    m.ram.set([0x55, 0x66, 0x77, 0xc3], 0x12000);
    assert.equal(m.cpu.run(1000), 'halt');
    assert.equal(read32(m.ram, 0x3100), 0x44332211);
    assert.equal(read32(m.ram, 0x3104), 0x77665511);
  });

  it('self-modifying code inside a hot (compiled) loop takes effect on the next iteration', () => {
    const m = createMachine();
    bootFlat(m, nasm(`
      mov ecx, 40
      xor ebx, ebx
    again:
      mov eax, 1
      add ebx, eax
      cmp ecx, 20
      jne same
      mov byte [again + 1], 3   ; patch the immediate of "mov eax, 1" while the loop is compiled
    same:
      dec ecx
      jnz again
      cli
      hlt`));
    assert.equal(m.cpu.run(10000), 'halt');
    assert.equal(m.cpu.s[3], 21 * 1 + 19 * 3);
  });
});
