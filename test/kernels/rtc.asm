; rtc.asm - the slave 8259A and the CMOS RTC: remaps the PIC pair to 0x20/0x28, unmasks the cascade (IR2)
; and IRQ8 after enabling the RTC periodic interrupt (register B bit 6, rate 1024 Hz from register A), and opens
; three interrupt windows (STI; HLT; CLI). The handler reads register C (which acknowledges the RTC) and
; sends EOI to both chips. Prints the count and the C value each time. Exit value 0.
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, irq8
    mov ebx, 0x28
    mov dl, 0x8E
    call set_gate
    mov al, 0x8A                        ; register A (NMI disabled while programming)
    out 0x70, al
    mov al, 0x26                        ; 32.768 kHz time base, rate 6 = 1024 Hz
    out 0x71, al
    mov al, 0x8B
    out 0x70, al
    in al, 0x71
    or al, 0x40                         ; B.PIE
    mov ah, al
    mov al, 0x8B
    out 0x70, al
    mov al, ah
    out 0x71, al
    mov al, 0x0C
    out 0x70, al
    in al, 0x71                         ; clear stale flags
    ; Enabling PIE may raise IRQ8 at once if PF was already set (timing-dependent under QEMU): the read of C
    ; above released the line, and initialising the PICs now (ICW1) discards any edge they latched.
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
    mov al, 0xFB                        ; master: only the cascade (IR2)
    out 0x21, al
    mov al, 0xFE                        ; slave: only IRQ8
    out 0xA1, al
    mov ecx, 3
.window:
    sti
    hlt
    cli
    mov esi, s_rtc
    call puts
    mov eax, [count]
    call puthex
    mov eax, [last_c]
    call puthex
    call newline
    loop .window
    mov al, 0
    jmp exit_qemu

irq8:
    push eax
    and dword [esp + 12], ~0x200        ; return with IF=0: exactly one interrupt per window, even when the
                                        ; host is so slow that the next period already ended (QEMU's timers
                                        ; follow the host clock)
    inc dword [count]
    mov al, 0x0C
    out 0x70, al
    in al, 0x71
    movzx eax, al
    mov [last_c], eax
    mov al, 0x20
    out 0xA0, al                        ; EOI to the slave ...
    out 0x20, al                        ; ... and to the master (IR2)
    pop eax
    iretd
%include "lib.inc"
%include "sys.inc"
section .data
s_rtc: db "rtc ", 0
section .bss
count:  resd 1
last_c: resd 1
    resb 4096
stack_top:
