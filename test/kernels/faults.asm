; faults.asm - #GP from a selector beyond the GDT limit (error code = the selector), #UD from UD2, #DE from
; DIV by zero, all recovered by handlers; then a double fault: the #GP gate is marked not present, so
; delivering #GP raises #NP(IDT vector 13, EXT) - contributory on contributory - and the CPU delivers #DF
; (SDM Vol. 3A 6.15 Table 6-5). The #DF handler reports and ends the run (exit value 0x08).
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, on_fault
    mov ebx, 13
    mov dl, 0x8E
    call set_gate
    mov ebx, 6
    mov eax, on_fault_noerr
    call set_gate
    mov ebx, 0
    call set_gate
    mov eax, on_df
    mov ebx, 8
    call set_gate
    mov dword [resume], .after_gp
    mov ax, 0x4B                        ; GDT limit is 0x2F: #GP(0x48)
    mov ds, ax
.after_gp:
    mov dword [resume], .after_ud
    ud2
.after_ud:
    mov dword [resume], .after_de
    xor edx, edx
    xor ecx, ecx
    mov eax, 7
    div ecx
.after_de:
    mov esi, s_df
    call puts
    and byte [idt + 13*8 + 5], 0x7F     ; #GP gate not present
    mov ax, 0x4B
    mov ds, ax                          ; #GP -> #NP while delivering -> #DF
    jmp $

on_fault_noerr:
    push dword 0
on_fault:                               ; stack: error, eip, cs, eflags
    mov ax, 0x10
    mov ds, ax
    mov esi, s_fault
    call puts
    mov eax, [esp]
    call puthex
    call newline
    add esp, 4
    mov eax, [resume]
    mov [esp], eax
    iretd

on_df:
    mov ax, 0x10
    mov ds, ax
    mov esi, s_dfh
    call puts
    mov eax, [esp]
    call puthex
    call newline
    mov al, 0x08
    jmp exit_qemu
%include "lib.inc"
%include "sys.inc"
section .data
s_fault: db "fault err ", 0
s_df:    db "now a double fault", 10, 0
s_dfh:   db "#DF err ", 0
section .bss
resume: resd 1
    resb 4096
stack_top:
