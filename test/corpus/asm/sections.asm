; -f bin section layout: org, .text then .data then .bss, named sections, section alignment raised by
; align, forward references across sections, $$ per section (NASM manual 8.1.3).
; formats: bin
org 0x7c00
section .data
d1: db 1, 2, 3
d_ptr: dd d1, t1, b1, o1
section .text
t1: mov ax, d1
    mov bx, b1
    mov cx, o1
    mov dx, t2 - $$
    jmp t2
    times 10 db 0x90
t2: dw $ - $$
section .bss
b1: resb 3
b2: resd 1
section .other
o1: db 5
    align 16
o2: db 6
section .data
d2: dw d2, $$
