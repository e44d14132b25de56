; popf-demo.asm - POPF and PUSHF break trap-and-emulate (Robin & Irvine 2000; Popek & Goldberg's "sensitive
; but not privileged"). A kernel disables interrupts the way much real code does - PUSHFD / clear IF / POPFD -
; then runs a critical section and counts the timer interrupts that arrived inside it.
;
; SDM rules involved (Vol. 2B POPF; Vol. 3A 2.3; virtualization.md §3): at CPL 0 POPF changes IF. At CPL > IOPL
; (a deprivileged kernel at CPL 1 with IOPL 0) POPF leaves IF unchanged and raises NO exception; PUSHF always
; pushes the real EFLAGS. CLI/STI at CPL > IOPL raise #GP(0), so they at least reach the VMM.
;
; Expected serial output natively (exit status 33):
;     popf-demo: timer running
;     popf-demo: after cli, pushf shows IF=0
;     popf-demo: after popf, pushf shows IF=0
;     popf-demo: timer interrupts inside the critical section: 0
;     popf-demo: verdict: interrupts stayed disabled (as on bare metal)
;
; What a student should observe:
;  * native, binary-translation, hardware-assisted: the output above. (BT rewrites popf/pushf into code on the
;    virtual IF; VT-x runs the guest at CPL 0 in non-root mode, so POPF works natively.)
;  * trap-and-emulate: `cli` traps (#GP at CPL1) and the VMM clears the VIRTUAL IF - but the next `pushfd` runs
;    unprivileged and shows the REAL IF, still 1 ("after cli, pushf shows IF=1"). The `popfd` with IF clear
;    does not trap and does not change anything: the virtual IF stays 1, the VMM keeps injecting timer
;    interrupts, and the critical section is interrupted ("timer interrupts inside the critical section: N" with
;    N > 0, verdict "interrupt state LOST", exit status 37 = 0x12 << 1 | 1). In the trace look for the absence
;    of any transition at the popfd, then "interrupt-injection" events inside the loop.
;  * Build with -DSIMULATE_LOST_IF to see, natively (e.g. in QEMU), exactly the output trap-and-emulate
;    produces: the test suite does this to prove the critical section is long enough to catch interrupts.
;  * paravirtual: not applicable (a PV kernel clears the event mask in the shared-info page instead).
;  * architectures do not change the lesson; they change what each timer interrupt costs.
bits 32
%define PIT_DIVISOR 1193                ; about 1000 Hz
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

EFLAGS_IF       equ 0x200
CRITICAL_LOOPS  equ 4000000             ; long enough to span several timer periods on any engine

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    mov eax, timer_handler
    mov ebx, IRQ0_VECTOR
    mov dl, GATE_INT_DPL0
    call set_gate
    call pic_remap
    call pit_start
    sti
.wait_tick:
    hlt
    cmp dword [ticks], 1
    jb .wait_tick
    mov esi, msg_running
    call puts

    ; 1. CLI then PUSHF: does the pushed IF agree with the CLI?
%ifndef SIMULATE_LOST_IF
    cli
%endif
    pushfd
    pop eax
    sti
    mov esi, msg_after_cli
    call print_if

    ; 2. The lesson: disable interrupts with POPF
    pushfd
    pop eax
    and eax, ~EFLAGS_IF
    push eax
    popfd                               ; intended: IF <- 0
%ifdef SIMULATE_LOST_IF
    sti                                 ; test aid: make the real CPU behave as trap-and-emulate makes it
%endif
    pushfd
    pop eax
    mov esi, msg_after_popf
    call print_if

    mov ebx, [ticks]                    ; critical section: nothing should interrupt it
    mov ecx, CRITICAL_LOOPS
.critical:
    dec ecx
    jnz .critical
    mov eax, [ticks]
    sub eax, ebx
    mov ebx, eax                        ; EBX = interrupts that arrived inside the critical section
    sti
    mov esi, msg_count
    call puts
    mov eax, ebx
    call putdec
    mov al, 10
    call putc
    test ebx, ebx
    jnz .lost
    mov esi, msg_kept
    call puts
    EXIT_QEMU EXIT_SUCCESS
.lost:
    mov esi, msg_lost
    call puts
    EXIT_QEMU EXIT_LESSON

; ESI = prefix; EAX = EFLAGS image; prints "<prefix>IF=<0|1>"
print_if:
    call puts
    test eax, EFLAGS_IF
    mov al, '0'
    jz .print
    mov al, '1'
.print:
    call putc
    mov al, 10
    call putc
    ret

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
ticks:          dd 0
msg_running:    db "popf-demo: timer running", 10, 0
msg_after_cli:  db "popf-demo: after cli, pushf shows IF=", 0
msg_after_popf: db "popf-demo: after popf, pushf shows IF=", 0
msg_count:      db "popf-demo: timer interrupts inside the critical section: ", 0
msg_kept:       db "popf-demo: verdict: interrupts stayed disabled (as on bare metal)", 10, 0
msg_lost:       db "popf-demo: verdict: interrupt state LOST - popf could not clear IF, the critical section was interrupted", 10, 0
msg_fault:      db "popf-demo: unexpected exception", 10, 0

MULTIBOOT_END
