; spinlock.asm - a two-CPU machine: the bootstrap processor (BSP) wakes the second CPU with INIT-SIPI-SIPI
; through its local APIC, then both increment one shared counter under a spinlock (xchg) and a second one with
; `lock xadd`, print over COM1 (another spinlock keeps their lines whole), and each application processor (AP)
; counts itself done and wakes the BSP with a fixed IPI. The BSP prints both totals and ends the run. Launch it with
; "vcpus": 2 (HyperStep) or:
;     nasm -f bin -o spinlock.bin spinlock.asm
;     qemu-system-i386 -smp 2 -kernel spinlock.bin -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04
;
; What a student should observe (SDM Vol. 3A §9.4 "Multiple-processor (MP) initialization", ch. 11 "APIC"):
;  * The AP starts in REAL MODE at vector × 0x1000 (here 0x8000): the BSP copies a 16-bit trampoline there,
;    which loads the kernel's GDT, sets CR0.PE and far-jumps into 32-bit code at 1 MiB.
;  * Each CPU reads its own APIC ID at 0xFEE00020: the same address shows each CPU its own local APIC.
;  * Both totals are CPUS × ITERATIONS. Delete the `lock` prefix or the spinlock and QEMU (whose CPUs really
;    run in parallel) loses increments; HyperStep interleaves CPUs in fixed quanta of retired instructions, so
;    a lost update happens there too, but at the same instruction in every run.
;  * The order of the two "cpu N" lines may differ between runs under QEMU; under HyperStep it never does.
;  * Set a breakpoint in `worker` while debugging: the Call Stack shows one thread per vCPU, and the stop
;    names the CPU that hit it.

%include "../include/multiboot.inc"
%include "../include/com1.inc"

%ifndef CPUS
CPUS            equ 2                   ; how many CPUs the machine has (nasm -DCPUS=4 for four)
%endif
%ifndef ITERATIONS
ITERATIONS      equ 20000                ; increments per CPU and counter
%endif
APIC            equ 0xFEE00000
APIC_ID         equ APIC + 0x20
APIC_EOI        equ APIC + 0xB0
APIC_SVR        equ APIC + 0xF0
APIC_ICR_LOW    equ APIC + 0x300
APIC_ICR_HIGH   equ APIC + 0x310
TRAMPOLINE      equ 0x8000              ; the AP starts at CS:IP = 0800:0000 (SIPI vector 0x08)
SIPI_VECTOR     equ TRAMPOLINE >> 12
DONE_VECTOR     equ 0x50                ; fixed IPI "I have finished" from the AP to the BSP
STACK_SIZE      equ 4096

MULTIBOOT_HEADER

bits 32
_start:
    mov esp, bsp_stack_top
    lgdt [gdt_descriptor]
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    call com1_init
    mov al, 0xFF                        ; mask the 8259A: only APIC interrupts in this sample
    out 0x21, al
    out 0xA1, al
    mov eax, done_ipi                   ; IDT gate DONE_VECTOR -> done_ipi (32-bit interrupt gate, DPL 0)
    mov [idt + DONE_VECTOR*8], ax
    mov word [idt + DONE_VECTOR*8 + 2], 0x08
    mov word [idt + DONE_VECTOR*8 + 4], 0x8E00
    shr eax, 16
    mov [idt + DONE_VECTOR*8 + 6], ax
    lidt [idt_descriptor]
    or dword [APIC_SVR], 0x100          ; software-enable the BSP's APIC: it must accept the AP's IPI

    mov esi, ap_trampoline              ; copy the real-mode trampoline below 1 MiB
    mov edi, TRAMPOLINE
    mov ecx, AP_TRAMPOLINE_SIZE
    rep movsb
    mov esi, msg_wake
    call locked_puts
    mov dword [APIC_ICR_HIGH], 0
    mov dword [APIC_ICR_LOW], 0x000C4500 ; INIT to all excluding self (level assert)
    call delay
    mov dword [APIC_ICR_LOW], 0x000C4600 | SIPI_VECTOR ; start-up IPI
    call delay
    mov dword [APIC_ICR_LOW], 0x000C4600 | SIPI_VECTOR ; second SIPI (ignored by a CPU already running)

    xor eax, eax                        ; the BSP is CPU 0
    call worker
.wait:                                  ; sleep until every AP has sent its "done" IPI
    cli
    cmp dword [aps_done], CPUS - 1
    je .all_done
    sti                                 ; STI's shadow covers HLT: no IPI slips in between
    hlt
    jmp .wait
.all_done:
    mov esi, msg_total
    call locked_puts
    mov eax, [counter]
    call putdec
    mov esi, msg_xadd
    call puts
    mov eax, [atomic_counter]
    call putdec
    mov esi, msg_end
    call puts
    mov eax, [counter]
    add eax, [atomic_counter]
    cmp eax, 2 * CPUS * ITERATIONS
    jne .lost
    EXIT_QEMU 0
.lost:
    EXIT_QEMU 1

; ---- the work both CPUs do ------------------------------------------------------------------------------
worker:                                 ; eax = CPU number
    push eax
    mov ecx, ITERATIONS
.again:
    mov ebx, counter_lock
    call spin_lock
    inc dword [counter]                 ; a plain read-modify-write: safe only under the lock
    call spin_unlock
    mov eax, 1
    lock xadd [atomic_counter], eax     ; atomic without a lock
    loop .again
    pop eax
    mov ebx, print_lock
    call spin_lock
    mov esi, msg_cpu
    call puts
    call putdec
    mov esi, msg_done
    call puts
    call spin_unlock
    ret

spin_lock:                              ; ebx = lock address
    push eax
.try:
    mov eax, 1
    xchg eax, [ebx]                     ; xchg with memory is always locked (SDM Vol. 3A 9.1.2.1)
    test eax, eax
    jz .taken
.spin:
    pause
    cmp dword [ebx], 0
    jne .spin
    jmp .try
.taken:
    pop eax
    ret

spin_unlock:                            ; ebx = lock address
    mov dword [ebx], 0
    ret

locked_puts:                            ; esi = string, printed under the print lock
    push ebx
    mov ebx, print_lock
    call spin_lock
    call puts
    call spin_unlock
    pop ebx
    ret

delay:                                  ; a short busy wait between INIT and SIPI (10 ms on real hardware)
    push ecx
    mov ecx, 10000
.loop:
    loop .loop
    pop ecx
    ret

done_ipi:                               ; the BSP's handler for an AP's "done" IPI: only a wake-up. The count
    mov dword [APIC_EOI], 0             ; is kept by the APs themselves: IPIs of one vector that arrive while
    iretd                               ; it is still pending share its single IRR bit (SDM §11.8.4)

; ---- the AP's way in -------------------------------------------------------------------------------------
bits 16
ap_trampoline:                          ; runs at 0800:0000 in real mode, copied to TRAMPOLINE
    cli
    xor ax, ax
    mov ds, ax
    lgdt [TRAMPOLINE + ap_gdt_descriptor - ap_trampoline]
    mov eax, cr0
    or eax, 1                           ; CR0.PE
    mov cr0, eax
    jmp dword 0x08:ap_start             ; far jump with a 32-bit offset: CS = flat code, into 1 MiB
ap_gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
AP_TRAMPOLINE_SIZE equ $ - ap_trampoline

bits 32
ap_start:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov eax, [APIC_ID]
    shr eax, 24                         ; this CPU's APIC ID = its CPU number
    mov esp, eax
    shl esp, 12
    add esp, ap_stacks                  ; stack top = ap_stacks + id * STACK_SIZE (AP 1: the first stack's top)
    call worker
    lock inc dword [aps_done]
    mov dword [APIC_ICR_HIGH], 0        ; destination APIC ID 0: the BSP
    mov dword [APIC_ICR_LOW], 0x00004000 | DONE_VECTOR ; fixed IPI, physical destination
.park:
    cli
    hlt
    jmp .park

COM1_ROUTINES

section .data align=4096           ; data in its own page: stores never hit a page holding code
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF               ; 0x08: flat 32-bit code, ring 0
    dq 0x00CF92000000FFFF               ; 0x10: flat data, ring 0
gdt_end:
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
idt_descriptor:
    dw 256*8 - 1
    dd idt
msg_wake:  db "BSP: waking the other CPUs with INIT-SIPI-SIPI", 10, 0
msg_cpu:   db "cpu ", 0
msg_done:  db " done", 10, 0
msg_total: db "total ", 0
msg_xadd:  db " under the spinlock, ", 0
msg_end:   db " with lock xadd", 10, 0
align 4
counter_lock:   dd 0
print_lock:     dd 0
counter:        dd 0
atomic_counter: dd 0
aps_done:       dd 0

section .bss
alignb 8
idt:        resb 256*8
alignb 16
            resb STACK_SIZE
bsp_stack_top:
ap_stacks:                              ; AP n uses [ap_stacks + (n-1)*STACK_SIZE, ap_stacks + n*STACK_SIZE)
            resb STACK_SIZE * (CPUS - 1)
MULTIBOOT_END
