; A minimal Multiboot v1 kernel (the shape of every HyperStep guest): header in its own section, stack
; in .bss, far jump to reload CS, prints over COM1 and halts. Linked with /work/shared/bench/link.ld.
; formats: bin elf32
bits 32
MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00000003
COM1        equ 0x3F8

section .multiboot
align 4
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

section .text
global _start
_start:
    mov esp, stack_top
    lgdt [gdt_desc]
    jmp 0x08:.reload
.reload:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esi, hello
.next:
    lodsb
    test al, al
    jz .halt
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20
    jz .wait
    mov al, [esi - 1]
    mov dx, COM1
    out dx, al
    jmp .next
.halt:
    mov dx, 0xf4
    xor eax, eax
    out dx, al
    cli
.forever:
    hlt
    jmp .forever

section .data
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF
    dq 0x00CF92000000FFFF
gdt_end:
gdt_desc:
    dw gdt_end - gdt - 1
    dd gdt
hello: db 'Hello from HyperStep', 13, 10, 0

section .bss
alignb 16
stack: resb 4096
stack_top:
