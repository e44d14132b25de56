; compute.asm - reverse-debugging benchmark guest: an ALU loop that also stores into a 256 KiB table (64
; pages dirtied between checkpoints), ITER iterations of 7 instructions, then `marker` (the benchmark's
; breakpoint, ~10.5 M instructions in with the default ITER), then it exits through port 0xF4.
bits 32
org 0x100000
%ifndef ITER
%define ITER 1500000
%endif
hdr: dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003), hdr, hdr, end, bss_end, start
start:
    mov esp, stack_top
    xor eax, eax
    xor edx, edx
    mov ecx, ITER
body:
    add eax, ecx
    xor edx, eax
    mov esi, ecx
    and esi, 0xFFFF
    mov [table + esi*4], edx
    dec ecx
    jnz body
marker:
    nop
    mov al, 0
    out 0xF4, al
    hlt
end:
section .bss follows=.text
alignb 4096
table: resd 0x10000
resb 4096
stack_top:
bss_end:
