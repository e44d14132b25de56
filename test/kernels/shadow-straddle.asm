; shadow-straddle.asm - one misaligned store that straddles two guest page-table pages (the last PTE of one
; table and the first of the next). Bare metal does it like any store; a shadow-paging VMM that lets a traced
; write run with one page unprotected at a time must open a window on both tables. The store remaps 0x3FF000
; and 0x400000; the kernel checks where writes through them land. Exit status 0 (QEMU: 1).
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov edi, ptables                    ; two adjacent tables: 0-4 MiB and 4-8 MiB, identity
    mov eax, 0x003
    mov ecx, 2048
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov eax, ptables
    or eax, 3
    mov [pdir], eax
    add eax, 0x1000
    mov [pdir + 4], eax
    mov eax, pdir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov eax, [0x400000]                 ; use both tables
    mov eax, [0x3FF000]
    ; misaligned: the high half of the last PTE of table 1 (0x3FF000 -> frame 0x50F000) and the low half of
    ; the first PTE of table 2 (0x400000 -> frame 0x405000)
    mov dword [ptables + 4094], 0x50030050
    invlpg [0x3FF000]
    invlpg [0x400000]
    mov dword [0x400000], 0x1111
    mov dword [0x3FF000], 0x2222
    mov eax, [0x405000]
    call puthex
    mov eax, [0x50F000]
    call puthex
    call newline
    mov esi, s_done
    call puts
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
%include "sys.inc"
section .data
s_done: db "straddled", 10, 0
section .bss
alignb 4096
pdir:    resb 4096
ptables: resb 8192
    resb 4096
stack_top:
