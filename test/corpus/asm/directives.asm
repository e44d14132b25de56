; Directive spellings and attributes: segment, [bracket] forms, use16/use32, cpu, default, section
; attributes (elf), incbin with offset/length, %assign arithmetic, align with a fill instruction.
; formats: bin elf32
; nasm-args: -Itest/corpus/asm/
cpu 686
[bits 32]
segment .text
start:
    nop
    align 8, db 0xcc
    align 4
[section .data]
blob:  incbin "inc/blob.bin"
part:  incbin "inc/blob.bin", 3
slice: incbin "inc/blob.bin", 3, 2
%assign N 3
%assign N N * N + 1
    db N
use16
    dw $ - blob
use32
section .text
    ret
