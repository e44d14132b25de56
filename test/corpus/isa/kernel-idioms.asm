; Hand-written corpus for the disassembler: idioms of a small protected-mode kernel and a VMM
; (labels, forward and backward branches, far transfers, strings, system and VMX instructions).
; Assembled by the real nasm in test/unit/disasm; ndisasm's text is the reference.
bits 32
start:
    cli
    lgdt [gdt_descriptor]
    mov eax, cr0
    or eax, 1
    mov cr0, eax
    jmp 0x08:flush
flush:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov esp, 0x9000
    lidt [idt_descriptor]
    mov ax, 0x28
    ltr ax
    sti
    call setup
    jmp short .spin
.spin:
    hlt
    jmp .spin
setup:
    push ebp
    mov ebp, esp
    sub esp, 16
    mov dword [ebp-4], 0
    mov ecx, [ebp+8]
    lea edi, [ebx+ecx*4+0x40]
    cld
    rep stosd
    mov esi, msg
    mov dx, 0x3f8
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    in al, 0x60
    pushfd
    pop eax
    sgdt [ebp-12]
    sidt [ebp-12]
    str ax
    sldt eax
    smsw eax
    lar eax, ebx
    lsl ecx, [esi]
    verr ax
    verw word [esi]
    mov eax, cs
    push cs
    int 0x80
    int3
    cpuid
    rdtsc
    rdmsr
    wrmsr
    invlpg [eax]
    vmxon [ebx]
    vmptrld [ebx+8]
    vmwrite eax, ebx
    vmread [esi+4], ecx
    vmlaunch
    vmresume
    vmcall
    invept eax, [edx]
    lock xadd [ecx], eax
    lock cmpxchg [edi+4], edx
    shld eax, edx, 4
    bts dword [eax], 7
    bsr ecx, [ebp-8]
    cmovnz eax, [ecx]
    setg byte [edi]
    imul esi, [eax+4], 1000
    movzx eax, word [esi+2]
    movsx edx, byte [esi]
    loop .done
    leave
    retf 4
    iretd
gdt_descriptor:
    nop
idt_descriptor:
    ret 8
msg:
    sysenter
    ud2
