; Labels: global, .local (attached to the last global), ..@ (never local), $-escaped names, labels
; without colons, equ (also of expressions and forward references), forward references everywhere.
; formats: bin elf32
bits 32
section .text
main:
    mov eax, .done
    jmp .done
.loop:
    dec ecx
    jnz .loop
.done:
    mov ebx, main.loop
    mov ecx, other.inner
    mov edx, forward_const
    mov esi, distance
other:
.inner: nop
..@special: nop
.after_special: nop             ; still local to `other`
    jmp ..@special
    mov eax, other.after_special
$mov: nop                       ; a label named like an instruction
    mov eax, $mov
lonely
    dd lonely
    db forward_const
forward_const equ 42
distance equ other - main
computed equ distance * 2 + forward_const
    dd computed, $ - main
