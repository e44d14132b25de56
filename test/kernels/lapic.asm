; lapic.asm - the local APIC (SDM Vol. 3A ch. 11) as a Multiboot kernel sees it: the register values the
; firmware leaves, a one-shot and a periodic APIC timer (vector 0x40) taken in STI;HLT;CLI windows so each
; window takes exactly one interrupt however fast the host is (QEMU's APIC timer follows the host clock), the
; ISR/PPR seen inside the handler, and TPR holding back a self-IPI until it is lowered. (Not the ESR: QEMU 7.2
; does not log send/receive-illegal-vector errors; the unit tests hold that to the SDM.) Exit value 0. Used by test/unit/devices/lapicKernel.test.ts against qemu-system-i386.
bits 32
%include "hdr.inc"
APIC equ 0xFEE00000
section .text
global _start
_start:
    mov esp, stack_top
    call sys_init
    mov eax, timer_isr
    mov ebx, 0x40
    mov dl, 0x8E
    call set_gate
    mov eax, ipi_isr
    mov ebx, 0x41
    call set_gate
    mov esi, s_entry                    ; firmware state: ID, version, SVR, LINT0, LINT1, LVT timer, TPR
    call puts
    mov ebx, entry_regs
    call dump_regs
    mov ecx, 0x1B                       ; IA32_APIC_BASE: BSP, enabled, 0xFEE00000
    rdmsr
    call puthex
    call newline

    mov dword [APIC + 0x3E0], 0x3       ; divide by 16
    mov dword [APIC + 0x320], 0x40      ; one-shot, vector 0x40
    mov dword [APIC + 0x380], 0x8000    ; initial count
    mov eax, [APIC + 0x390]
    cmp eax, 0x8000
    ja .bad
    sti
    hlt
    cli
    mov esi, s_oneshot
    call puts
    call report
    mov eax, [APIC + 0x390]             ; a one-shot timer stays at 0
    call puthex
    call newline

    mov dword [APIC + 0x320], 0x20040   ; periodic, vector 0x40
    mov dword [APIC + 0x380], 0x4000
    mov ecx, 3
.window:
    sti
    hlt
    cli
    loop .window
    mov esi, s_periodic
    call puts
    call report
    mov eax, [APIC + 0x320]
    call puthex
    call newline

    mov dword [APIC + 0x80], 0x50       ; TPR class 5 holds back vector 0x41 (class 4)
    mov dword [APIC + 0x300], 0x00044041 ; fixed self-IPI, vector 0x41
    sti
    nop
    nop
    cli
    mov esi, s_tpr
    call puts
    mov eax, [ipis]
    call puthex
    mov eax, [APIC + 0x220]             ; IRR word 2: bit 1 = vector 0x41 pending
    and eax, 2
    call puthex
    mov eax, [APIC + 0xA0]              ; PPR
    call puthex
    mov dword [APIC + 0x80], 0
    sti
    nop
    cli
    mov eax, [ipis]
    call puthex
    mov eax, [APIC + 0x220]
    and eax, 2
    call puthex
    call newline

    mov al, 0
    jmp exit_qemu
.bad:
    mov al, 1
    jmp exit_qemu

report:                                 ; ticks, ISR word 2 and PPR seen in the handler
    mov eax, [ticks]
    call puthex
    mov eax, [isr_seen]
    call puthex
    mov eax, [ppr_seen]
    call puthex
    ret

dump_regs:                              ; ebx = list of register offsets ending with -1
.next:
    mov eax, [ebx]
    cmp eax, -1
    je .done
    mov eax, [APIC + eax]
    call puthex
    add ebx, 4
    jmp .next
.done:
    call newline
    ret

timer_isr:
    push eax
    and dword [esp + 12], ~0x200        ; return with IF=0: one interrupt per window
    inc dword [ticks]
    cmp dword [ticks], 4
    jb .keep
    mov dword [APIC + 0x380], 0         ; the last periodic tick stops the timer before EOI: no tick left pending
.keep:
    mov eax, [APIC + 0x120]             ; ISR word 2: bit 0 = vector 0x40 in service
    mov [isr_seen], eax
    mov eax, [APIC + 0xA0]              ; PPR = 0x40 while it is in service
    mov [ppr_seen], eax
    mov dword [APIC + 0xB0], 0          ; EOI
    pop eax
    iretd

ipi_isr:
    inc dword [ipis]
    mov dword [APIC + 0xB0], 0
    iretd
%include "lib.inc"
%include "sys.inc"
section .data
entry_regs: dd 0x20, 0x30, 0xF0, 0x350, 0x360, 0x320, 0x80, -1
s_entry:    db "entry ", 0
s_oneshot:  db "one-shot ", 0
s_periodic: db "periodic ", 0
s_tpr:      db "tpr ", 0
section .bss
ticks:    resd 1
isr_seen: resd 1
ppr_seen: resd 1
ipis:     resd 1
    resb 4096
stack_top:
