// Issue 5 gaps closed in trap-and-emulate, each with a small NASM guest (real nasm + ld, Multiboot): string I/O
// (rep outsb / rep insb / outsb) emulated with the SDM's I/O qualification; LMSW on the virtual CR0; LLDT with
// LDT descriptors shadowed for the real CPU; and hardware task switches (far JMP to a TSS, a task gate in the
// IDT) stopped with a clear message instead of misbehaving. Guest-visible results are compared with the same
// guest run natively on HyperStep.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPcMachine } from '../../../src/emulator/machine/pc';
import { defaultRecipe } from '../../../src/emulator/machine/recipe';
import { CostModel } from '../../../src/emulator/vmm/costModel';
import { decodeIo } from '../../../src/emulator/vmm/exitQualification';
import { NativeEngine } from '../../../src/emulator/vmm/native/engine';
import { TrapAndEmulateEngine } from '../../../src/emulator/vmm/trapAndEmulate/engine';
import { buildKernel, scratchDir } from './tools';

const dir = scratchDir('te-gaps');

function guest(name: string, body: string, data = ''): Uint8Array {
  const source = path.join(dir, `${name}.asm`);
  const lines = ['bits 32', '%include "multiboot.inc"', '%include "com1.inc"', 'MULTIBOOT_HEADER', '_start:', '    mov esp, stack_top', '    call com1_init', body,
    '    EXIT_QEMU EXIT_SUCCESS', 'COM1_ROUTINES', 'section .data', data, 'section .bss', 'alignb 16', '    resb 4096', 'stack_top:', 'MULTIBOOT_END', ''];
  writeFileSync(source, lines.join('\n'));
  return new Uint8Array(readFileSync(buildKernel(source, dir)));
}

function run(image: Uint8Array, technique: 'native' | 'trap-and-emulate') {
  const machine = createPcMachine(defaultRecipe({ memoryMiB: 16 }));
  let serial = '';
  machine.onSerialOutput((byte) => (serial += String.fromCharCode(byte)));
  const loaded = machine.boot(image, { kernelName: 'guest' });
  if ('error' in loaded) throw new Error(loaded.error);
  const costModel = new CostModel('p4-2006');
  const engine = technique === 'native' ? new NativeEngine(machine, costModel) : new TrapAndEmulateEngine(machine, { architecture: 'monolithic', costModel });
  const stop = engine.run(2_000_000);
  return { stop, serial, engine };
}

/** A GDT with flat ring-0 code/data, an LDT descriptor (0x18) and a TSS descriptor (0x20), loaded with CS reload. */
const TABLES_BODY = `
    mov eax, ldt
    mov [gdt + 0x18 + 2], ax
    shr eax, 16
    mov [gdt + 0x18 + 4], al
    mov [gdt + 0x18 + 7], ah
    mov eax, tss
    mov [gdt + 0x20 + 2], ax
    shr eax, 16
    mov [gdt + 0x20 + 4], al
    mov [gdt + 0x20 + 7], ah
    mov eax, data_area
    mov [ldt + 8 + 2], ax
    shr eax, 16
    mov [ldt + 8 + 4], al
    mov [ldt + 8 + 7], ah
    lgdt [gdt_desc]
    jmp 0x08:.reloaded
.reloaded:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax`;
const TABLES_DATA = `
align 8
gdt:  dq 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
      dq 0x0000820000000017             ; 0x18: LDT, limit 23 (3 descriptors), base patched
      dq 0x0000890000000067             ; 0x20: 32-bit TSS, base patched
gdt_end:
gdt_desc: dw gdt_end - gdt - 1
      dd gdt
ldt:  dq 0                              ; LDT entry 0 unused
      dq 0x0000920000000FFF             ; selector 0x0C: data, DPL 0, base = data_area (patched), limit 4 KiB
      dq 0
align 16
data_area: dd 0, 0x12345678, 0
tss:  times 104 db 0`;

describe('trap-and-emulate: issue-5 gaps', function () {
  this.timeout(120000);

  it('string I/O (rep outsb, rep insb, outsb) is emulated: same output as native, exit 30 with the string qualification', () => {
    const image = guest('string-io', `
    cld
    mov esi, message
    mov ecx, message_end - message
    mov dx, COM1
    rep outsb
    mov edi, buffer
    mov ecx, 4
    mov dx, COM1_LSR
    rep insb
    mov eax, [buffer]
    call puthex
    mov esi, bang
    mov dx, COM1
    outsb
    mov eax, ecx
    call puthex`, `message: db "string I/O works", 10
message_end:
bang: db "!"
buffer: dd 0`);
    const native = run(image, 'native');
    const vmm = run(image, 'trap-and-emulate');
    assert.match(native.serial, /^string I\/O works\n0x[0-9a-f]{8}!0x00000000$/);
    assert.equal(vmm.serial, native.serial);
    assert.deepEqual(vmm.stop, native.stop);
    const traps = vmm.engine.log.list().filter((t) => t.kind === 'trap' && /outsb|insb/.test(t.instruction?.text ?? ''));
    assert.deepEqual(traps.map((t) => t.instruction?.text), ['rep outsb', 'rep insb', 'outsb']);
    for (const t of traps) assert.equal(t.details['exitReason'], 30);
    const repOut = decodeIo(Number(traps[0]!.details['qualification']))!;
    assert.deepEqual([repOut.isString, repOut.isRep, repOut.isIn, repOut.port, repOut.size], [true, true, false, 0x3f8, 1]);
    const repIn = decodeIo(Number(traps[1]!.details['qualification']))!;
    assert.deepEqual([repIn.isString, repIn.isRep, repIn.isIn, repIn.port], [true, true, true, 0x3fd]);
    assert.equal(decodeIo(Number(traps[2]!.details['qualification']))!.isRep, false);
  });

  it('lmsw loads CR0 bits 3:0 of the virtual CPU and cannot clear PE (register and memory operands)', () => {
    const image = guest('lmsw', `
    mov ax, 0x000B
    lmsw ax
    mov eax, cr0
    call puthex
    clts
    mov eax, cr0
    call puthex
    lmsw [zero]
    mov eax, cr0
    call puthex`, 'zero: dw 0');
    const native = run(image, 'native');
    const vmm = run(image, 'trap-and-emulate');
    assert.equal(native.serial, '0x0000001b0x000000130x00000011');
    assert.equal(vmm.serial, native.serial);
    assert.equal(vmm.engine.virtualCpu()!.cr0 & 0xf, 1);
    assert.equal(vmm.engine.exitCounts().find((c) => c.reason === 28)?.count, 6, 'two lmsw, one clts and three mov from cr0: CR-access exits (reason 28)');
  });

  it('lldt: descriptors of the guest LDT are shadowed, so TI=1 selectors load and read the right memory', () => {
    const image = guest('ldt', `${TABLES_BODY}
    mov ax, 0x18
    lldt ax
    mov ax, 0x0C
    mov fs, ax
    mov eax, [fs:4]
    call puthex
    mov dword [fs:8], 0xCAFE
    mov eax, [data_area + 8]
    call puthex
    sldt ax
    movzx eax, ax
    call puthex`, TABLES_DATA);
    const native = run(image, 'native');
    const vmm = run(image, 'trap-and-emulate');
    assert.equal(native.serial, '0x123456780x0000cafe0x00000018');
    assert.equal(vmm.serial, native.serial);
    assert.equal(vmm.engine.virtualCpu()!.ldtr, 0x18);
  });

  it('a far jmp to a TSS stops with "hardware task switches are not virtualized", never misbehaves', () => {
    const image = guest('task-jmp', `${TABLES_BODY}
    jmp 0x20:0`, TABLES_DATA);
    const vmm = run(image, 'trap-and-emulate');
    assert.equal(vmm.stop.kind, 'stop');
    assert.match(vmm.stop.kind === 'stop' ? vmm.stop.message : '', /jmp 0x20:0x0 targets a TSS \(selector 0x20\): hardware task switches are not virtualized/);
  });

  it('a task gate in the guest IDT stops with the reason when the VMM would have to deliver through it', () => {
    const image = guest('task-gate', `${TABLES_BODY}
    mov word [idt + 0x40*8 + 2], 0x20   ; task gate: TSS selector
    mov byte [idt + 0x40*8 + 5], 0x85   ; present, DPL 0, type 5
    lidt [idt_desc]
    int 0x40`, `${TABLES_DATA}
align 8
idt: times 256 dq 0
idt_desc: dw 256*8 - 1
    dd idt`);
    const vmm = run(image, 'trap-and-emulate');
    assert.equal(vmm.stop.kind, 'stop');
    assert.match(vmm.stop.kind === 'stop' ? vmm.stop.message : '', /vector 64 is a task gate: hardware task switches are not virtualized/);
  });
});
