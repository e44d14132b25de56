; TIMES (NASM manual 3.2.5): `$` is the start of the line in every repetition, while each copy of a
; relative branch is encoded from its own address; `times a times b` uses the last count; listings show
; one repetition and `<rep N>` (checked by times-vs-nasm.test.ts), reservations `<res N>`.
; formats: bin elf32
bits 32
section .text
start:
    times 3 nop
    times 3 jmp $
    times 2 jmp short $+2
here:
    times 2 mov eax, $ - start
    times 3 jmp here
    times 2 times 3 db 0xCC
    times 0 times 2 nop
    times 1 dd 5
    times 0 nop
    times 2 mov dword [eax+0x1000], 0x12345678
%macro pad 1
    times %1 db $ - start
%endmacro
    pad 4
    times 17 db 1

section .data
table:
    times 3 dd $ - table
    times 3 db "abcdefghijkl"
    times 2 dw 0x1234, 0x5678

section .bss
    times 2 resb 20
    times 5 resb 1
    times 4 resd 3
