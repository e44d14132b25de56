; guest-exits.asm - the guest side of VT-x: an ordinary kernel that executes, one group at a time, the
; instructions a VMM can make exit (Intel SDM Vol. 3C 26.1 "Instructions that cause VM exits"). Run it natively
; and under the hardware-assisted technique with different vmxControls, and watch the VM exits (exit counts,
; the debugger's VM-exit breakpoints) change while the serial output stays the same:
;
;   group                  exits?                                        basic reason (SDM Appendix C)
;   1. CPUID x4            always (unconditionally, 26.1.2)              10 CPUID
;   2. RDTSC x4            only with rdtscExiting (primary bit 12)       16 RDTSC
;   3. MOV CR3 x4          with EPT only with cr3LoadExiting (bit 15);   28 control-register access
;                          without EPT always (the VMM keeps CR3 virtual)
;   4. IN from COM1 LSR    io 'all' (bit 24) or the port in the bitmap   30 I/O instruction
;      (every character printed is also an IN + OUT pair)
;   5. HLT x2              only with hltExiting (primary bit 7)          12 HLT
;   6. paging on, 4-KiB    with EPT: no exit for the page walk or for     48 EPT violation, once per guest page
;      pages, touch 8      CR3 loads; the VMM's lazily built EPT maps      first touched (the debugger's
;      new pages           each page on its first touch                    memoryStats() counts them)
;
; Serial output (identical natively, under QEMU and under every technique):
;     guest-exits: cpuid vendor GenuineIntel
;     guest-exits: rdtsc advances
;     guest-exits: cr3 reloaded 4 times
;     guest-exits: COM1 line status 0x00000060
;     guest-exits: 2 timer ticks after hlt
;     guest-exits: paging on, checksum 0x000093e0
; then the guest exits with status 33 (QEMU isa-debug-exit, HyperStep's debug-exit port).
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

PAGE_TABLE_FLAGS equ 0x003              ; present, writable (SDM Vol. 3A 4.3, Table 4-6)
TOUCHED_PAGES    equ 8
TOUCH_BASE       equ 0x300000           ; 3 MiB: pages the guest has not touched before

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init

    ; 1. CPUID leaf 0: the vendor string in EBX, EDX, ECX. Always a VM exit.
    mov esi, msg_cpuid
    call puts
    mov ecx, 4
.cpuid:
    push ecx
    xor eax, eax
    cpuid
    mov [vendor], ebx
    mov [vendor + 4], edx
    mov [vendor + 8], ecx
    pop ecx
    loop .cpuid
    mov esi, vendor
    call puts
    call newline

    ; 2. RDTSC: exits only when the VMM asks for it (it may then offset or fake the counter).
    rdtsc
    mov ebx, eax
    mov ecx, 3
.rdtsc:
    rdtsc
    loop .rdtsc
    mov esi, msg_rdtsc
    cmp eax, ebx
    jne .advances
    mov esi, msg_rdtsc_stuck
.advances:
    call puts

    ; 3. MOV to CR3 (paging still off: the value is kept, nothing is translated yet).
    mov ecx, 4
.cr3:
    mov eax, page_directory
    mov cr3, eax
    loop .cr3
    mov esi, msg_cr3
    call puts

    ; 4. IN from the UART's line status register (transmitter empty bits 5 and 6 when idle).
    mov esi, msg_lsr
    call puts
    mov dx, COM1_LSR
    in al, dx
    movzx eax, al
    and eax, 0x60
    call puthex
    call newline

    ; 5. HLT until two timer interrupts have arrived.
    mov eax, timer_handler
    mov ebx, IRQ0_VECTOR
    mov dl, GATE_INT_DPL0
    call set_gate
    call pic_remap
    call pit_start
    sti
.wait:
    hlt
    cmp dword [ticks], 2
    jb .wait
    cli
    mov esi, msg_hlt
    call puts

    ; 6. Paging with 4-KiB pages: identity-map 0-4 MiB, CR0.PG = 1, then touch 8 pages never touched before
    ;    and reload CR3 between the touches (each reload flushes the TLB: new two-dimensional walks under EPT).
    mov edi, page_table
    mov eax, PAGE_TABLE_FLAGS
    mov ecx, 1024
.pte:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    loop .pte
    mov dword [page_directory], page_table + PAGE_TABLE_FLAGS
    mov eax, page_directory
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    xor ebx, ebx                        ; checksum
    mov ecx, TOUCHED_PAGES
    mov edi, TOUCH_BASE
.touch:
    mov eax, ecx
    shl eax, 4
    add eax, 0x1234
    mov [edi], eax                      ; first touch of this page
    add ebx, [edi]
    mov eax, cr3
    mov cr3, eax
    add edi, 0x1000
    loop .touch
    mov eax, cr0
    and eax, 0x7FFFFFFF
    mov cr0, eax
    mov esi, msg_paging
    call puts
    mov eax, ebx
    call puthex
    call newline
    EXIT_QEMU EXIT_SUCCESS

newline:
    mov al, 10
    jmp putc

timer_handler:
    inc dword [ticks]
    PIC_EOI
    iretd

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
ticks:           dd 0
vendor:          times 13 db 0
msg_cpuid:       db "guest-exits: cpuid vendor ", 0
msg_rdtsc:       db "guest-exits: rdtsc advances", 10, 0
msg_rdtsc_stuck: db "guest-exits: rdtsc did not advance", 10, 0
msg_cr3:         db "guest-exits: cr3 reloaded 4 times", 10, 0
msg_lsr:         db "guest-exits: COM1 line status ", 0
msg_hlt:         db "guest-exits: 2 timer ticks after hlt", 10, 0
msg_paging:      db "guest-exits: paging on, checksum ", 0
msg_fault:       db "guest-exits: unexpected exception", 10, 0

    section .bss
alignb 4096
page_directory:  resb 4096
page_table:      resb 4096

MULTIBOOT_END
