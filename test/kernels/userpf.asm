; userpf.asm - paging protection at ring 3: identity-maps 0-4 MiB with user pages (U/S=1) except one
; supervisor-only page, enters ring 3 with IRET, reads the supervisor page (#PF, error 5: present, user,
; read), and after the handler makes it user-accessible but read-only, writes it (#PF, error 7: present,
; user, write). Then INT 0x80 returns to ring 0, which exits. CR2 and the error codes are printed.
bits 32
%include "hdr.inc"
KPAGE equ 0x302000
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, on_pf
    mov ebx, 14
    mov dl, 0x8E
    call set_gate
    mov eax, on_exit
    mov ebx, 0x80
    mov dl, 0xEE                        ; DPL 3 interrupt gate
    call set_gate
    mov edi, ptable
    mov eax, 0x007                      ; present, writable, user
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    and dword [ptable + (KPAGE >> 12)*4], ~4       ; supervisor only
    mov eax, ptable
    or eax, 7
    mov [pdir], eax
    mov eax, pdir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    push dword 0x23
    push dword ustack_top
    push dword 0x002
    push dword 0x1B
    push dword user
    iretd
user:
    mov ax, 0x23
    mov ds, ax
    mov eax, [KPAGE]                    ; #PF error 5
    mov dword [KPAGE], 1                ; #PF error 7
    int 0x80

on_pf:                                  ; stack: error, eip, cs, eflags, esp, ss
    push eax
    push ds
    mov ax, 0x10
    mov ds, ax
    mov esi, s_pf
    call puts
    mov eax, cr2
    call puthex
    mov eax, [esp + 8]
    call puthex
    mov eax, [esp + 16]                 ; the faulting CS: ring 3
    call puthex
    call newline
    ; first fault: grant user access read-only; second: make it writable
    mov eax, [ptable + (KPAGE >> 12)*4]
    test eax, 4
    jnz .writable
    or eax, 4
    and eax, ~2
    jmp .store
.writable:
    or eax, 2
.store:
    mov [ptable + (KPAGE >> 12)*4], eax
    invlpg [KPAGE]
    pop ds
    pop eax
    add esp, 4
    iretd

on_exit:
    mov ax, 0x10
    mov ds, ax
    mov esi, s_done
    call puts
    mov al, 0
    jmp exit_qemu
%include "lib.inc"
%include "sys.inc"
section .data
s_pf:   db "#PF cr2/err/cs: ", 0
s_done: db "back in ring 0", 10, 0
section .bss
alignb 4096
pdir:   resb 4096
ptable: resb 4096
    resb 4096
stack_top:
