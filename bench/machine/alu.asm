; alu.asm - HyperStep's compute-loop benchmark guest (flat Multiboot image, a.out kludge): the same
; 5-instruction ALU body as the peer kernels (add/xor/lea/dec/jnz), ITER iterations, then it prints the
; checksums on COM1 and exits through port 0xF4. ITER defaults to 20,000,000 (100 M instructions).
bits 32
org 0x100000
%ifndef ITER
%define ITER 20000000
%endif
hdr: dd 0x1BADB002, 0x00010003, -(0x1BADB002 + 0x00010003), hdr, hdr, end, end, start
start:
    xor eax, eax
    xor ebx, ebx
    xor edx, edx
    mov ecx, ITER
bench:
    add eax, ecx
    xor edx, eax
    lea ebx, [ebx + edx*2]
    dec ecx
    jnz bench
    mov esi, eax
    mov dx, 0x3F8
    mov ecx, 4
print:
    mov eax, esi
    out dx, al
    shr esi, 8
    loop print
    mov al, 0
    out 0xF4, al
    hlt
end:
