; echo.asm - an interactive guest: it reads lines typed on COM1 and answers each one in upper case, so a
; student can talk to a bare-metal kernel from the HyperStep serial terminal (launch attribute
; "serialTerminal": true) or from QEMU:
;     nasm -f bin -o echo.bin samples/hello/echo.asm
;     qemu-system-i386 -kernel echo.bin -display none -serial stdio -monitor none \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04
; Without a terminal, launch.json's "serialInput" feeds it the same bytes ("hello\rbye\r").
;
; What a student should observe:
;  * Receiving is polled like sending: LSR bit 0 (data ready, 16550A datasheet, line status register) says a
;    byte waits in the receive buffer (RBR, port 0x3F8 read). Every poll is an IN: under trap-and-emulate each
;    one is a trap into the VMM, and the VMM activity view fills with I/O exits while the guest waits for you.
;  * A terminal sends Enter as CR (0x0D); the guest echoes what it receives and ends each answer with CR LF.
;  * Typing "bye" ends the run through port 0xF4 (exit status (0x10 << 1) | 1 = 33).
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

LSR_DATA_READY  equ 0x01
LINE_MAX        equ 64

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    mov esi, msg_prompt
    call puts
.next_line:
    xor ecx, ecx                        ; ECX = bytes in the line so far
.next_byte:
    call getc
    cmp al, 13                          ; CR: the line is complete
    je .answer
    cmp al, 10                          ; a bare LF ends a line too (QEMU -serial stdio sends LF)
    je .answer
    call putc                           ; echo it, as a terminal in raw mode expects
    cmp ecx, LINE_MAX
    jae .next_byte                      ; line full: echo but drop
    mov [line + ecx], al
    inc ecx
    jmp .next_byte
.answer:
    mov esi, msg_newline
    call puts
    cmp ecx, 3                          ; "bye" (any case) ends the run
    jne .upper
    mov eax, [line]
    and eax, 0x00DFDFDF                 ; upper-case the three letters (clears bit 5)
    cmp eax, 'BYE'
    je .bye
.upper:
    xor edx, edx
.upper_byte:
    cmp edx, ecx
    jae .answered
    mov al, [line + edx]
    cmp al, 'a'
    jb .emit
    cmp al, 'z'
    ja .emit
    sub al, 'a' - 'A'
.emit:
    call putc
    inc edx
    jmp .upper_byte
.answered:
    mov esi, msg_newline
    call puts
    mov esi, msg_prompt
    call puts
    jmp .next_line
.bye:
    mov esi, msg_bye
    call puts
    EXIT_QEMU EXIT_SUCCESS

; getc: AL = the next byte received on COM1 (waits, polling the line status register).
getc:
    push edx
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_DATA_READY
    jz .wait
    mov dx, COM1                        ; RBR: the received byte (DLAB = 0)
    in al, dx
    pop edx
    ret

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
msg_prompt:  db "echo> ", 0
msg_newline: db 13, 10, 0
msg_bye:     db "bye", 13, 10, 0
msg_fault:   db "echo: unexpected exception", 13, 10, 0

    section .bss
line:        resb LINE_MAX

MULTIBOOT_END
