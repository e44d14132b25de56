// The system snippets work together as real protected-mode code: a kernel composed only of them (Multiboot
// skeleton + GDT entries + IDT gate + ISR stub + ring-3 IRET) drops to ring 3, executes CLI there, takes the
// #GP(0) that makes trap-and-emulate possible (Intel SDM Vol. 3A 6.15 "#GP"; CLI at CPL > IOPL) and reports it.
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandSnippet } from './snippet-expander';
import { bootInQemu, buildKernel, snippetBody } from './tools';

const gdtEntry = (base: string, limit: string, access: string, flags: string) =>
  expandSnippet(snippetBody('gdt-entry'), { '1': base, '2': limit, '3': access, '4': flags });

/** What the user types into the tabstops of the skeleton's `$0`: the ring-0 set-up, then the drop to ring 3. */
function kernelBody(): string {
  return [
    'lgdt [gdtr]',
    '    jmp 0x08:.reload_cs',
    '.reload_cs:',
    '    mov ax, 0x10',
    '    mov ds, ax',
    '    mov es, ax',
    '    mov ss, ax',
    '    mov eax, tss                          ; TSS base into its descriptor (not a link-time constant in ELF)',
    '    mov [gdt_tss + 2], ax',
    '    shr eax, 16',
    '    mov [gdt_tss + 4], al',
    '    mov [gdt_tss + 7], ah',
    '    mov dword [tss + 4], stack_top        ; ESP0',
    '    mov dword [tss + 8], 0x10             ; SS0',
    '    mov word [tss + 102], 104             ; I/O map base past the limit: no I/O bitmap',
    '    mov ax, 0x28',
    '    ltr ax',
    expandSnippet(snippetBody('idt-gate'), { '1': '13', '2': 'isr_gp', '5': 'idt' }),
    '    lidt [idtr]',
    // IF stays clear in ring 3: the PIC is not programmed, so a timer IRQ would hit an empty gate.
    expandSnippet(snippetBody('ring3-iret'), { '1': 'user_main', '3': 'user_stack_top', '4': '0' }),
    'user_main:',
    '    cli                                   ; CPL 3 > IOPL 0: #GP(0)',
    '    jmp user_main',
    '',
    expandSnippet(snippetBody('isr-stub'), { '1': 'isr_gp', '2': '13', '4': 'exception_handler' }),
    'exception_handler:                        ; [esp+4] vector; the faulting CS is 52 bytes above it',
    '    mov eax, [esp + 4]',
    '    mov ebx, [esp + 56]',
    '    cmp eax, 13',
    '    jne .unexpected',
    '    and ebx, 3',
    '    cmp ebx, 3',
    '    jne .unexpected',
    '    mov esi, gp_message',
    '.print:',
    '    mov al, [esi]',
    '    test al, al',
    '    jz .report',
    '    mov dx, 0x3F8',
    '    out dx, al',
    '    inc esi',
    '    jmp .print',
    '.report:',
    '    mov al, 0x11                          ; QEMU exit status 35',
    '    jmp .leave',
    '.unexpected:',
    '    mov al, 0x12',
    '.leave:',
    '    mov dx, 0xF4',
    '    out dx, al',
    '    hlt',
    '',
    'section .data',
    'gp_message: db "#GP from ring 3", 10, 0',
    'align 8',
    'gdt:',
    '    dq 0',
    gdtEntry('0', '0xFFFFF', '0x9A', '0xC'), // 0x08 kernel code
    gdtEntry('0', '0xFFFFF', '0x92', '0xC'), // 0x10 kernel data
    gdtEntry('0', '0xFFFFF', '0xFA', '0xC'), // 0x18 user code (DPL 3)
    gdtEntry('0', '0xFFFFF', '0xF2', '0xC'), // 0x20 user data (DPL 3)
    'gdt_tss:',
    gdtEntry('0', '103', '0x89', '0x0'), // 0x28 available 32-bit TSS, base patched at run time
    'gdt_end:',
    'gdtr: dw gdt_end - gdt - 1',
    '    dd gdt',
    'idtr: dw 256 * 8 - 1',
    '    dd idt',
    '',
    'section .bss',
    'alignb 8',
    'idt: resb 256 * 8',
    'tss: resb 104',
    'alignb 16',
    '    resb 4096',
    'user_stack_top:',
    'section .text',
  ].join('\n');
}

describe('snippets composed into a kernel', () => {
  it('boots, enters ring 3 through the IRET snippet and takes #GP on cli through the IDT gate and ISR stub', function () {
    this.timeout(60000);
    const dir = mkdtempSync(join(tmpdir(), 'hyperstep-snippet-kernel-'));
    try {
      const source = expandSnippet(snippetBody('multiboot-kernel'), { '0': kernelBody() });
      const { serial, status } = bootInQemu(buildKernel(dir, source));
      assert.equal(serial, 'Hello from a Multiboot kernel\n#GP from ring 3\n');
      assert.equal(status, 35, 'exit value 0x11: the handler saw vector 13 with a ring-3 CS');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
