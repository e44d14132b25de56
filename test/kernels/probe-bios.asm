; probe-bios.asm - prints the device state QEMU's firmware leaves behind at Multiboot entry: PIC IMR/IRR/ISR
; of both chips, PIT channel 0 read-back status, UART LCR/IER/MCR/LSR/IIR, CMOS status registers A-D.
; HyperStep's machine reproduces this "after BIOS" state so that unmodified kernels behave the same.
bits 32
section .multiboot
align 4
    dd 0x1BADB002, 0x00000003, -(0x1BADB002 + 0x00000003)
section .text
global _start
_start:
    mov esp, stack_top
    ; read UART registers before serial_init changes them
    mov dx, 0x3FB
    in al, dx
    mov [uart + 0], al
    mov dx, 0x3F9
    in al, dx
    mov [uart + 1], al
    mov dx, 0x3FC
    in al, dx
    mov [uart + 2], al
    mov dx, 0x3FD
    in al, dx
    mov [uart + 3], al
    mov dx, 0x3FA
    in al, dx
    mov [uart + 4], al
    call serial_init
    mov esi, s_pic
    call puts
    xor eax, eax
    in al, 0x21
    call puthex
    in al, 0xA1
    call puthex
    mov al, 0x0A
    out 0x20, al
    in al, 0x20
    call puthex
    mov al, 0x0B
    out 0x20, al
    in al, 0x20
    call puthex
    mov al, 0x0A
    out 0xA0, al
    in al, 0xA0
    call puthex
    call newline
    mov esi, s_pit
    call puts
    mov al, 0xE2                        ; read-back status of counter 0
    out 0x43, al
    xor eax, eax
    in al, 0x40
    call puthex
    call newline
    mov esi, s_uart
    call puts
    mov eax, [uart]
    call puthex
    movzx eax, byte [uart + 4]
    call puthex
    call newline
    mov esi, s_cmos
    call puts
    mov ecx, 0x0A
.cmos:
    mov al, cl
    out 0x70, al
    in al, 0x71
    movzx eax, al
    call puthex
    inc ecx
    cmp ecx, 0x0E
    jb .cmos
    call newline
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
section .data
s_pic:  db "pic imr-m imr-s irr-m isr-m irr-s: ", 0
s_pit:  db "pit0 status: ", 0
s_uart: db "uart msr.lsr.mcr.ier.lcr iir: ", 0
s_cmos: db "cmos A B C D: ", 0
section .bss
uart: resb 8
    resb 4096
stack_top:
