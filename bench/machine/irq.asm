; irq.asm - HyperStep's interrupt-heavy benchmark guest: the PIT fires every PERIOD input ticks (mode 2;
; PERIOD 20 ≈ one IRQ0 per 16,760 virtual cycles) while the ALU loop runs with interrupts enabled; each IRQ0
; runs a small handler (count, EOI, IRET). ITER iterations of 5 instructions, then exit through 0xF4 with
; the low byte of the interrupt count.
bits 32
org 0x100000
%ifndef ITER
%define ITER 20000000
%endif
%ifndef PERIOD
%define PERIOD 20
%endif
hdr: dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003), hdr, hdr, end, bss_end, start
start:
    mov esp, stack_top
    lgdt [gdtr]
    jmp 0x08:.cs
.cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, irq0
    mov [idt + 0x20*8], ax
    mov word [idt + 0x20*8 + 2], 0x08
    mov word [idt + 0x20*8 + 4], 0x8E00
    shr eax, 16
    mov [idt + 0x20*8 + 6], ax
    lidt [idtr]
    mov al, 0x11
    out 0x20, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x04
    out 0x21, al
    mov al, 0x01
    out 0x21, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0x34
    out 0x43, al
    mov al, PERIOD & 0xFF
    out 0x40, al
    mov al, PERIOD >> 8
    out 0x40, al
    xor eax, eax
    xor ebx, ebx
    xor edx, edx
    mov ecx, ITER
    sti
bench:
    add eax, ecx
    xor edx, eax
    lea ebx, [ebx + edx*2]
    dec ecx
    jnz bench
    cli
    mov eax, [ticks]
    out 0xF4, al
    hlt
irq0:
    inc dword [ticks]
    push eax
    mov al, 0x20
    out 0x20, al
    pop eax
    iretd
align 8
gdt: dq 0, 0x00CF9A000000FFFF, 0x00CF92000000FFFF
gdtr: dw 23
      dd gdt
idtr: dw 256*8 - 1
      dd idt
end:
section .bss follows=.text
alignb 4096                             ; data on its own page: writes next to code would invalidate the
idt: resb 256*8                         ; CPU's decoded blocks (self-modifying-code detection is per page)
ticks: resd 1
resb 4096
stack_top:
bss_end:
