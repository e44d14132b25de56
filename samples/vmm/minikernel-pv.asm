; minikernel-pv.asm - the paravirtual port of minikernel.asm (technique `paravirtual` only). The same kernel
; and the same ring-3 user program, with every privileged operation replaced by a hypercall (ABI:
; docs/vmm/hypercall-abi.md; macros: samples/include/hypercall.inc), the way Xen ported Linux/XenoLinux
; (Barham et al., SOSP 2003, Table 1):
;   lgdt/far jmp     -> nothing: the VMM provides flat ring-1/ring-3 selectors (FLAT_RING1_CS ...)
;   ltr + TSS.esp0   -> stack_switch(FLAT_RING1_DS, kernel_stack_top)
;   lidt + gates     -> set_trap_table, with int 0x80 as a FAST trap (straight from ring 3 to ring 1)
;   in/out to COM1   -> console_io(CONSOLEIO_write, len, buf): one hypercall per string, not 2 traps per byte
;   PIC + PIT        -> event channel bound to VIRQ_TIMER, one-shot set_timer_op re-armed every tick
;   cli / sti        -> a store to the event mask in the shared-info page (PV_CLI / PV_STI), no trap
;   sti; hlt         -> sched_op(SCHEDOP_block)
;   iret to ring 3   -> the iret hypercall (it also sets the event mask from the frame's IF)
;   out 0xf4         -> sched_op(SCHEDOP_shutdown, poweroff, status)
; It cannot run natively (int 0x82 has no handler on bare metal). The paravirtual engine
; (src/emulator/vmm/paravirtual/engine.ts) runs it; test/unit/vmm/paravirtual.test.ts checks the output below.
;
; Expected serial output under `paravirtual` - the same as minikernel.asm natively (equivalence):
;     minikernel: booting
;     minikernel: 3 timer ticks
;     user: hello from ring 3
;     user: sum 1..100 = 5050
;     minikernel: #GP from ring 3 (cli), skipped
;     user: the timer kept ticking
;     minikernel: user program exited with status 0
; and exit status 33 (sched_op shutdown with status 0x10).
;
; What a student should observe:
;  * the trace has hypercall transitions (guest-kernel -> vmm, "hypercall 18 console_io", ...) where the
;    trap-and-emulate run of minikernel.asm had hundreds of #GP traps: count them in the cost summary.
;  * the user's int 0x80 system calls cause NO transition into the VMM at all (fast trap): compare with
;    minikernel.asm under trap-and-emulate, where each one is a trap into the VMM plus a reflection.
;  * the user's `cli` still faults (#GP at CPL 3); the VMM reflects it through the virtual trap table to the
;    guest's #GP handler - as Xen does.
;  * timer ticks arrive as event upcalls ("interrupt-injection" into the event callback) and are masked by a
;    plain store while the kernel holds the event mask.
;  * architectures: console_io is served by the VMM's console (monolithic), forwarded to the management OS
;    console back end (microkernel), or world-switched to the host process (hosted) - one hop per string.
bits 32
%include "../include/multiboot.inc"
%include "../include/hypercall.inc"

SYS_EXIT        equ 0
SYS_WRITE       equ 1
SYS_TICKS       equ 2
SYS_WRITE_DEC   equ 3
BOOT_TICKS      equ 3
TICK_NS         equ 1000000             ; 1 ms, as the native kernel's PIT divisor 1193
EXIT_SUCCESS    equ 0x10
EXIT_FAILURE    equ 0x11

MULTIBOOT_HEADER

_start:                                 ; entered at CPL 1, CS = FLAT_RING1_CS, DS = SS = FLAT_RING1_DS, events masked
    mov esp, kernel_stack_top
    mov esi, msg_boot
    call puts
    HYPERVISOR_stack_switch FLAT_RING1_DS, kernel_stack_top
    HYPERVISOR_set_trap_table trap_table
    HYPERVISOR_set_callbacks event_callback, failsafe_callback, shared_info
    HYPERVISOR_bind_virq VIRQ_TIMER
    mov [timer_port], eax
    call arm_timer

    PV_STI shared_info                  ; events on (a store, plus a null hypercall if one is pending)
.wait_ticks:
    HYPERVISOR_block                    ; the PV "sti; hlt": sleep until an event arrives
    cmp dword [ticks], BOOT_TICKS
    jb .wait_ticks
    mov esi, msg_ticks
    call puts

    ; enter ring 3 through the iret hypercall: frame {EAX, EIP, CS, EFLAGS, ESP, SS}
    PV_CLI shared_info
    push dword FLAT_RING3_DS            ; SS
    push dword user_stack_top           ; ESP
    push dword 0x202                    ; EFLAGS: IF = 1 -> events unmasked in user mode
    push dword FLAT_RING3_CS            ; CS
    push dword user_main                ; EIP
    push dword 0                        ; EAX
    mov ax, FLAT_RING3_DS
    mov ds, ax
    mov es, ax
    HYPERVISOR_iret

; ESI = zero-terminated string -> one console_io hypercall
puts:
    push eax
    push ebx
    push ecx
    push edx
    mov edx, esi
.length:
    cmp byte [edx], 0
    je .write
    inc edx
    jmp .length
.write:
    sub edx, esi
    HYPERVISOR_console_write esi, edx
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

; EAX = value -> decimal through console_io
putdec:
    push eax
    push ebx
    push edx
    push edi
    mov edi, decimal_buffer + 11
    mov byte [edi], 0
    mov ebx, 10
.divide:
    xor edx, edx
    div ebx
    add dl, '0'
    dec edi
    mov [edi], dl
    test eax, eax
    jnz .divide
    push esi
    mov esi, edi
    call puts
    pop esi
    pop edi
    pop edx
    pop ebx
    pop eax
    ret

; one-shot timer at (system time rounded down to a tick) + 1 tick
arm_timer:
    push eax
    push ebx
    push ecx
    push edx
    mov eax, [shared_info + SHINFO_SYSTEM_TIME_NS]
    mov edx, [shared_info + SHINFO_SYSTEM_TIME_NS + 4]
    add eax, TICK_NS
    adc edx, 0
    HYPERVISOR_set_timer_op eax, edx
    pop edx
    pop ecx
    pop ebx
    pop eax
    ret

; ---- event upcall: entered at ring 1 with events masked and an interrupt frame on the ring-1 stack ----
event_callback:
    pushad
    mov byte [shared_info + SHINFO_UPCALL_PENDING], 0
    mov eax, [timer_port]
    lock btr dword [shared_info + SHINFO_EVTCHN_PENDING], eax
    jnc .done
    inc dword [ticks]
    call arm_timer
.done:
    popad
    push eax                            ; the iret hypercall frame starts with EAX
    HYPERVISOR_iret                     ; restores EAX and the event mask from the frame's EFLAGS.IF

failsafe_callback:
    mov esi, msg_failsafe
    call puts
    HYPERVISOR_crash EXIT_FAILURE

; ---- traps (through the virtual trap table) ----
syscall_handler:                        ; FAST trap gate: from ring 3 straight to ring 1, no VMM involved
    push ds
    push es
    push eax
    mov ax, FLAT_RING1_DS
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
    push edx
    mov edx, ebx                        ; the macros load EBX first: move the buffer out of its way
    HYPERCALL console_io, CONSOLEIO_write, ecx, edx
    pop edx
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
    mov esi, newline_string
    call puts
    HYPERVISOR_shutdown EXIT_SUCCESS
.return:
    pop es
    pop ds
    iretd                               ; ring 1 -> ring 3 needs no VMM help (a return to an outer ring)

gp_handler:                             ; error code on the stack, as the CPU would push it
    test dword [esp + 8], 3
    jz fault_handler
    cmp dword [esp + 8], FLAT_RING3_CS
    jne fault_handler
    push esi
    mov esi, msg_user_gp
    call puts
    pop esi
    inc dword [esp + 4]                 ; skip the user's one-byte cli
    add esp, 4                          ; drop the error code
    push eax
    HYPERVISOR_iret

fault_handler:
    mov esi, msg_fault
    call puts
    HYPERVISOR_crash EXIT_FAILURE

; ---- ring 3: the user program, byte for byte the same logic as in minikernel.asm ----
user_main:
    mov eax, SYS_WRITE
    mov ebx, msg_user_hello
    mov ecx, msg_user_hello_len
    int 0x80
    xor eax, eax
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
    cli                                 ; #GP at CPL 3, reflected to gp_handler
    mov eax, SYS_TICKS
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

    section .data
trap_table:
%assign vector 0
%rep 32
%if vector == 13
    TRAP_INFO 13, 0, FLAT_RING1_CS, gp_handler
%else
    TRAP_INFO vector, 0, FLAT_RING1_CS, fault_handler
%endif
%assign vector vector + 1
%endrep
    TRAP_INFO 0x80, 3 | TI_FAST, FLAT_RING1_CS, syscall_handler
    TRAP_INFO_END
timer_port:       dd 0
ticks:            dd 0
decimal_buffer:   times 12 db 0
msg_boot:         db "minikernel: booting", 10, 0
msg_ticks:        db "minikernel: 3 timer ticks", 10, 0
msg_user_gp:      db "minikernel: #GP from ring 3 (cli), skipped", 10, 0
msg_exit:         db "minikernel: user program exited with status ", 0
msg_fault:        db "minikernel: unexpected exception in the kernel", 10, 0
msg_failsafe:     db "minikernel: failsafe callback (bad iret frame)", 10, 0
newline_string:   db 10, 0
msg_user_hello:   db "user: hello from ring 3", 10
msg_user_hello_len equ $ - msg_user_hello
msg_user_sum:     db "user: sum 1..100 = "
msg_user_sum_len  equ $ - msg_user_sum
msg_user_ticking: db "user: the timer kept ticking", 10
msg_user_ticking_len equ $ - msg_user_ticking
newline:          db 10

    section .bss
alignb 4096
shared_info:      resb 4096             ; registered with set_callbacks: event pending/mask bits, system time
alignb 16
                  resb 4096
kernel_stack_top:
                  resb 4096
user_stack_top:

MULTIBOOT_END
