; byovmm.asm - bring your own VMM: a tiny hypervisor written in assembly that uses the CPU's VMX instructions
; (Intel SDM Vol. 3C chapters 24-27, 30) to run a guest in VMX non-root operation, the way KVM or Xen do.
; Run it on HyperStep with a machine whose CPU exposes VMX (recipe cpu.vmx = true); the debugger then sees the
; host (VMX root) and the guest (non-root) in one CPU.
;
; What it does, in the order the SDM requires:
;   1. CPUID.1:ECX.VMX[bit 5] must be 1; CR4.VMXE = 1; IA32_FEATURE_CONTROL (MSR 0x3A) locked with
;      "VMXON outside SMX" (bits 0 and 2) - SDM 23.7.
;   2. CR0 must satisfy IA32_VMX_CR0_FIXED0/1 (PE, NE, PG here): paging on with 4-MiB identity pages.
;   3. VMXON with a 4-KiB region holding the VMCS revision identifier from IA32_VMX_BASIC (MSR 0x480).
;   4. VMCLEAR + VMPTRLD a second region: the current VMCS.
;   5. VMWRITE the controls (the capability MSRs' allowed-0 bits plus unconditional I/O exiting), the guest
;      state (a flat 32-bit ring-0 guest sharing the host's GDT) and the host state (where VM exits land).
;   6. VMLAUNCH. The guest prints over COM1; every IN/OUT is a VM exit (reason 30) that this VMM emulates: it
;      decodes the exit qualification (port, size, direction - SDM Table 27-5), answers the UART's line
;      status register itself and forwards transmitted bytes to the real COM1, advances GUEST_RIP by the
;      VM-exit instruction length and VMRESUMEs. The guest ends with VMCALL (reason 18).
;
; Expected serial output on HyperStep with VMX (exit status 33):
;     byovmm: VMXON ok, launching the guest
;     guest: hello from VMX non-root operation
;     byovmm: guest finished with VMCALL after N I/O exits
; Without VMX (e.g. qemu-system-i386 -kernel, TCG has no VT-x) it prints "byovmm: this CPU has no VMX" and
; exits with status 35.
;
; Built with -DEPT (nasm -DEPT) the VMM also gives its guest extended page tables (SDM Vol. 3C 29.3): a 4-level
; EPT (PML4 -> PDPT -> PD) whose first 2 MiB go through a page table with NO page mapped, and whose next
; 30 MiB are 2-MiB identity pages. Every first touch of a guest page in the first 2 MiB (its code, its
; message) is an EPT violation (exit 48): the handler reads the guest-physical address (VMCS field 0x2400)
; and the qualification (bits 2:0 read/write/fetch, SDM Table 28-7), maps that 4-KiB page identically
; (read/write/execute, write-back), runs INVEPT (single-context) and VMRESUMEs - the guest retries the access
; and never notices. The last line then reads
;     byovmm: guest finished with VMCALL after N I/O exits and M EPT violations (F on instruction fetches)
; On HyperStep M = 2: the guest's page-directory read during its own page walk (a guest paging-structure
; access: qualification bit 8 clear) and the fetch of its first instruction (its message shares that page).
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

; VMCS field encodings (SDM Vol. 3D Appendix B)
PIN_CONTROLS    equ 0x4000
PROC_CONTROLS   equ 0x4002
EXIT_CONTROLS   equ 0x400C
ENTRY_CONTROLS  equ 0x4012
VM_INSTR_ERROR  equ 0x4400
EXIT_REASON     equ 0x4402
EXIT_INSTR_LEN  equ 0x440C
EXIT_QUAL       equ 0x6400
GUEST_RSP       equ 0x681C
GUEST_RIP       equ 0x681E
UNCOND_IO_EXIT  equ 1 << 24
SECONDARY_CTLS  equ 1 << 31             ; primary bit 31: activate the secondary controls
PROC2_CONTROLS  equ 0x401E
EPT_POINTER     equ 0x201A              ; 64-bit field: 0x201A full, 0x201B high
GUEST_PHYS_ADDR equ 0x2400
ENABLE_EPT      equ 1 << 1              ; secondary bit 1
EPT_RWX_WB      equ 7 | (6 << 3)        ; leaf: read, write, execute; memory type 6 (write-back)

%macro VMW 2                            ; VMWRITE field, value (clobbers eax, ebx; value may be eax)
    mov ebx, %2
    mov eax, %1
    vmwrite eax, ebx
%endmacro

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    mov eax, 1
    cpuid
    test ecx, 1 << 5
    jnz .has_vmx
    mov esi, msg_no_vmx
    call puts
    EXIT_QEMU EXIT_FAILURE
.has_vmx:
    ; Paging: 4-MiB identity pages (CR4.PSE), because IA32_VMX_CR0_FIXED0 requires CR0.PG in VMX operation.
    mov edi, page_directory
    mov eax, 0x87                       ; present, writable, user, 4 MiB
    mov ecx, 1024
.pde:
    mov [edi], eax
    add eax, 0x400000
    add edi, 4
    loop .pde
    mov eax, page_directory
    mov cr3, eax
    mov eax, cr4
    or eax, 0x2010                      ; VMXE | PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80000020                  ; PG | NE
    mov cr0, eax
    mov ecx, 0x3A                       ; IA32_FEATURE_CONTROL
    rdmsr
    test eax, 1
    jnz .locked
    mov eax, 5                          ; lock | enable VMXON outside SMX
    xor edx, edx
    wrmsr
.locked:
    mov ecx, 0x480                      ; IA32_VMX_BASIC[30:0] = VMCS revision identifier
    rdmsr
    mov [vmxon_region], eax
    mov [vmcs_region], eax
    vmxon [vmxon_pointer]
    jbe vmx_failed
    vmclear [vmcs_pointer]
    jbe vmx_failed
    vmptrld [vmcs_pointer]
    jbe vmx_failed

    ; Controls: every allowed-0 bit of the capability MSRs, plus unconditional I/O exiting.
    mov ecx, 0x481
    rdmsr
    VMW PIN_CONTROLS, eax
    mov ecx, 0x482
    rdmsr
    or eax, UNCOND_IO_EXIT
%ifdef EPT
    or eax, SECONDARY_CTLS
%endif
    VMW PROC_CONTROLS, eax
%ifdef EPT
    call build_ept
    VMW PROC2_CONTROLS, ENABLE_EPT
    VMW EPT_POINTER, ept_pml4 + (3 << 3) + 6 ; EPTP: 4-level walk (bits 5:3 = 3), write-back (SDM 25.6.11)
    VMW EPT_POINTER + 1, 0
%endif
    mov ecx, 0x483
    rdmsr
    VMW EXIT_CONTROLS, eax
    mov ecx, 0x484
    rdmsr
    VMW ENTRY_CONTROLS, eax
    VMW 0x2800, 0xFFFFFFFF              ; VMCS link pointer = FFFFFFFF_FFFFFFFF (SDM 26.3.1.5)
    VMW 0x2801, 0xFFFFFFFF

    ; Guest and host control registers: the same as the host's now.
    mov edx, cr0
    VMW 0x6800, edx                     ; GUEST_CR0
    VMW 0x6C00, edx                     ; HOST_CR0
    mov edx, cr3
    VMW 0x6802, edx
    VMW 0x6C02, edx
    mov edx, cr4
    VMW 0x6804, edx
    VMW 0x6C04, edx

    ; Segments: flat 4-GiB, the host's GDT selectors. AR bytes: 0xC09B code, 0xC093 data (SDM Table 25-2).
    xor ecx, ecx
.segments:
    mov edx, STD_KERNEL_DS
    mov esi, 0xC093
    cmp ecx, 1                          ; ES CS SS DS FS GS: index 1 is CS
    jne .data_segment
    mov edx, STD_KERNEL_CS
    mov esi, 0xC09B
.data_segment:
    lea eax, [0x0800 + ecx * 2]         ; GUEST_xS_SELECTOR
    vmwrite eax, edx
    lea eax, [0x0C00 + ecx * 2]         ; HOST_xS_SELECTOR
    vmwrite eax, edx
    lea eax, [0x6806 + ecx * 2]         ; GUEST_xS_BASE
    xor ebx, ebx
    vmwrite eax, ebx
    lea eax, [0x4800 + ecx * 2]         ; GUEST_xS_LIMIT
    mov ebx, 0xFFFFFFFF
    vmwrite eax, ebx
    lea eax, [0x4814 + ecx * 2]         ; GUEST_xS_AR_BYTES
    vmwrite eax, esi
    inc ecx
    cmp ecx, 6
    jb .segments
    VMW 0x080E, STD_TSS                 ; GUEST_TR_SELECTOR
    VMW 0x0C0C, STD_TSS                 ; HOST_TR_SELECTOR
    VMW 0x6814, std_tss                 ; GUEST_TR_BASE
    VMW 0x6C0A, std_tss                 ; HOST_TR_BASE
    VMW 0x480E, 103                     ; GUEST_TR_LIMIT
    VMW 0x4822, 0x008B                  ; GUEST_TR_AR_BYTES: busy 32-bit TSS
    VMW 0x4820, 0x10000                 ; GUEST_LDTR_AR_BYTES: unusable
    VMW 0x6816, std_gdt                 ; GUEST_GDTR_BASE
    VMW 0x4810, std_gdt_end - std_gdt - 1
    VMW 0x6C0C, std_gdt                 ; HOST_GDTR_BASE
    VMW 0x6818, idt                     ; GUEST_IDTR_BASE
    VMW 0x4812, 256 * 8 - 1
    VMW 0x6C0E, idt                     ; HOST_IDTR_BASE
    VMW 0x6820, 0x2                     ; GUEST_RFLAGS (interrupts off)
    VMW GUEST_RSP, guest_stack_top
    VMW GUEST_RIP, guest_main
    VMW 0x6C14, host_stack_top          ; HOST_RSP
    VMW 0x6C16, vm_exit_handler         ; HOST_RIP

    mov esi, msg_launch
    call puts
    vmlaunch
    ; Only reached if VM entry failed.
vmx_failed:
    mov esi, msg_failed
    call puts
    mov eax, VM_INSTR_ERROR
    vmread ebx, eax
    mov eax, ebx
    call putdec
    mov al, 10
    call putc
    EXIT_QEMU EXIT_FAILURE

; ---- VM exits land here (HOST_RIP) with the guest's general registers unchanged (VM exits do not save them).
vm_exit_handler:
    pushad
    mov eax, EXIT_REASON
    vmread ebx, eax
    cmp ebx, 30                         ; I/O instruction
    je .io
    cmp ebx, 18                         ; VMCALL: the guest is done
    je .vmcall
%ifdef EPT
    cmp ebx, 48                         ; EPT violation
    je .ept_violation
%endif
    mov esi, msg_unexpected
    call puts
    mov eax, ebx
    call putdec
    mov al, 10
    call putc
    EXIT_QEMU EXIT_FAILURE
.io:
    inc dword [io_exits]
    mov eax, EXIT_QUAL
    vmread ecx, eax                     ; bits 2:0 size-1, bit 3 IN, bits 31:16 port (SDM Table 27-5)
    mov edx, ecx
    shr edx, 16
    test ecx, 8
    jz .out
    ; IN: the emulated UART is always ready; any other port reads as 0xFF. AL of the saved EAX is replaced.
    mov al, 0xFF
    cmp dx, COM1_LSR
    jne .in_done
    mov al, LSR_THR_EMPTY | 0x40
.in_done:
    mov [esp + 28], al                  ; pushad frame: EAX is the last dword
    jmp .advance
.out:
    cmp dx, COM1
    jne .advance                        ; other ports (UART setup): ignored by the emulated UART
    mov al, [esp + 28]                  ; the guest's AL
    call putc                           ; forward to the real COM1
.advance:
    mov eax, GUEST_RIP
    vmread ebx, eax
    mov eax, EXIT_INSTR_LEN
    vmread ecx, eax
    add ebx, ecx
    mov eax, GUEST_RIP
    vmwrite eax, ebx
    popad
    vmresume
    jmp vmx_failed
.vmcall:
    mov esi, msg_done
    call puts
    mov eax, [io_exits]
    call putdec
    mov esi, msg_done_tail
    call puts
%ifdef EPT
    mov eax, [ept_violations]
    call putdec
    mov esi, msg_ept_tail
    call puts
    mov eax, [ept_fetches]
    call putdec
    mov esi, msg_ept_end
    call puts
%endif
    mov al, 10
    call putc
    EXIT_QEMU EXIT_SUCCESS

%ifdef EPT
; ---- EPT violation: map the guest-physical page identically, invalidate, resume at the same instruction.
.ept_violation:
    inc dword [ept_violations]
    mov eax, EXIT_QUAL
    vmread ecx, eax
    test ecx, 4                         ; bit 2: the access was an instruction fetch
    jz .not_fetch
    inc dword [ept_fetches]
.not_fetch:
    mov eax, GUEST_PHYS_ADDR
    vmread ecx, eax
    cmp ecx, 0x200000                   ; only the first 2 MiB are mapped lazily
    jae .bad_gpa
    shr ecx, 12
    lea edi, [ept_pt + ecx * 8]
    shl ecx, 12
    or ecx, EPT_RWX_WB
    mov [edi], ecx
    mov dword [edi + 4], 0
    mov eax, 1                          ; INVEPT type 1: single-context, for this EPTP
    invept eax, [invept_descriptor]
    popad
    vmresume
    jmp vmx_failed
.bad_gpa:
    mov esi, msg_bad_gpa
    call puts
    EXIT_QEMU EXIT_FAILURE

; EPT for guest-physical 0-32 MiB: PML4[0] -> PDPT[0] -> PD; PD[0] -> an empty page table (lazy 4-KiB pages),
; PD[1..15] -> 2-MiB identity pages. Non-leaf entries allow read, write and execute (bits 2:0).
build_ept:
    mov dword [ept_pml4], ept_pdpt + 7
    mov dword [ept_pdpt], ept_pd + 7
    mov dword [ept_pd], ept_pt + 7
    mov ecx, 1
.large:
    mov eax, ecx
    shl eax, 21
    or eax, EPT_RWX_WB | 0x80           ; bit 7: a 2-MiB page
    mov [ept_pd + ecx * 8], eax
    inc ecx
    cmp ecx, 16
    jb .large
    ret
%endif

; ---- The guest: ordinary polled COM1 output, unaware of the VMM except for the final VMCALL.
guest_main:
    mov esi, msg_guest
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1_LSR
.wait:
    in al, dx
    test al, LSR_THR_EMPTY
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    vmcall
    hlt

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
vmxon_pointer:  dd vmxon_region, 0
vmcs_pointer:   dd vmcs_region, 0
io_exits:       dd 0
msg_no_vmx:     db "byovmm: this CPU has no VMX", 10, 0
msg_launch:     db "byovmm: VMXON ok, launching the guest", 10, 0
msg_failed:     db "byovmm: VMX instruction failed, VM-instruction error ", 0
msg_unexpected: db "byovmm: unexpected VM exit ", 0
msg_done:       db "byovmm: guest finished with VMCALL after ", 0
%ifdef EPT
msg_done_tail:  db " I/O exits and ", 0
msg_ept_tail:   db " EPT violations (", 0
msg_ept_end:    db " on instruction fetches)", 0
msg_bad_gpa:    db "byovmm: EPT violation outside the lazily mapped 2 MiB", 10, 0
ept_violations: dd 0
ept_fetches:    dd 0
align 16
invept_descriptor: dd ept_pml4 + (3 << 3) + 6, 0, 0, 0
%else
msg_done_tail:  db " I/O exits", 0
%endif
msg_guest:      db "guest: hello from VMX non-root operation", 10, 0
msg_fault:      db "byovmm: unexpected exception", 10, 0

    section .bss
alignb 4096
page_directory: resb 4096
vmxon_region:   resb 4096
vmcs_region:    resb 4096
                resb 4096
host_stack_top:
                resb 4096
guest_stack_top:
%ifdef EPT
ept_pml4:       resb 4096
ept_pdpt:       resb 4096
ept_pd:         resb 4096
ept_pt:         resb 4096
%endif

MULTIBOOT_END
