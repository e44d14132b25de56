; serial.asm - COM1 output only: every printable ASCII character, a CRLF, and the UART scratch register
; round trip; then exit value 0 (QEMU status 1). Compares serial output byte for byte.
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call serial_init
    mov esi, s_hi
    call puts
    mov al, ' '
.ascii:
    call putc
    inc al
    cmp al, 0x7F
    jb .ascii
    mov al, 13
    call putc
    mov al, 10
    call putc
    mov dx, 0x3FF
    mov al, 0x5A
    out dx, al
    in al, dx
    movzx eax, al
    call puthex
    call newline
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
section .data
s_hi: db "serial kernel", 10, 0
section .bss
    resb 4096
stack_top:
