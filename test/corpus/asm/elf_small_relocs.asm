; 8- and 16-bit fields holding label-based values in elf32 become R_386_8 / R_386_16 relocations;
; nasm 2.16.01 gives no warning for them (api.test.ts checks that neither does HyperStep).
; formats: elf32
bits 32
extern ext
section .text
back:
    nop
    db back
    dw back
    db $
    dw ext + 2
    db fwd - 1
    mov al, back
    mov ax, fwd
    push word back
fwd:
    ret
section .data
    db back, fwd
    dw ext
