; compute.asm - the compute loop of bench/techniques/mips.ts: ITERATIONS rounds of an integer mix (ALU, shifts,
; multiply, a load and a store, a compare-and-branch) in the kernel, or with -DUSER in ring 3, then the checksum
; over COM1 and exit 33. No privileged or sensitive instruction in the loop: every technique should run it at
; close to native speed (issue 6 goal: binary translation and hardware assist >= 80 % of native in user mode).
; -DPARAVIRTUAL builds the hypercall port (console_io, iret hypercall, sched_op shutdown) for `paravirtual`.
bits 32
%include "../../samples/include/multiboot.inc"
%ifdef PARAVIRTUAL
%include "../../samples/include/hypercall.inc"
%else
%include "../../samples/include/com1.inc"
%include "../../samples/include/pc.inc"
%endif

%ifndef ITERATIONS
%define ITERATIONS 200000
%endif

MULTIBOOT_HEADER

_start:
%ifdef PARAVIRTUAL
    mov esp, stack_top
%ifdef USER
    HYPERVISOR_stack_switch FLAT_RING1_DS, stack_top
    HYPERVISOR_set_trap_table trap_table
    push dword FLAT_RING3_DS            ; iret hypercall frame: EAX, EIP, CS, EFLAGS, ESP, SS
    push dword user_stack_top
    push dword 0x202
    push dword FLAT_RING3_CS
    push dword compute
    push dword 0
    HYPERVISOR_iret
%endif
%else
    STANDARD_BOOT unexpected_fault
    call com1_init
%ifdef USER
    mov eax, finish
    mov ebx, 0x80
    mov dl, GATE_INT_DPL3
    call set_gate
    push dword STD_USER_DS
    push dword user_stack_top
    push dword 0x002
    push dword STD_USER_CS
    push dword compute
    iretd
%endif
%endif

compute:
%ifdef USER
%ifndef PARAVIRTUAL
    mov ax, STD_USER_DS                 ; the return to ring 3 nulled DS/ES (kernel DPL 0)
    mov ds, ax
    mov es, ax
%endif
%endif
    mov ecx, ITERATIONS
    mov eax, 0x12345678
    mov ebx, 0x9abcdef0
    xor edx, edx
.loop:
    add eax, ebx
    xor ebx, ecx
    rol eax, 3
    imul edx, eax, 31
    add edx, ecx
    mov [scratch + 4], edx
    mov esi, [scratch + 4]
    sub ebx, esi
    shr esi, 2
    add eax, esi
    test ecx, 7
    jnz .skip
    inc dword [scratch]
.skip:
    dec ecx
    jnz .loop
    xor eax, ebx
    mov [result], eax
%ifdef USER
    int 0x80                            ; back to the kernel
%endif

finish:
%ifdef PARAVIRTUAL
    mov esp, stack_top
    mov edx, [result]
    mov edi, hex_digits
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .put
    add al, 'a' - '9' - 1
.put:
    mov [edi], al
    inc edi
    loop .digit
    HYPERVISOR_console_write message, message_length
    HYPERVISOR_shutdown 0x10
%else
    mov ax, STD_KERNEL_DS
    mov ds, ax
    mov esi, message
    call puts
    mov eax, [result]
    call puthex
    mov al, 10
    call putc
    EXIT_QEMU EXIT_SUCCESS

unexpected_fault:
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES
%endif

    section .data
%ifdef PARAVIRTUAL
message:        db "compute: checksum 0x"
hex_digits:     db "00000000", 10
message_length  equ $ - message
trap_table:
    TRAP_INFO 0x80, 3, FLAT_RING1_CS, finish
    TRAP_INFO_END
%else
message:        db "compute: checksum ", 0
%endif

    section .bss
alignb 4096                             ; data the loop writes lives on its own page: a store into a page holding
result:         resd 1                  ; decoded code would invalidate it (self-modifying-code detection)
scratch:        resd 2
alignb 16
                resb 4096
user_stack_top:
%ifdef PARAVIRTUAL
                resb 4096
stack_top:
%endif

MULTIBOOT_END
