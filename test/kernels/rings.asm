; rings.asm - privilege levels: int3 at ring 0 through a DPL 3 gate, then IRET to ring 3, system calls
; with INT 0x80 (a DPL 3 trap gate; the CPU switches to the TSS's ring 0 stack), and a CLI at ring 3
; that faults #GP(0) because CPL > IOPL. The exception log must show the same vectors and CPLs as QEMU.
bits 32
%include "hdr.inc"
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, syscall
    mov ebx, 0x80
    mov dl, 0xEF                        ; present, DPL 3, 32-bit trap gate
    call set_gate
    mov eax, on_bp
    mov ebx, 3
    mov dl, 0xEE
    call set_gate
    int3
    mov esi, s_ring0
    call puts
    push dword 0x23                     ; SS
    push dword ustack_top               ; ESP
    push dword 0x202                    ; EFLAGS: IF=1, IOPL=0
    push dword 0x1B                     ; CS
    push dword user
    iretd

user:
    mov ax, 0x23
    mov ds, ax
    mov es, ax
    mov eax, 1                          ; write(ebx)
    mov ebx, s_user
    int 0x80
    mov eax, 3                          ; getcpl -> eax
    int 0x80
    add al, '0'
    mov [s_cpl + 5], al
    mov eax, 1
    mov ebx, s_cpl
    int 0x80
    cli                                 ; #GP(0): CPL 3 > IOPL 0
    jmp $

syscall:                                ; eax = number; runs at CPL 0 on the TSS stack
    push ds
    push esi
    mov si, 0x10
    mov ds, si
    cmp eax, 1
    jne .not_write
    mov esi, ebx
    call puts
    jmp .done
.not_write:
    cmp eax, 3
    jne .done
    mov eax, [esp + 12]                 ; the caller's CS
    and eax, 3
.done:
    pop esi
    pop ds
    iretd

on_bp:
    push esi
    mov esi, s_bp
    call puts
    pop esi
    iretd
%include "lib.inc"
%include "sys.inc"
section .data
s_bp:    db "breakpoint at ring 0", 10, 0
s_ring0: db "to ring 3", 10, 0
s_user:  db "hello from ring 3", 10, 0
s_cpl:   db "cpl: ?", 10, 0
section .bss
    resb 4096
stack_top:
