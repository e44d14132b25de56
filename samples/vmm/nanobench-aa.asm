; nanobench-aa.asm - the seven nanobenchmarks of Adams & Agesen (ASPLOS 2006, Fig. 4: FrobOS tests on a
; Pentium 4) as one Multiboot kernel; build with -DBENCH=n to choose the operation and -DROUNDS=n for how many
; times it runs (default 100):
;   0 baseline  : the empty loop (what every other figure is measured against)
;   1 syscall   : int 0x80 from ring 3 to a handler that returns at once (iretd)
;   2 in        : in al, 0x80 in the kernel (an off-chip port natively)
;   3 cr8wr     : IA-32 has no CR8, whose IA-32 equivalent is the local APIC's task-priority register: a
;                 store to the TPR at offset 80H of the xAPIC page at 0xFEE00000 (SDM Vol. 3A 11.8.3.1; CR8 is
;                 TPR[7:4] in 64-bit mode). It writes 0, the value the TPR already has, so like A&A's cr8wr it
;                 unmasks no pending interrupt. Natively it is an APIC access; VT-x with "use TPR shadow" and
;                 "virtualize APIC accesses" writes the virtual-APIC page without an exit (SDM Vol. 3C 29.4.3);
;                 a binary translator rewrites the store into an inline update of the virtual TPR (A&A §3).
;   4 call/ret  : a near call to a bare ret
;   5 pgfault   : a load from a not-present page (paging on); the #PF handler skips the load
;   6 divzero   : div by zero; the #DE handler skips the div
;   7 ptemod    : a store into the active page table (the PTE of an unused page, paging on)
; Output (the same under every technique, and in QEMU): "nanobench-aa: <name> x <ROUNDS>\n", exit status 33.
; -DPARAVIRTUAL builds the hypercall port for `paravirtual` (benchmarks 0, 1, 4-7; a PV kernel has no port I/O
; and no control registers, so `in` and cr8wr have no port): int 0x80 is a fast trap (ring 3 -> ring 1, no VMM),
; #DE and #PF are reflected by the VMM through the trap table (CR2 in the shared-info page), paging is direct
; paging (page tables mapped read-only, new_baseptr), and ptemod is one mmu_update hypercall per PTE write.
; What to observe: the cost per operation, (ledger cycles at 2 values of ROUNDS) / (difference of ROUNDS) minus
; the baseline's, under each technique - bench/techniques/mips.ts prints the table, test/unit/vmm/
; nanobench-aa.test.ts asserts A&A's orderings (BT beats native on `in`, VT loses on `in`, pgfault and ptemod,
; ties native on syscall and call/ret, BT pays on call/ret, syscall and divzero).
bits 32
%include "../include/multiboot.inc"
%ifdef PARAVIRTUAL
%include "../include/hypercall.inc"
%else
%include "../include/com1.inc"
%include "../include/pc.inc"
%endif

%ifndef BENCH
%define BENCH 0
%endif
%ifndef ROUNDS
%define ROUNDS 100
%endif
%if BENCH = 5 || BENCH = 7
%define PAGING 1
%endif
UNMAPPED        equ 0x00400000          ; directory slot 1 is not present
SPARE_PAGE      equ 1023                ; linear 0x003FF000: never touched, its PTE is ptemod's target
APIC_TPR        equ 0xFEE00080          ; xAPIC task-priority register (default APIC base, SDM Vol. 3A Table 11-1)

MULTIBOOT_HEADER

_start:
%ifdef PARAVIRTUAL
%if BENCH = 2 || BENCH = 3
%error "nanobench-aa: no paravirtual port of in and cr8wr (a PV kernel has no port I/O or control registers)"
%endif
    mov esp, user_stack_top - 2048      ; kernel stack (ring 1); the user stack is the top 2 KiB
    HYPERVISOR_stack_switch FLAT_RING1_DS, user_stack_top - 2048
    HYPERVISOR_set_trap_table trap_table
    HYPERVISOR_set_callbacks pv_unused_event, 0, shared_info
%else
    STANDARD_BOOT unexpected_fault
    call com1_init
    mov eax, syscall_handler
    mov ebx, 0x80
    mov dl, GATE_INT_DPL3
    call set_gate
    mov eax, divide_handler
    xor ebx, ebx
    mov dl, GATE_INT_DPL0
    call set_gate
    mov eax, page_fault_handler
    mov ebx, 14
    mov dl, GATE_INT_DPL0
    call set_gate
%endif
%ifdef PAGING
    xor ecx, ecx                        ; 0-4 MiB identity, nothing above
.pte:
    mov eax, ecx
    shl eax, 12
    or eax, 3
%ifdef PARAVIRTUAL
    cmp eax, page_directory + 3         ; direct paging: the two page-table pages read-only
    je .read_only
    cmp eax, page_table + 3
    jne .write_pte
.read_only:
    and eax, ~2
.write_pte:
%endif
    mov [page_table + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [page_table + SPARE_PAGE * 4], 0
    mov dword [page_directory], page_table + 3
    mov eax, page_directory
%ifdef PARAVIRTUAL
    shr eax, 12
    HYPERVISOR_new_baseptr eax
%else
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
%endif
%endif
    mov ecx, ROUNDS

%if BENCH = 1
%ifdef PARAVIRTUAL
    push dword FLAT_RING3_DS            ; the loop runs in ring 3: iret hypercall frame EAX, EIP, CS, EFLAGS, ESP, SS
    push dword user_stack_top
    push dword 0x002
    push dword FLAT_RING3_CS
    push dword user_loop
    push dword 0
    HYPERVISOR_iret
%else
    push dword STD_USER_DS              ; the loop runs in ring 3
    push dword user_stack_top
    push dword 0x002
    push dword STD_USER_CS
    push dword user_loop
    iretd
%endif
user_loop:
    xor eax, eax
    int 0x80
    dec ecx
    jnz user_loop
    mov eax, 1                          ; syscall 1: finish
    int 0x80
    jmp $
%else
%if BENCH = 3
    xor ebx, ebx                        ; TPR = 0: no priority class masked
%endif
%if BENCH = 7
    mov ebx, (SPARE_PAGE << 12) | 3
%endif
.loop:
%if BENCH = 2
    in al, 0x80
%elif BENCH = 3
    mov [APIC_TPR], ebx                 ; 89 1D disp32: the TPR write
%elif BENCH = 4
    call empty_function
%elif BENCH = 5
    mov eax, [UNMAPPED]                 ; A1 disp32: 5 bytes, skipped by the handler
%elif BENCH = 6
    xor edx, edx
    div edx                             ; F7 F2: 2 bytes, skipped by the handler
%elif BENCH = 7
%ifdef PARAVIRTUAL
    mov [pte_request + 8], ebx          ; {ptr = the PTE's address, val}: one validated write per hypercall
    push ecx
    push ebx
    HYPERVISOR_mmu_update pte_request, 1, 0
    pop ebx
    pop ecx
%else
    mov [page_table + SPARE_PAGE * 4], ebx
%endif
    xor ebx, (SPARE_PAGE << 12) | 3     ; alternate mapped / not mapped
%endif
    dec ecx
    jnz .loop
    jmp finish
%endif

empty_function:
    ret

syscall_handler:
    test eax, eax
    jnz finish
    iretd

%ifdef PARAVIRTUAL
divide_handler:                         ; frames the VMM builds return through the iret hypercall
    add dword [esp], 2
    push eax
    HYPERVISOR_iret

page_fault_handler:
    add esp, 4                          ; the error code
    add dword [esp], 5
    push eax
    HYPERVISOR_iret

pv_unused_event:
    HYPERVISOR_crash 0x11

finish:                                 ; "nanobench-aa: <name> x <ROUNDS>\n" in one console_io
    mov esp, user_stack_top - 2048
    mov edi, msg_line
    mov esi, msg_name
.copy:
    lodsb
    test al, al
    jz .number
    stosb
    jmp .copy
.number:
    mov eax, ROUNDS
    mov ebx, 10
    xor ecx, ecx
.divide:
    xor edx, edx
    div ebx
    push edx
    inc ecx
    test eax, eax
    jnz .divide
.digit:
    pop eax
    add al, '0'
    stosb
    loop .digit
    mov al, 10
    stosb
    sub edi, msg_line
    HYPERVISOR_console_write msg_line, edi
    HYPERVISOR_shutdown 0x10
%else
divide_handler:
    add dword [esp], 2
    iretd

page_fault_handler:
    add esp, 4                          ; the error code
    add dword [esp], 5
    iretd

finish:
    mov ax, STD_KERNEL_DS
    mov ds, ax
    mov esi, msg_name
    call puts
    mov eax, ROUNDS
    call putdec
    mov al, 10
    call putc
    EXIT_QEMU EXIT_SUCCESS

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES
%endif

    section .data
%if BENCH = 0
msg_name:       db "nanobench-aa: baseline x ", 0
%elif BENCH = 1
msg_name:       db "nanobench-aa: syscall x ", 0
%elif BENCH = 2
msg_name:       db "nanobench-aa: in x ", 0
%elif BENCH = 3
msg_name:       db "nanobench-aa: cr8wr (TPR write) x ", 0
%elif BENCH = 4
msg_name:       db "nanobench-aa: call/ret x ", 0
%elif BENCH = 5
msg_name:       db "nanobench-aa: pgfault x ", 0
%elif BENCH = 6
msg_name:       db "nanobench-aa: divzero x ", 0
%else
msg_name:       db "nanobench-aa: ptemod x ", 0
%endif
msg_fault:      db "nanobench-aa: unexpected exception", 10, 0
%ifdef PARAVIRTUAL
trap_table:
    TRAP_INFO 0x80, 3 | TI_FAST, FLAT_RING1_CS, syscall_handler
    TRAP_INFO 0, 0, FLAT_RING1_CS, divide_handler
    TRAP_INFO 14, 0, FLAT_RING1_CS, page_fault_handler
    TRAP_INFO_END
pte_request:    dd page_table + SPARE_PAGE * 4, 0, 0, 0
msg_line:       times 64 db 0
%endif

    section .bss
alignb 4096
%ifdef PARAVIRTUAL
shared_info:    resb 4096
%endif
page_directory: resb 4096
page_table:     resb 4096
alignb 16
                resb 4096
user_stack_top:

MULTIBOOT_END
