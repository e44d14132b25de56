; ELF32 only: extern and global symbols, relocations R_386_32 and R_386_PC32 against sections and
; externs, cross-section references, symbol order in .symtab/.strtab (NASM manual 8.9).
; formats: elf32
extern ext_func, ext_data
global entry, shared_value
global late_global
section .text
entry:
    call ext_func
    call local_func
    mov eax, [ext_data]
    mov eax, [ext_data + 8]
    mov eax, shared_value
    lea ebx, [table + ecx*4]
    push dword message
    jmp near in_other
local_func:
    ret
late_global:
    dd ext_data, entry + 3, table
section .data
shared_value: dd 7
table: dd entry, local_func, late_global
message: db 'hello', 0
K equ 5
section .rodata
ro: dd message
section .bss
bss_buf: resd 16
section .other
in_other: jmp entry
    dw table
