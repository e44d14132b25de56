; A two-section Multiboot kernel whose code and data reference each other across sections and through
; globals (relocations against section symbols), linked with link.ld in the test.
; formats: elf32
bits 32
global _start, counter
section .multiboot
align 4
    dd 0x1BADB002, 0, -0x1BADB002
section .text
_start:
    mov esp, stack_top
    inc dword [counter]
    mov eax, [table + 4]
    call eax
    jmp near done
helper:
    mov ebx, message
    ret
done:
    hlt
    jmp done
section .data
counter: dd 0
table: dd _start, helper, done
message: db 'linked', 0
section .bss
stack: resb 1024
stack_top:
