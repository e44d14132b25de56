; triple.asm - a triple fault: with an empty IDT (limit 0), INT3 cannot be delivered (#GP), nor can that
; #GP (#DF), nor the #DF: the processor shuts down (SDM Vol. 3A 6.15, interrupt 8). QEMU -no-reboot then
; exits with status 0 and logs "Triple fault"; HyperStep reports a shutdown.
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call serial_init
    mov esi, s_msg
    call puts
    lidt [empty_idt]
    int3
    mov esi, s_survived
    call puts
    mov al, 1
    jmp exit_qemu
%include "lib.inc"
section .data
empty_idt: dw 0
           dd 0
s_msg:      db "about to triple fault", 10, 0
s_survived: db "still alive?", 10, 0
section .bss
    resb 4096
stack_top:
