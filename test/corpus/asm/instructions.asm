; A spread of instruction forms and addressing modes, edge immediates (imm8 sign extension at -128/127
; and 128), accumulator short forms, segment overrides, prefixes, size keywords and strict.
; formats: bin elf32
bits 32
section .text
    mov eax, 1
    mov eax, -1
    mov al, 0xff
    mov ax, 0x1234
    mov [ebx], eax
    mov ecx, [esi+edi*4+0x10]
    mov edx, [ebp-4]
    mov edx, [ebp]
    mov edx, [esp]
    mov edx, [esp+8]
    mov edx, [eax*4]
    mov edx, [eax*2]
    mov edx, [nosplit eax*2]
    mov edx, [eax*3]
    mov edx, [eax*5+7]
    mov edx, [ebx+eax*1]
    mov edx, [eax+ebx]
    mov edx, [0x1234]
    mov eax, [0x1234]
    mov [0x1234], al
    mov edx, [byte ebx+1]
    mov edx, [dword ebx+1]
    mov byte [ebx], 1
    mov word [ebx], 1
    mov dword [ebx], 1
    mov dword [es:ebx], 1
    mov eax, [fs:0]
    mov eax, gs:[ebx]
    add eax, 127
    add eax, 128
    add eax, -128
    add eax, -129
    add ebx, 127
    add ebx, 128
    add al, 1
    add ax, 1
    add ax, 300
    add byte [eax], 1
    add word [eax], 1000
    add dword [eax], 1000
    add dword [eax], strict dword 1
    push 1
    push 1000
    push -1
    push strict dword 1
    push word 1
    push eax
    push dword [eax]
    push es
    pop ds
    pop dword [ebx+4]
    imul eax, ebx, 10
    imul eax, ebx, 1000
    imul eax, 10
    shl eax, 1
    shl eax, 4
    shl eax, cl
    rol byte [ebx], 1
    test al, 1
    test eax, 0x100
    test [ebx], ecx
    xchg eax, ecx
    xchg ecx, eax
    xchg ebx, ecx
    lea esi, [esi+ecx*8-1]
    movzx eax, byte [ebx]
    movsx eax, word [ebx]
    movzx eax, al
    in al, dx
    in al, 0x60
    out 0x3f8, al
    out dx, eax
    rep movsb
    rep stosd
    repne scasb
    lock add [eax], ecx
    cli
    sti
    hlt
    int 0x80
    int3
    lgdt [gdt_ptr]
    lidt [gdt_ptr]
    mov cr0, eax
    mov eax, cr3
    jmp 0x08:next
next:
    call far [gdt_ptr]
    cpuid
    rdtsc
    ret
    ret 8
    retf
    mov eax, 0xFFFFFFFF
    mov eax, 4294967295
    mov eax, -2147483648
    and eax, 0xFFFFFF00
    or eax, 0x80000000
    cmp eax, 0xFFFFFFFF
bits 16
    mov ax, 1
    mov eax, 1
    mov [bx+si], ax
    mov ax, [bp+di+4]
    mov ax, [si]
    mov ax, [bp]
    push word 1
    jmp next16
next16:
bits 32
section .data
gdt_ptr: dw 0, 0, 0
