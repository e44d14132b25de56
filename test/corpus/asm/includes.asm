; %include relative to the including file, nested, and through -I include paths.
; formats: bin elf32
; nasm-args: -Itest/corpus/asm/ -Itest/corpus/asm/inc/
; (nasm resolves %include against the working directory and -I paths; HyperStep also tries the
; including file's own directory first, so both find the same files.)
bits 32
%include "inc/defs.inc"
%include "shared.inc"
section .text
    mov eax, DEF_VALUE
    mov ebx, NESTED_VALUE
    mov ecx, SHARED_VALUE
    put_byte 0x42
