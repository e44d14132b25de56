; kludge.asm - a flat binary (nasm -f bin) Multiboot kernel using the a.out kludge (header flag bit 16):
; the header gives load_addr, load_end_addr, bss_end_addr and entry_addr, so no ELF is needed. It prints
; "kludge ok" on COM1 and exits through isa-debug-exit with value 0 (QEMU status 1).
bits 32
org 0x100000
section .text
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00010003
header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd header                           ; header_addr
    dd header                           ; load_addr
    dd image_end                        ; load_end_addr
    dd bss_end                          ; bss_end_addr
    dd start                            ; entry_addr
    align 32, db 0
start:
    mov esp, stack_top
    call serial_init
    mov esi, message
    call puts
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
message: db "kludge ok", 10, 0
image_end:
section .bss follows=.text nobits
    alignb 4
stack: resb 4096
stack_top:
bss_end:
