; pit.asm - timer interrupts: remaps the 8259A to 0x20/0x28, programs PIT channel 0 for 1 kHz (mode 2),
; and three times opens an interrupt window (STI; HLT; CLI) so exactly one IRQ0 is taken each time, however
; fast the host is. Also checks the IRR/ISR reads around EOI. Exit value 0.
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, irq0
    mov ebx, 0x20
    mov dl, 0x8E
    call set_gate
    mov al, 0x11
    out 0x20, al
    out 0xA0, al
    mov al, 0x20
    out 0x21, al
    mov al, 0x28
    out 0xA1, al
    mov al, 4
    out 0x21, al
    mov al, 2
    out 0xA1, al
    mov al, 1
    out 0x21, al
    out 0xA1, al
    mov al, 0xFE
    out 0x21, al
    mov al, 0xFF
    out 0xA1, al
    mov al, 0x34
    out 0x43, al
    mov ax, 1193
    out 0x40, al
    mov al, ah
    out 0x40, al
    mov ecx, 3
.window:
    sti
    hlt
    cli
    mov esi, s_tick
    call puts
    mov eax, [ticks]
    call puthex
    mov eax, [isr_seen]
    call puthex
    call newline
    loop .window
    mov al, 0
    jmp exit_qemu

irq0:
    push eax
    and dword [esp + 12], ~0x200        ; return with IF=0: exactly one interrupt per window, even when the
                                        ; host is so slow that the next period already ended (QEMU's timers
                                        ; follow the host clock)
    inc dword [ticks]
    mov al, 0x0B                        ; OCW3: read ISR
    out 0x20, al
    in al, 0x20
    movzx eax, al
    mov [isr_seen], eax                 ; IRQ0 in service: 1
    mov al, 0x20
    out 0x20, al                        ; EOI
    pop eax
    iretd
%include "lib.inc"
%include "sys.inc"
section .data
s_tick: db "tick ", 0
section .bss
ticks:    resd 1
isr_seen: resd 1
    resb 4096
stack_top:
