; minikernel.asm - a bare-metal mini-kernel: it prints over COM1, takes PIT timer interrupts, and runs a ring-3
; user program that makes system calls (int 0x80) through a TSS-based stack switch. The reference guest of
; the VMM lessons: run it under every technique and architecture and compare.
;
; Build and run natively (the test in test/unit/vmm/samples.test.ts does exactly this):
;     nasm -f elf32 -I samples/include/ -o k.o samples/vmm/minikernel.asm
;     ld -m elf_i386 -T samples/vmm/link.ld -o k.elf k.o
;     qemu-system-i386 -kernel k.elf -display none -serial stdio -monitor none -nic none -no-reboot \
;         -device isa-debug-exit,iobase=0xf4,iosize=0x04          -> exit status 33 (0x10 << 1 | 1)
;     hyperstep run samples/vmm/minikernel.asm --technique <t> --architecture <a> --trace
;
; Expected serial output (identical under every technique: that is equivalence):
;     minikernel: booting
;     minikernel: 3 timer ticks
;     user: hello from ring 3
;     user: sum 1..100 = 5050
;     minikernel: #GP from ring 3 (cli), skipped
;     user: the timer kept ticking
;     minikernel: user program exited with status 0
;
; What a student should observe:
;  * native: no transitions but guest ones: int 0x80 and IRQ0 go through the guest's own IDT
;    (guest-user -> guest-kernel), the #GP from the user's `cli` goes to the guest's #GP handler.
;  * trap-and-emulate: the kernel runs in ring 1. Every privileged instruction of the kernel traps (#GP) into
;    the VMM and is emulated: lgdt, lidt, ltr, mov to segment... (lgdt/lidt/ltr update the virtual CPU and the
;    VMM rebuilds its real tables), cli/sti, hlt (the VMM waits for the next virtual timer interrupt), and
;    every in/out of com1_init, putc, pic_remap and pit_start (IOPL 0 < CPL 1). Two traps per printed
;    character. int 0x80 from ring 3 lands in the VMM's IDT and is reflected through the guest's virtual IDT
;    ("fault reflection"); IRQ0 is taken by the VMM and injected as a virtual interrupt when the virtual IF
;    is 1. The user's `cli` #GP is NOT emulated but reflected (it came from virtual ring 3).
;  * paravirtual: this binary is not paravirtualized; see minikernel-pv.asm for its port.
;  * architectures: monolithic - each COM1/PIC/PIT access is handled by a device model inside the VMM;
;    microkernel - it is forwarded to the management OS (io-hop) and back; hosted - world switch VMM->host,
;    the host driver hands it to the VM process, which "writes" it with a host system call, and back. Compare
;    the per-layer cycle summaries: the hosted run spends most cycles outside the guest.
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

SYS_EXIT        equ 0
SYS_WRITE       equ 1                   ; EBX = buffer, ECX = length
SYS_TICKS       equ 2                   ; -> EAX = timer ticks so far
SYS_WRITE_DEC   equ 3                   ; EBX = value
KERNEL_CS       equ 0x08
KERNEL_DS       equ 0x10
USER_CS         equ 0x18 | 3
USER_DS         equ 0x20 | 3
TSS_SELECTOR    equ 0x28
BOOT_TICKS      equ 3

MULTIBOOT_HEADER

_start:
    mov esp, kernel_stack_top
    lgdt [gdt_descriptor]
    jmp KERNEL_CS:.reload
.reload:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    call com1_init
    mov esi, msg_boot
    call puts

    ; TSS: the ring-0 stack the CPU switches to when an interrupt or int 0x80 arrives from ring 3
    mov eax, tss
    mov [gdt_tss + 2], ax
    shr eax, 16
    mov [gdt_tss + 4], al
    mov [gdt_tss + 7], ah
    mov dword [tss + 4], kernel_stack_top       ; ESP0
    mov dword [tss + 8], KERNEL_DS              ; SS0
    mov word [tss + 102], 104                   ; I/O map base beyond the limit: no I/O bitmap
    mov ax, TSS_SELECTOR
    ltr ax

    ; IDT: every exception to fault_handler, #GP to gp_handler, IRQ0 to timer_handler, int 0x80 for ring 3
    xor ebx, ebx
.exceptions:
    mov eax, fault_handler
    mov dl, GATE_INT_DPL0
    call set_gate
    inc ebx
    cmp ebx, 32
    jb .exceptions
    mov eax, gp_handler
    mov ebx, 13
    call set_gate
    mov eax, timer_handler
    mov ebx, IRQ0_VECTOR
    call set_gate
    mov eax, syscall_handler
    mov ebx, 0x80
    mov dl, GATE_INT_DPL3
    call set_gate
    lidt [idt_descriptor]

    call pic_remap
    call pit_start
    sti
.wait_ticks:
    hlt                                 ; sleep until the next timer interrupt
    cmp dword [ticks], BOOT_TICKS
    jb .wait_ticks
    mov esi, msg_ticks
    call puts

    ; enter ring 3: IRET to user_main with IF = 1 on the user stack
    cli
    push dword USER_DS                  ; SS
    push dword user_stack_top           ; ESP
    push dword 0x202                    ; EFLAGS: IF = 1
    push dword USER_CS                  ; CS
    push dword user_main                ; EIP
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    iretd

; ---- kernel: interrupt and trap handlers ----
timer_handler:
    inc dword [ticks]
    PIC_EOI
    iretd

syscall_handler:                        ; EAX = number; runs with IF = 0 (interrupt gate)
    push ds
    push es
    push eax
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    pop eax
    cmp eax, SYS_WRITE
    je .write
    cmp eax, SYS_TICKS
    je .ticks
    cmp eax, SYS_WRITE_DEC
    je .write_dec
    cmp eax, SYS_EXIT
    je .exit
    mov eax, -1
    jmp .return
.write:
    push esi
    mov esi, ebx
.write_next:
    jecxz .write_done
    lodsb
    call putc
    dec ecx
    jmp .write_next
.write_done:
    pop esi
    xor eax, eax
    jmp .return
.ticks:
    mov eax, [ticks]
    jmp .return
.write_dec:
    mov eax, ebx
    call putdec
    xor eax, eax
    jmp .return
.exit:
    mov esi, msg_exit
    call puts
    mov eax, ebx
    call putdec
    mov al, 10
    call putc
    EXIT_QEMU EXIT_SUCCESS
.return:
    pop es
    pop ds
    iretd

gp_handler:                             ; #GP pushes an error code
    test dword [esp + 8], 3             ; CS of the faulting code: from ring 3?
    jz fault_handler.kernel_fault
    push esi
    mov esi, msg_user_gp
    call puts
    pop esi
    inc dword [esp + 4]                 ; skip the one-byte `cli` the user program executed
    add esp, 4                          ; drop the error code
    iretd

fault_handler:
.kernel_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

; ---- ring 3: the user program ----
user_main:
    mov eax, SYS_WRITE
    mov ebx, msg_user_hello
    mov ecx, msg_user_hello_len
    int 0x80
    xor eax, eax                        ; sum 1..100 in user mode, printed by a system call
    mov ecx, 100
.sum:
    add eax, ecx
    loop .sum
    push eax
    mov eax, SYS_WRITE
    mov ebx, msg_user_sum
    mov ecx, msg_user_sum_len
    int 0x80
    pop ebx
    mov eax, SYS_WRITE_DEC
    int 0x80
    mov eax, SYS_WRITE
    mov ebx, newline
    mov ecx, 1
    int 0x80
    cli                                 ; privileged at CPL 3: #GP, the kernel skips it
    mov eax, SYS_TICKS                  ; wait until two more timer interrupts arrived in user mode
    int 0x80
    lea esi, [eax + 2]
.spin:
    mov eax, SYS_TICKS
    int 0x80
    cmp eax, esi
    jb .spin
    mov eax, SYS_WRITE
    mov ebx, msg_user_ticking
    mov ecx, msg_user_ticking_len
    int 0x80
    mov eax, SYS_EXIT
    xor ebx, ebx
    int 0x80
.unreachable:
    jmp .unreachable

COM1_ROUTINES
PC_ROUTINES

    section .data
align 8
gdt:
    GDT_ENTRY 0, 0, 0, 0                ; null
    GDT_ENTRY 0, 0xFFFFF, 0x9A, 0xC     ; 0x08 kernel code, DPL 0
    GDT_ENTRY 0, 0xFFFFF, 0x92, 0xC     ; 0x10 kernel data, DPL 0
    GDT_ENTRY 0, 0xFFFFF, 0xFA, 0xC     ; 0x18 user code, DPL 3
    GDT_ENTRY 0, 0xFFFFF, 0xF2, 0xC     ; 0x20 user data, DPL 3
gdt_tss:
    GDT_ENTRY 0, 103, 0x89, 0x0         ; 0x28 32-bit TSS (available); base patched at boot
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
idt_descriptor:
    dw 256 * 8 - 1
    dd idt
ticks:            dd 0
msg_boot:         db "minikernel: booting", 10, 0
msg_ticks:        db "minikernel: 3 timer ticks", 10, 0
msg_user_gp:      db "minikernel: #GP from ring 3 (cli), skipped", 10, 0
msg_exit:         db "minikernel: user program exited with status ", 0
msg_fault:        db "minikernel: unexpected exception in the kernel", 10, 0
msg_user_hello:   db "user: hello from ring 3", 10
msg_user_hello_len equ $ - msg_user_hello
msg_user_sum:     db "user: sum 1..100 = "
msg_user_sum_len  equ $ - msg_user_sum
msg_user_ticking: db "user: the timer kept ticking", 10
msg_user_ticking_len equ $ - msg_user_ticking
newline:          db 10

    section .bss
alignb 16
idt:              resb 256 * 8
tss:              resb 104
alignb 16
                  resb 4096
kernel_stack_top:
                  resb 4096
user_stack_top:

MULTIBOOT_END
