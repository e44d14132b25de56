; redpill.asm - the "red pill" (after J. Rutkowska, 2004): SIDT is not privileged, so a guest can read the
; IDT register - and under a VMM that keeps the real IDTR pointing at its own table, it sees the VMM's table
; instead of the one it loaded. Robin & Irvine (USENIX Security 2000) list SGDT, SIDT, SLDT, STR and SMSW among
; the 17 sensitive-but-unprivileged IA-32 instructions; MOV from CS (the RPL is the CPL) belongs to the same
; family. This kernel loads its own GDT, IDT and TSS, then compares what the unprivileged instructions report
; with what it loaded.
;
; Expected serial output natively (exit status 33); <...> are this build's addresses:
;     redpill: sidt base=<idt> limit=0x000007ff, loaded base=<idt> limit=0x000007ff: same
;     redpill: sgdt base=<gdt> limit=0x0000002f, loaded base=<gdt> limit=0x0000002f: same
;     redpill: str=0x00000028, loaded 0x00000028: same
;     redpill: smsw=0x........, mov from cr0 low word=0x........: same
;     redpill: cs=0x00000008, RPL 0: same
;     redpill: verdict: no VMM visible (bare metal, or a VMM that virtualizes these instructions)
;
; What a student should observe:
;  * native: every line "same", exit status 33. (Build with -DSIMULATE_VMM_IDT to make the real IDTR differ
;    from the loaded one, as a VMM's would: the sidt line turns DIFFERENT - the tests check both.)
;  * trap-and-emulate: lgdt/lidt/ltr trapped and only changed the VIRTUAL registers; sidt/sgdt/str run
;    unprivileged on the real CPU and return the VMM's tables ("different"), cs shows RPL 1 (the kernel was
;    deprivileged to ring 1), smsw may show the VMM's CR0 bits while `mov eax, cr0` (privileged, emulated)
;    shows the virtual CR0. Verdict "a VMM is visible", exit status 37. Note that no line of this output
;    needed a trap: the guest learnt all of it without the VMM noticing.
;  * binary-translation: sidt/sgdt/str/smsw and mov-from-cs are rewritten to read the virtual CPU: all "same".
;  * hardware-assisted: GDTR/IDTR/TR are guest state in the VMCS and the kernel runs at CPL 0 in non-root mode:
;    all "same". With the descriptor-table-exiting control on (secondary bit 2), each sidt/sgdt causes VM exit
;    46 and each str exit 47 - watch them in the VM-exit view, still with correct results.
;  * paravirtual: a PV kernel runs at ring 1 and would see the same differences; Xen guests are told so
;    (they are written knowing they are virtualized).
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    xor ebp, ebp                        ; EBP = number of differences found
%ifdef SIMULATE_VMM_IDT
    lidt [simulated_vmm_idt]            ; test aid: the real IDTR now differs from what the kernel "loaded"
%endif

    sidt [stored]
    mov esi, msg_sidt
    mov ebx, std_idt_descriptor
    call compare_table_register

    sgdt [stored]
    mov esi, msg_sgdt
    mov ebx, std_gdt_descriptor
    call compare_table_register

    str eax
    movzx eax, ax
    mov esi, msg_str
    call puts
    call puthex
    mov esi, msg_loaded
    call puts
    mov ecx, STD_TSS
    mov edx, eax
    mov eax, ecx
    call puthex
    cmp edx, ecx
    call print_verdict_line

    smsw eax
    movzx edx, ax
    mov esi, msg_smsw
    call puts
    mov eax, edx
    call puthex
    mov esi, msg_cr0
    call puts
    mov eax, cr0
    movzx ecx, ax
    mov eax, ecx
    call puthex
    cmp edx, ecx
    call print_verdict_line

    mov eax, cs
    movzx edx, ax
    mov esi, msg_cs
    call puts
    mov eax, edx
    call puthex
    mov esi, msg_rpl
    call puts
    mov eax, edx
    and eax, 3
    call putdec
    test edx, 3
    call print_verdict_line

    test ebp, ebp
    jnz .visible
    mov esi, msg_invisible
    call puts
    EXIT_QEMU EXIT_SUCCESS
.visible:
    mov esi, msg_visible
    call puts
    EXIT_QEMU EXIT_LESSON

; ESI = label; `stored` = the 6 bytes SxDT wrote; EBX = the descriptor this kernel loaded. Prints one line.
compare_table_register:
    call puts
    mov esi, msg_base
    call puts
    mov eax, [stored + 2]
    call puthex
    mov esi, msg_limit
    call puts
    movzx eax, word [stored]
    call puthex
    mov esi, msg_loaded_base
    call puts
    mov eax, [ebx + 2]
    call puthex
    mov esi, msg_limit
    call puts
    movzx eax, word [ebx]
    call puthex
    mov eax, [stored + 2]
    cmp eax, [ebx + 2]
    jne .differs
    mov ax, [stored]
    cmp ax, [ebx]
.differs:
    call print_verdict_line
    ret

; Flags from the preceding comparison: ZF = 1 means "same". Counts differences in EBP.
print_verdict_line:
    mov esi, msg_same
    je .print
    mov esi, msg_different
    inc ebp
.print:
    call puts
    ret

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
simulated_vmm_idt: dw 0x00FF
                 dd idt
stored:          dw 0
                 dd 0
msg_sidt:        db "redpill: sidt", 0
msg_sgdt:        db "redpill: sgdt", 0
msg_base:        db " base=", 0
msg_limit:       db " limit=", 0
msg_loaded_base: db ", loaded base=", 0
msg_str:         db "redpill: str=", 0
msg_loaded:      db ", loaded ", 0
msg_smsw:        db "redpill: smsw=", 0
msg_cr0:         db ", mov from cr0 low word=", 0
msg_cs:          db "redpill: cs=", 0
msg_rpl:         db ", RPL ", 0
msg_same:        db ": same", 10, 0
msg_different:   db ": DIFFERENT", 10, 0
msg_invisible:   db "redpill: verdict: no VMM visible (bare metal, or a VMM that virtualizes these instructions)", 10, 0
msg_visible:     db "redpill: verdict: a VMM is visible - the guest sees tables and privilege levels it did not set up", 10, 0
msg_fault:       db "redpill: unexpected exception", 10, 0

MULTIBOOT_END
