; nanobench.asm - two of Adams & Agesen's nanobenchmarks (ASPLOS 2006, Fig. 4) as a Multiboot kernel:
;   syscall : 100 system calls (int 0x80) from ring 3 to a handler that returns at once
;   in      : 100 reads of port 0x80 (`in al, 0x80`) by the kernel
; The serial output is the same under every technique; what differs is what each operation costs. Read the
; per-reason cost summary (or the ledger in test/unit/vmm/nanobench.test.ts):
;  * native (p4-2006): a system call is one exception delivery (889 cycles), a port read one off-chip
;    access (3,209 cycles).
;  * trap-and-emulate: the system call lands in the VMM's IDT and is reflected to the guest (+ VMM entry,
;    reflection, VMM exit: dearer than native); the port read traps (#GP at CPL1, exit reason 30) and is
;    emulated by an in-VMM device model - on the monolithic architecture CHEAPER than the off-chip native
;    access (the same effect that made A&A's binary translator 15x faster than native on `in`), on the hosted
;    architecture far dearer (two world switches and host system calls per access).
;  * all seven of A&A's nanobenchmarks under native, binary translation and hardware assist: nanobench-aa.asm
;    (figures: `npm run bench:techniques`; orderings: test/unit/vmm/nanobench-aa.test.ts).
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

ROUNDS          equ 100

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    mov eax, syscall_handler
    mov ebx, 0x80
    mov dl, GATE_INT_DPL3
    call set_gate

    mov ecx, ROUNDS                     ; the `in` nanobenchmark, in the kernel
.in_loop:
    in al, 0x80
    loop .in_loop

    push dword STD_USER_DS              ; the syscall nanobenchmark, from ring 3
    push dword user_stack_top
    push dword 0x002                    ; IF = 0: no interrupts needed
    push dword STD_USER_CS
    push dword user_main
    iretd

user_main:
    mov ecx, ROUNDS
.syscall_loop:
    xor eax, eax
    int 0x80
    loop .syscall_loop
    mov eax, 1                          ; syscall 1: finish
    int 0x80
.spin:
    jmp .spin

syscall_handler:
    test eax, eax
    jnz .finish
    iretd
.finish:
    mov ax, STD_KERNEL_DS
    mov ds, ax
    mov esi, msg_done
    call puts
    EXIT_QEMU EXIT_SUCCESS

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
msg_done:       db "nanobench: 100 port reads, 100 system calls", 10, 0
msg_fault:      db "nanobench: unexpected exception", 10, 0

    section .bss
alignb 16
                resb 4096
user_stack_top:

MULTIBOOT_END
