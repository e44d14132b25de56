; paravirtual-events.guest.asm - event-channel corner cases for test/unit/vmm/paravirtual-events.test.ts
; (technique `paravirtual` only). Serial input is waiting from the start; the guest binds VIRQ_CONSOLE, masks
; that port in evtchn_mask, unmasks events globally and blocks: the event is pending but masked, so block
; returns without an upcall. EVTCHNOP_unmask of the pending port then makes the upcall due (Xen's unmask), and
; the event callback reads the input with console_io read. Output:
;   masked: pending=1 upcalls=0
;   unmasked: upcalls=1 input=<the serial input>
bits 32
%include "multiboot.inc"
%include "hypercall.inc"

MULTIBOOT_HEADER

_start:
    mov esp, stack_top
    HYPERVISOR_set_callbacks event_callback, 0, shared_info
    HYPERVISOR_bind_virq VIRQ_CONSOLE
    mov [port], eax
    bts dword [shared_info + SHINFO_EVTCHN_MASK], eax   ; mask the port itself
    PV_STI shared_info
    HYPERVISOR_block                        ; returns: an event is pending, even though no upcall can run
    mov eax, [port]
    bt dword [shared_info + SHINFO_EVTCHN_PENDING], eax
    setc al
    add al, '0'
    mov [msg_pending_digit], al
    mov al, [upcalls]
    add al, '0'
    mov [msg_upcalls_digit], al
    HYPERVISOR_console_write msg_masked, msg_masked_length
    mov eax, [port]
    HYPERVISOR_evtchn_unmask eax            ; pending and now unmasked: the upcall runs on the way back
    mov al, [upcalls]
    add al, '0'
    mov [msg_after_digit], al
    HYPERVISOR_console_write msg_unmasked, msg_unmasked_length
    mov ecx, [input_length]
    HYPERVISOR_console_write input, ecx
    HYPERVISOR_console_write newline, 1
    HYPERVISOR_shutdown 0x10

event_callback:                             ; events masked, interrupt frame on the stack
    pushad
    inc byte [upcalls]
    mov byte [shared_info + SHINFO_UPCALL_PENDING], 0
    mov eax, [port]
    btr dword [shared_info + SHINFO_EVTCHN_PENDING], eax
    HYPERVISOR_console_read input, 16
    mov [input_length], eax
    popad
    push eax
    HYPERVISOR_iret

    section .data
msg_masked:         db "masked: pending="
msg_pending_digit:  db "?"
                    db " upcalls="
msg_upcalls_digit:  db "?", 10
msg_masked_length   equ $ - msg_masked
msg_unmasked:       db "unmasked: upcalls="
msg_after_digit:    db "?"
                    db " input="
msg_unmasked_length equ $ - msg_unmasked
newline:            db 10
upcalls:            db 0

    section .bss
alignb 4096
shared_info:    resb 4096
port:           resd 1
input_length:   resd 1
input:          resb 16
alignb 16
                resb 4096
stack_top:

MULTIBOOT_END
