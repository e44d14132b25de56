; SYNTAX TEST "source.asm.nasm.hyperstep" "virtualization classes: privileged, I/O, sensitive, VMX, hypercall, plain"

; privileged: #GP(0) at CPL > 0, so a deprivileged guest kernel traps into the VMM
    cli
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sti
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    hlt
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lgdt [gdtr]
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lidt [idtr]
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lldt ax
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    ltr ax
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lmsw ax
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    clts
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    invlpg [eax]
;   ^^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    invd
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    wbinvd
;   ^^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    rdmsr
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    wrmsr
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    iretd
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    iret
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sysexit
;   ^^^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    CLI
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    Hlt
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; MOV to or from a control or debug register is privileged; other MOVs are not
    mov cr0, eax
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;       ^^^ variable.other.register.control.hyperstep-nasm
    mov eax, cr3
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;            ^^^ variable.other.register.control.hyperstep-nasm
    mov cr4, ebx
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;       ^^^ variable.other.register.control.hyperstep-nasm
    mov dr7, eax
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;       ^^^ variable.other.register.debug.hyperstep-nasm
    mov eax, dr6
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;            ^^^ variable.other.register.debug.hyperstep-nasm
    mov eax, ebx
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    mov eax, [cr0_shadow]
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
; I/O: IOPL and the TSS I/O permission bitmap decide
    in al, dx
;   ^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    out 0xF4, al
;   ^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    out dx, ax
;   ^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insb
;   ^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insw
;   ^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insd
;   ^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsb
;   ^^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsw
;   ^^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsd
;   ^^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    rep outsb
;       ^^^^^ keyword.control.privileged.io.instruction.hyperstep-nasm
; sensitive but unprivileged (Robin & Irvine 2000): no trap, wrong answers under deprivileging
    popf
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    popfd
;   ^^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    pushf
;   ^^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    pushfd
;   ^^^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sgdt [save]
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sidt [save]
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sldt ax
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    smsw eax
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    str ax
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lar eax, ebx
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    lsl eax, ebx
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    verr ax
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    verw ax
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; VMX (Intel SDM Vol. 3C ch. 30)
    vmcall
;   ^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmlaunch
;   ^^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmresume
;   ^^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmxon [vmxon_region]
;   ^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmxoff
;   ^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmclear [vmcs]
;   ^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmptrld [vmcs]
;   ^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmptrst [vmcs]
;   ^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmread eax, ebx
;   ^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    vmwrite ebx, eax
;   ^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    invept eax, [desc]
;   ^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    invvpid eax, [desc]
;   ^^^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; the paravirtual hypercall: int 0x82 in any spelling of the vector; other vectors are plain
    int 0x82
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 82h
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 130
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 0q202
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 10000010b
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 0x82 ; console_io
;       ^^^^ meta.instruction.hypercall.hyperstep-nasm constant.numeric.integer.hexadecimal.hyperstep-nasm
    int 0x80
;   ^^^ keyword.other.instruction.hyperstep-nasm - constant.character.escape.hypercall.instruction.hyperstep-nasm
    int 3
;   ^^^ keyword.other.instruction.hyperstep-nasm - constant.character.escape.hypercall.instruction.hyperstep-nasm
    int 0x820
;   ^^^ keyword.other.instruction.hyperstep-nasm - constant.character.escape.hypercall.instruction.hyperstep-nasm
; plain, innocuous instructions
    mov eax, 1
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    add eax, ebx
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    jmp .done
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    call kmain
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    ret
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    push eax
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    cpuid
;   ^^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    rdtsc
;   ^^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    nop
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    lea esi, [msg]
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    sysenter
;   ^^^^^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
