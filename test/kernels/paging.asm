; paging.asm - two-level paging with 4 KiB pages: identity-maps 0-4 MiB except one page, enables CR0.PG,
; touches the missing page (#PF, error 0, CR2 = the address) and maps it in the handler; then sets CR0.WP,
; writes a read-only page (#PF, error 3) and makes it writable; finally INVLPG after changing a PTE.
; The handler prints CR2 and the error code; IRET retries the instruction.
bits 32
%include "hdr.inc"
HOLE equ 0x300000
RO   equ 0x301000
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, on_pf
    mov ebx, 14
    mov dl, 0x8E
    call set_gate
    mov edi, ptable                     ; identity map 0-4 MiB, present + writable
    mov eax, 0x003
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    mov dword [ptable + (HOLE >> 12)*4], 0         ; not present
    and dword [ptable + (RO >> 12)*4], ~2          ; read-only
    mov eax, ptable
    or eax, 3
    mov [pdir], eax
    mov eax, pdir
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov esi, s_on
    call puts
    mov eax, [HOLE]                     ; #PF: not present
    call puthex
    call newline
    mov dword [RO], 0x1234              ; no fault yet: CR0.WP = 0 lets ring 0 write
    mov eax, cr0
    or eax, 0x10000
    mov cr0, eax
    and dword [ptable + (RO >> 12)*4], ~2
    invlpg [RO]
    mov dword [RO], 0x5678              ; #PF: write to a read-only page with WP
    mov eax, [RO]
    call puthex
    call newline
    mov al, 0
    jmp exit_qemu

on_pf:                                  ; stack: error, eip, cs, eflags
    push eax
    mov esi, s_pf
    call puts
    mov eax, cr2
    call puthex
    mov eax, [esp + 4]
    call puthex
    call newline
    mov eax, cr2
    shr eax, 12
    mov dword [ptable + eax*4], 0
    shl eax, 12
    or eax, 3
    mov ecx, cr2
    shr ecx, 12
    mov [ptable + ecx*4], eax           ; map (or make writable) the faulting page
    invlpg [eax]
    pop eax
    add esp, 4                          ; drop the error code
    iretd
%include "lib.inc"
%include "sys.inc"
section .data
s_on: db "paging on", 10, 0
s_pf: db "#PF cr2/err: ", 0
section .bss
alignb 4096
pdir:   resb 4096
ptable: resb 4096
    resb 4096
stack_top:
