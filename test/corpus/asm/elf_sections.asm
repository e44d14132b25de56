; ELF section attributes (NASM manual 8.9.2): progbits/nobits, alloc/noalloc, exec/noexec,
; write/nowrite, align=, and the defaults of well-known names.
; formats: elf32
section .text.boot exec align=32
    ret
section .mydata progbits alloc write align=16
    dd 1
section .myconst alloc noexec nowrite
    db 'k'
section .mybss nobits alloc write align=8
    resd 4
section .rodata
    dd 3
section .comment
    db 'note', 0
section .data
    dd 2
