; paravirtual-paging.guest.asm - the direct-paging test guest of test/unit/vmm/paravirtual-paging.test.ts
; (technique `paravirtual` only). It turns paging on with new_baseptr, then asks the VMM for updates it must
; refuse and for ones it must apply, and prints each hypercall result as "name=0x........" over console_io:
;   vmm      update_va_mapping mapping a VMM frame            -> -EPERM  (0xffffffff)
;   ptw      update_va_mapping mapping a page table writable -> -EPERM
;   slot     mmu_update of the VMM's directory slot           -> -EPERM
;   pse      mmu_update installing a 4 MiB page               -> -EINVAL (0xffffffea)
;   notpt    mmu_update of a page that is not a page table    -> -EINVAL
;   map      update_va_mapping(WINDOW -> data page, INVLPG)   -> 0, then a store through WINDOW is read back
;   pf       a plain store into a page-table page: #PF reflected to the guest, CR2 from the shared-info page,
;            and the entry keeps its value
;   read     console_io read of the serial input
; and ends in the failsafe callback after an iret hypercall with a VMM code selector. VMM_FRAME is defined by
; the test (the VMM region's first physical address).
bits 32
%include "multiboot.inc"
%include "hypercall.inc"

WINDOW      equ 0x00400000

MULTIBOOT_HEADER

_start:
    mov esp, stack_top
    HYPERVISOR_set_trap_table trap_table
    HYPERVISOR_set_callbacks event_callback, failsafe_callback, shared_info
    xor ecx, ecx                            ; kernel table: 0-4 MiB identity, page tables read-only
.pte:
    mov eax, ecx
    shl eax, 12
    mov edx, 3
    cmp eax, page_tables
    jb .store
    cmp eax, page_tables_end
    jae .store
    mov edx, 1
.store:
    or eax, edx
    mov [kernel_table + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .pte
    mov dword [directory], kernel_table + 3
    mov dword [directory + 4], window_table + 7
    mov eax, directory
    shr eax, 12
    HYPERVISOR_new_baseptr eax
    mov esi, name_base
    call print_result

    HYPERVISOR_update_va_mapping WINDOW, VMM_FRAME + 3, UVMF_INVLPG
    mov esi, name_vmm
    call print_result
    HYPERVISOR_update_va_mapping WINDOW, kernel_table + 3, UVMF_INVLPG
    mov esi, name_ptw
    call print_result
    HYPERVISOR_platform_parameters          ; HYPERVISOR_VIRT_START -> its directory slot
    shr eax, 22
    lea eax, [directory + eax * 4]
    mov [request], eax
    mov dword [request + 8], window_table + 7
    HYPERVISOR_mmu_update request, 1, done
    mov esi, name_slot
    call print_result
    mov dword [request], directory + 2 * 4
    mov dword [request + 8], 0x00800000 + 0x83
    HYPERVISOR_mmu_update request, 1, done
    mov esi, name_pse
    call print_result
    mov dword [request], data_page
    mov dword [request + 8], 0x1234
    HYPERVISOR_mmu_update request, 1, done
    mov esi, name_notpt
    call print_result

    HYPERVISOR_update_va_mapping WINDOW, data_page + 7, UVMF_INVLPG
    mov esi, name_map
    call print_result
    mov dword [WINDOW + 16], 0xC0FFEE
    mov eax, [data_page + 16]
    mov esi, name_alias
    call print_result

    mov eax, 0x5A5A5A5A
    mov [kernel_table + 8], eax             ; a plain store into a page table: #PF (5 bytes: A3 disp32)
    mov eax, [pf_cr2]
    sub eax, kernel_table                   ; CR2 relative to the table: 8
    mov esi, name_pf_cr2
    call print_result
    mov eax, [kernel_table + 8]             ; the entry kept its value: the store did not happen
    mov esi, name_pf_entry
    call print_result
    mov eax, [pf_code]
    mov esi, name_pf_code
    call print_result

    HYPERVISOR_console_read input, 16
    mov esi, name_read
    call print_result
    mov esi, input
    call print

    push dword 0x202                        ; EFLAGS
    push dword 0x0800                       ; CS: the VMM's own code selector
    push dword _start                       ; EIP
    push dword 0                            ; EAX
    HYPERVISOR_iret
    HYPERVISOR_crash 0x11                   ; not reached

failsafe_callback:
    mov esp, stack_top
    mov esi, msg_failsafe
    call print
    HYPERVISOR_shutdown 0x10

event_callback:
    HYPERVISOR_crash 0x11

pf_handler:                                 ; [esp] = error code, [esp + 4] = EIP
    push eax
    mov eax, [shared_info + SHINFO_CR2]
    mov [pf_cr2], eax
    mov eax, [esp + 4]
    mov [pf_code], eax
    add dword [esp + 8], 5                  ; skip the faulting store
    pop eax
    add esp, 4                              ; drop the error code
    push eax
    HYPERVISOR_iret

; print_result: ESI = name, EAX = value -> "name=0x........\n"
print_result:
    pushad
    call print
    mov edx, eax
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
    stosb
    loop .digit
    mov esi, hex_line
    call print
    popad
    ret

print:                                      ; ESI = NUL-terminated string
    pushad
    mov edx, esi
    xor ecx, ecx
.length:
    cmp byte [esi + ecx], 0
    je .write
    inc ecx
    jmp .length
.write:
    HYPERCALL console_io, CONSOLEIO_write, ecx, edx
    popad
    ret

    section .data
trap_table:
    TRAP_INFO 14, 0, FLAT_RING1_CS, pf_handler
    TRAP_INFO_END
name_base:      db "base=", 0
name_vmm:       db "vmm=", 0
name_ptw:       db "ptw=", 0
name_slot:      db "slot=", 0
name_pse:       db "pse=", 0
name_notpt:     db "notpt=", 0
name_map:       db "map=", 0
name_alias:     db "alias=", 0
name_pf_cr2:    db "pf.cr2-table=", 0
name_pf_entry:  db "pf.entry=", 0
name_pf_code:   db "pf.code=", 0
name_read:      db "read=", 0
msg_failsafe:   db "failsafe", 10, 0
hex_line:       db "0x"
hex_digits:     db "00000000", 10, 0
input:          times 17 db 0

    section .bss
alignb 4096
shared_info:    resb 4096
data_page:      resb 4096
page_tables:
kernel_table:   resb 4096
window_table:   resb 4096
directory:      resb 4096
page_tables_end:
request:        resb 16
done:           resd 1
pf_cr2:         resd 1
pf_code:        resd 1
alignb 16
                resb 4096
stack_top:

MULTIBOOT_END
