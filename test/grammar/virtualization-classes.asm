; SYNTAX TEST "source.asm.nasm.hyperstep" "virtualization classes (from src/emulator/isa): privileged, I/O-sensitive, sensitive, VMX exits, hypercall, plain"

; privileged: #GP(0) at CPL > 0, so a deprivileged guest kernel traps into the VMM
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
    wbinvd
;   ^^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    rdmsr
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    wrmsr
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sysexit
;   ^^^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    rdpmc
;   ^^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    HLT
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    Lgdt [gdtr]
;   ^^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; MOV to or from a control or debug register is privileged; the register operand has its own scope
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
    MOV EAX, DR6
;   ^^^ keyword.control.privileged.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
;            ^^^ variable.other.register.debug.hyperstep-nasm
; I/O-sensitive: IOPL and the TSS I/O permission bitmap decide (CLI/STI compare CPL with IOPL)
    cli
;   ^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sti
;   ^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    in al, dx
;   ^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    in eax, 0x60
;   ^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    out 0xF4, al
;   ^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    out dx, ax
;   ^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insb
;   ^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insw
;   ^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    insd
;   ^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsb
;   ^^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsw
;   ^^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outsd
;   ^^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    outs dx, byte [esi]
;   ^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    rep outsb
;       ^^^^^ keyword.control.privileged.io-sensitive.instruction.hyperstep-nasm
; sensitive but unprivileged (Robin & Irvine 2000): no trap at CPL > 0, wrong answers under deprivileging
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
    iret
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    iretd
;   ^^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    retf
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int3
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    into
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    int 0x80
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    sysenter
;   ^^^^^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; ... and the sensitive forms of otherwise plain mnemonics
    mov ax, cs
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    mov ds, ax
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    mov eax, ss ; comment
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    mov word [saved], es
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    push cs
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    pop ds
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    push ss
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    jmp 0x08:.flush
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    call 0x08:far_entry
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    jmp far [far_pointer]
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    call dword far [far_pointer]
;   ^^^^ support.function.sensitive.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    mov eax, [es:edi]
;   ^^^ keyword.other.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    mov es, [saved_es]
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm
; VMX: VMX instructions and the others that exit unconditionally in VMX non-root operation (SDM 3C 26.1.2)
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
    cpuid
;   ^^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
    invd
;   ^^^^ support.type.vmx.instruction.hyperstep-nasm - keyword.other.instruction.hyperstep-nasm
; the paravirtual hypercall: int 0x82 in any spelling of the vector
    int 0x82
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    int 82h
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    int 130
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    int 0q202
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    int 10000010b
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm - support.function.sensitive.instruction.hyperstep-nasm
    int 0x82 ; console_io
;       ^^^^ meta.instruction.hypercall.hyperstep-nasm constant.numeric.integer.hexadecimal.hyperstep-nasm
    int 0x820
;   ^^^ support.function.sensitive.instruction.hyperstep-nasm - constant.character.escape.hypercall.instruction.hyperstep-nasm
; plain, innocuous instructions
    mov eax, 1
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    mov eax, ebx
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    mov eax, [cr0_shadow]
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    add eax, ebx
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    jmp .done
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    jmp short .done
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    call kmain
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    call [eax]
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    ret
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    push eax
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    pop ebx
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    push 5
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    rdtsc
;   ^^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    nop
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    lea esi, [msg]
;   ^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    xchg eax, ebx
;   ^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
    movzx eax, byte [esi]
;   ^^^^^ keyword.other.instruction.hyperstep-nasm - keyword.control.privileged.instruction.hyperstep-nasm
; hypercalls through samples/include/hypercall.inc: the vector's name and the calling macros
    int HYPERCALL_VECTOR
;   ^^^ constant.character.escape.hypercall.instruction.hyperstep-nasm
    HYPERVISOR_console_write msg, msg_len
;   ^^^^^^^^^^^^^^^^^^^^^^^^ constant.character.escape.hypercall.macro.hyperstep-nasm
go: HYPERCALL console_io, CONSOLEIO_write, msg_len, msg
;   ^^^^^^^^^ constant.character.escape.hypercall.macro.hyperstep-nasm
    mov eax, __HYPERVISOR_console_io
;            ^^^^^^^^^^^^^^^^^^^^^^^ - constant.character.escape.hypercall.macro.hyperstep-nasm
HYPERCALL_VECTOR equ 0x82
; <---------------- entity.name.label.global.hyperstep-nasm
%macro HYPERVISOR_yield 0
;      ^^^^^^^^^^^^^^^^ entity.name.macro.hyperstep-nasm
