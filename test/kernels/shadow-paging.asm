; shadow-paging.asm - a paging guest for memory virtualization (issue 6): two address spaces A and B share an
; identity-mapped kernel (0-4 MiB, supervisor) and each map their own user page at 0x400000 (the same user
; code, a different marker byte). With paging on, the kernel edits its page tables (each write is a tracing
; fault under shadow paging: mov, and), remaps a page and INVLPGs it, then runs the user program at ring 3 in
; A, which takes a true #PF (user write, not present) that the kernel's handler maps, asks to switch to B by
; INT 0x80 (MOV CR3), and takes a second true #PF there (user read). At the end the kernel prints the page
; table entries with their accessed/dirty bits (SDM Vol. 3A 4.8), which must read the same natively and under
; any VMM. Exit status 0 (QEMU: 1).
bits 32
%include "hdr.inc"
USER_VA equ 0x400000
MARKER  equ USER_VA + 0x800
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, on_pf
    mov ebx, 14
    mov dl, 0x8E
    call set_gate
    mov eax, on_syscall
    mov ebx, 0x80
    mov dl, 0xEE                        ; DPL 3 interrupt gate
    call set_gate
    ; kernel: identity map 0-4 MiB, supervisor, present + writable
    mov edi, ptable_k
    mov eax, 0x003
    mov ecx, 1024
.fill:
    stosd
    add eax, 0x1000
    loop .fill
    ; the same user code in both user frames, a different marker in each
    mov esi, user_code
    mov edi, frame_a
    mov ecx, user_code_end - user_code
    rep movsb
    mov esi, user_code
    mov edi, frame_b
    mov ecx, user_code_end - user_code
    rep movsb
    mov dword [frame_a + 0x800], 'A'
    mov dword [frame_b + 0x800], 'B'
    ; address space A: kernel + user page A; address space B: kernel + user page B
    mov eax, frame_a
    or eax, 7
    mov [pt_user_a], eax
    mov eax, frame_b
    or eax, 7
    mov [pt_user_b], eax
    mov eax, ptable_k
    or eax, 3
    mov [pdir_a], eax
    mov [pdir_b], eax
    mov eax, pt_user_a
    or eax, 7
    mov [pdir_a + 4], eax
    mov eax, pt_user_b
    or eax, 7
    mov [pdir_b + 4], eax
    mov eax, pdir_a
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80010000                  ; PG and WP
    mov cr0, eax
    mov esi, s_on
    call puts
    ; page-table edits with paging on
    mov eax, [MARKER]                   ; A's marker through the user page
    call puthex
    mov eax, frame_c
    or eax, 3
    mov [pt_user_a + 8], eax            ; map 0x402000 -> frame C (kernel only)
    mov dword [USER_VA + 0x2000], 0xC0FFEE
    mov eax, [frame_c]                  ; the same frame through the identity map
    call puthex
    mov dword [pt_user_a + 8], 0        ; unmap it again
    invlpg [USER_VA + 0x2000]
    mov eax, frame_b
    or eax, 7
    mov [pt_user_a], eax                ; remap A's user page to frame B ...
    invlpg [USER_VA]
    mov eax, [MARKER]                   ; ... and see B's marker
    call puthex
    mov eax, frame_a
    or eax, 7
    mov [pt_user_a], eax
    invlpg [USER_VA]
    and dword [pt_user_a], ~0x60        ; clear accessed and dirty: ring 3 sets them again
    mov eax, cr3
    call puthex
    call newline
    ; ring 3 in address space A
    push dword 0x23
    push dword ustack_top
    push dword 0x002
    push dword 0x1B
    push dword USER_VA
    iretd

; INT 0x80 from ring 3: eax = 1 print ebx, 2 switch to address space B, 3 finish
on_syscall:
    push ds
    push eax
    mov ax, 0x10
    mov ds, ax
    pop eax
    cmp eax, 1
    je .print
    cmp eax, 2
    je .switch
    jmp finish
.print:
    mov esi, s_user
    call puts
    mov eax, ebx
    call puthex
    call newline
    pop ds
    iretd
.switch:
    mov eax, pdir_b
    mov cr3, eax
    mov esi, s_switch
    call puts
    pop ds
    iretd

; #PF: print CR2 and the error code, map frame C at the faulting user page of the current address space
on_pf:                                  ; stack: error, eip, cs, eflags[, esp, ss]
    push eax
    push ecx
    push ds
    mov ax, 0x10
    mov ds, ax
    mov esi, s_pf
    call puts
    mov eax, cr2
    call puthex
    mov eax, [esp + 12]
    call puthex
    call newline
    mov ecx, pt_user_a
    mov eax, cr3
    cmp eax, pdir_a
    je .table
    mov ecx, pt_user_b
.table:
    mov eax, cr2
    shr eax, 12
    and eax, 0x3ff
    lea ecx, [ecx + eax*4]
    mov eax, frame_c
    or eax, 7
    mov [ecx], eax
    mov eax, cr2
    invlpg [eax]
    pop ds
    pop ecx
    pop eax
    add esp, 4                          ; drop the error code
    iretd

finish:
    mov eax, pdir_a
    mov cr3, eax
    mov esi, s_entries
    call puts
    mov eax, [pdir_a + 4]
    sub eax, pt_user_a
    call puthex
    mov eax, [pdir_b + 4]
    sub eax, pt_user_b
    call puthex
    mov eax, [pt_user_a]
    sub eax, frame_a
    call puthex
    mov eax, [pt_user_a + 4]
    sub eax, frame_c
    call puthex
    mov eax, [pt_user_a + 8]
    call puthex
    mov eax, [pt_user_b]
    sub eax, frame_b
    call puthex
    mov eax, [pt_user_b + 4]
    sub eax, frame_c
    call puthex
    mov eax, [ptable_k + 0x200*4]       ; 0x200000: never touched
    call puthex
    call newline
    mov esi, s_frames
    call puts
    mov eax, [frame_a + 0x804]
    call puthex
    mov eax, [frame_c]
    call puthex
    mov eax, cr2
    call puthex
    call newline
    mov al, 0
    jmp exit_qemu

; ring-3 code, copied to both user frames and run at USER_VA (position independent: absolute data only)
user_code:
    mov ax, 0x23
    mov ds, ax
    mov ebx, [MARKER]
    mov eax, 1
    int 0x80
    xor ebx, ebx                        ; some ring-3 work: 1 + 2 + ... + 100
    mov ecx, 100
.sum:
    add ebx, ecx
    loop .sum
    mov eax, 1
    int 0x80
    mov dword [MARKER + 4], 0x55        ; dirty A's user page
    mov dword [USER_VA + 0x1000], 0x11223344   ; true #PF: user write, not present (error 6)
    mov ebx, [USER_VA + 0x1000]
    mov eax, 1
    int 0x80
    mov eax, 2
    int 0x80                            ; switch to B: the next instruction comes from B's copy
    mov ebx, [MARKER]
    mov eax, 1
    int 0x80
    mov ebx, [USER_VA + 0x1000]         ; true #PF in B: user read, not present (error 4)
    mov eax, 1
    int 0x80
    mov eax, 3
    int 0x80
user_code_end:

%include "lib.inc"
%include "sys.inc"
section .data
s_on:      db "paging on", 10, 0
s_user:    db "user: ", 0
s_switch:  db "cr3 -> address space B", 10, 0
s_pf:      db "#PF cr2/err: ", 0
s_entries: db "entries: ", 0
s_frames:  db "frames: ", 0
section .bss
alignb 4096
pdir_a:   resb 4096
pdir_b:   resb 4096
ptable_k: resb 4096
pt_user_a: resb 4096
pt_user_b: resb 4096
frame_a:  resb 4096
frame_b:  resb 4096
frame_c:  resb 4096
    resb 4096
stack_top:
