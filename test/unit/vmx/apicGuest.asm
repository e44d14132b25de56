; apicGuest.asm - local APIC accesses from a ring-0 Multiboot guest, for apicVirtualization.test.ts's engine
; test: a TPR write and read-back (virtualized by the TPR shadow under VT-x), then reads of the APIC version
; register (offset 30H) and the TPR of the real APIC (an APIC-access exit 44 under VT-x, executed by the VMM in
; root operation). Results are stored at physical 0x500 (read by the test), then the guest exits with status 33.
bits 32
%include "multiboot.inc"
%include "com1.inc"
APIC            equ 0xFEE00000
results         equ 0x500
MULTIBOOT_HEADER
_start:
    mov dword [APIC + 0x80], 0x20       ; TPR = 0x20 (priority class 2)
    mov eax, [APIC + 0x80]
    mov [results], eax                  ; the TPR as the guest reads it back
    mov eax, [APIC + 0x30]
    mov [results + 4], eax              ; the APIC version register
    mov dword [APIC + 0x80], 0          ; TPR back to 0
    mov eax, [APIC + 0x80]
    mov [results + 8], eax
    mov dword [results + 12], 0x600d
    EXIT_QEMU EXIT_SUCCESS
MULTIBOOT_END
