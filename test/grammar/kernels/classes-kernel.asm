; classes-kernel.asm - a Multiboot v1 kernel exercising every virtualization class the grammar colours.
; test/unit/grammar.test.ts tokenizes it line by line: a trailing `; [class]` tag names the class the line's
; mnemonic must be scoped with; instruction lines without a tag must be plain. It also assembles with nasm.
bits 32
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0
COM1 equ 0x3F8

section .multiboot
align 4
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

section .text
global _start
_start:
    cli                         ; [io]
    mov esp, stack_top
    cpuid                       ; [vmx]
    jmp 0x08:.reload_cs         ; [sensitive]
.reload_cs:
    mov ax, 0x10
    mov ds, ax                  ; [sensitive]
    push ds                     ; [sensitive]
    pop es                      ; [sensitive]
    lgdt [gdtr]                 ; [privileged]
    lidt [idtr]                 ; [privileged]
    mov eax, cr0                ; [privileged]
    or eax, 1
    mov cr0, eax                ; [privileged]
    mov eax, dr7                ; [privileged]
    invlpg [stack_top]          ; [privileged]
    wbinvd                      ; [privileged]
    pushfd                      ; [sensitive]
    popfd                       ; [sensitive]
    sgdt [saved_gdtr]           ; [sensitive]
    sidt [saved_idtr]           ; [sensitive]
    sldt ax                     ; [sensitive]
    str ax                      ; [sensitive]
    smsw eax                    ; [sensitive]
    mov esi, message
.print:
    lodsb
    test al, al
    jz .done
    mov dx, COM1
    out dx, al                  ; [io]
    jmp .print
.done:
    in al, dx                   ; [io]
    cmp byte [hypervisor_present], 0
    je .exit
    mov eax, 1
    int 0x82                    ; [hypercall]
    vmcall                      ; [vmx]
.exit:
    mov dx, 0xF4
    mov al, 0x10
    out dx, al                  ; [io]
    hlt                         ; [privileged]

section .data
message: db "classes-kernel", 10, 0
hypervisor_present: db 0
gdtr: dw 0
    dd 0
idtr: dw 0
    dd 0

section .bss
saved_gdtr: resb 6
saved_idtr: resb 6
alignb 16
    resb 4096
stack_top:
