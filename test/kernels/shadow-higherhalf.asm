; shadow-higherhalf.asm - a higher-half paging guest: the first 4 MiB are mapped both at 0 and at 0xC0000000,
; and the page directory maps itself in its last slot (the "recursive" page-table window at 0xFFC00000). The
; kernel jumps to its higher-half alias, writes data there and reads it back through the identity map, reads a
; PTE through the recursive window, edits a PTE through it (a page-table write through an alias) and checks the
; new mapping, returns to the identity alias and turns paging off again. Under a VMM with segment truncation this needs the VMM's own window above 0xFFC00000 + 4 MiB
; - 64 KiB, not at the top of RAM. Exit status 0 (QEMU: 1).
bits 32
%include "hdr.inc"
KERNEL_VIRT equ 0xC0000000
RECURSIVE   equ 0xFFC00000
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov edi, ptable
    mov eax, 0x003
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov eax, ptable
    or eax, 3
    mov [pdir], eax                            ; 0 - 4 MiB
    mov [pdir + (KERNEL_VIRT >> 22) * 4], eax  ; 0xC0000000 - 0xC03FFFFF
    mov eax, pdir
    or eax, 3
    mov [pdir + 1023 * 4], eax                 ; recursive slot
    mov eax, pdir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov eax, higher + KERNEL_VIRT
    jmp eax
higher:
    call .here
.here:
    pop eax                                    ; EIP in the higher half
    call puthex
    mov dword [value + KERNEL_VIRT], 0x600DF00D
    mov eax, [value]                           ; the same frame through the identity map
    call puthex
    mov eax, [RECURSIVE + (0x100000 >> 12) * 4] ; the PTE of 0x100000 through the recursive window
    call puthex
    call newline
    mov dword [RECURSIVE + (0x200000 >> 12) * 4], 0x300003   ; remap 0x200000 -> 0x300000 via the window
    invlpg [0x200000]
    mov dword [0x200000], 0xBEEF
    mov eax, [0x300000]
    call puthex
    mov eax, [ptable + (0x200000 >> 12) * 4]
    call puthex
    call newline
    mov eax, lower                             ; back to the identity alias, then paging off
    jmp eax
lower:
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    mov eax, [0x200000]                        ; physical again: untouched by the remapped write
    call puthex
    mov eax, [0x300000]
    call puthex
    call newline
    mov esi, s_done
    call puts
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
%include "sys.inc"
section .data
s_done: db "higher half ok", 10, 0
value:  dd 0
section .bss
alignb 4096
pdir:   resb 4096
ptable: resb 4096
    resb 4096
stack_top:
