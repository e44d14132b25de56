; forkbench.asm - a page-table-heavy, fork-like guest (issue 6 "Tests and figures"; the shape of Adams &
; Agesen's forkwait macrobenchmark, ASPLOS 2006, where every fork/exit rewrites page tables and every context
; switch loads CR3). Four address spaces share the kernel's page table (linear 0-4 MiB, identity) and each has
; its own "user" page table mapping an 8-page window at linear 0x00400000. Every round, for each address space
; the kernel remaps the 8 window pages onto different frames of a 16-frame pool (8 PTE writes, as a fork copies
; a parent's mappings), switches CR3 to it, and reads and bumps a counter in each mapped page; a checksum
; over everything read is printed over COM1 at the end:
;     forkbench: 4 address spaces, 64 rounds, 2048 PTE writes, 256 CR3 switches, checksum 0x........
; and the guest exits with status 33. The checksum is the same under every technique (and in QEMU); only the
; cost differs. What to observe (cost summary, `info stats` / memoryStats()):
;  * native: a PTE write is one store, a CR3 switch one instruction (plus TLB refills).
;  * trap-and-emulate / binary-translation with shadow page tables: the guest page tables are write-protected,
;    so each of the 2,048 PTE writes is a tracing fault into the VMM (or, after adaptive re-translation under
;    BT, a callout: A&A's ptemod 12,733 vs 391 cycles), each CR3 switch traps and changes shadow roots, and
;    the first touch of every remapped page is a hidden fault that fills the shadow.
;  * hardware-assisted with EPT: no VMM entry for PTE writes or CR3 loads at all; the cost moves to TLB misses,
;    each a two-dimensional walk (2-level guest over EPT: up to 8+ memory references instead of 2).
;  * paravirtual (build with -DPARAVIRTUAL; Xen direct paging, docs/vmm/hypercall-abi.md): the same program
;    with the page tables mapped read-only, one mmu_update hypercall per address space per round (8 validated
;    PTE writes batched in one trap), and new_baseptr instead of mov cr3: about 520 hypercalls in all, where
;    shadow paging takes thousands of VMM entries (`npm run bench:techniques` prints both).
; Needs more than 8 MiB of RAM (the VMM keeps the top of RAM; the guest uses only the first 8 MiB of linear
; space).
bits 32
%include "../include/multiboot.inc"
%ifdef PARAVIRTUAL
%include "../include/hypercall.inc"
%else
%include "../include/com1.inc"
%include "../include/pc.inc"
%endif

SPACES          equ 4
WINDOW_PAGES    equ 8
POOL_FRAMES     equ 16
ROUNDS          equ 64
WINDOW          equ 0x00400000          ; linear address of the per-space window (directory slot 1)
PTE_KERNEL      equ 0x003               ; present, writable, supervisor
PTE_KERNEL_RO   equ 0x001               ; present, read-only (page-table pages under direct paging)
PTE_USER        equ 0x007               ; present, writable, user
%ifdef PARAVIRTUAL
EXIT_SUCCESS    equ 0x10
%endif

MULTIBOOT_HEADER

_start:
%ifdef PARAVIRTUAL
    mov esp, stack_top                  ; entered at CPL 1 with the VMM's flat selectors, paging off
%else
    STANDARD_BOOT unexpected_fault
    call com1_init
%endif
    call build_tables
    call fill_pool
%ifdef PARAVIRTUAL
    xor ecx, ecx                        ; validate every address space up front (MMUEXT_PIN_L2_TABLE)
.pin:
    mov eax, ecx
    shl eax, 12
    add eax, directories
    shr eax, 12
    push ecx
    HYPERVISOR_pin_table eax
    pop ecx
    test eax, eax
    jnz failed
    inc ecx
    cmp ecx, SPACES
    jb .pin
    mov eax, directories
    shr eax, 12
    HYPERVISOR_new_baseptr eax          ; paging on, in address space 0
    test eax, eax
    jnz failed
%else
    mov eax, directories
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
%endif

    xor ebp, ebp                        ; ebp = round
.round:
    xor edi, edi                        ; edi = address space
.space:
    call remap_window                   ; the "fork": rewrite this space's 8 window PTEs
    mov eax, edi                        ; the "context switch"
    shl eax, 12
    add eax, directories
%ifdef PARAVIRTUAL
    shr eax, 12
    HYPERVISOR_new_baseptr eax
    test eax, eax
    jnz failed
%else
    mov cr3, eax
%endif
    call touch_window
    inc edi
    cmp edi, SPACES
    jb .space
    inc ebp
    cmp ebp, ROUNDS
    jb .round

    mov esi, msg_done
    call print
    mov eax, [checksum]
    call print_hex
    mov esi, msg_newline
    call print
%ifdef PARAVIRTUAL
    HYPERVISOR_shutdown EXIT_SUCCESS
%else
    EXIT_QEMU EXIT_SUCCESS
%endif

; ---- page tables: kernel table (0-4 MiB identity) shared by every directory, one window table each ----
build_tables:
    xor ecx, ecx
.kernel_pte:
    mov eax, ecx
    shl eax, 12
    mov edx, PTE_KERNEL
%ifdef PARAVIRTUAL
    cmp eax, page_tables                ; direct paging: page-table pages must be mapped read-only
    jb .write_kernel_pte
    cmp eax, page_tables_end
    jae .write_kernel_pte
    mov edx, PTE_KERNEL_RO
.write_kernel_pte:
%endif
    or eax, edx
    mov [kernel_table + ecx * 4], eax
    inc ecx
    cmp ecx, 1024
    jb .kernel_pte
    xor ecx, ecx
.directory:
    mov ebx, ecx
    shl ebx, 12
    mov dword [directories + ebx], kernel_table + PTE_KERNEL
    lea eax, [window_tables + ebx + PTE_USER]
    mov [directories + ebx + 4], eax
    inc ecx
    cmp ecx, SPACES
    jb .directory
    ret

; each pool frame starts with its number (a "page identity") and a zero counter
fill_pool:
    xor ecx, ecx
.frame:
    mov ebx, ecx
    shl ebx, 12
    lea eax, [ecx * 8 + 0x1000]
    mov [pool + ebx], eax
    mov dword [pool + ebx + 4], 0
    inc ecx
    cmp ecx, POOL_FRAMES
    jb .frame
    ret

; remap_window: window page j of space edi -> pool frame (3 * space + j + round) mod POOL_FRAMES
remap_window:
    pushad
    xor ecx, ecx
.page:
    lea eax, [edi + edi * 2]
    add eax, ecx
    add eax, ebp
    and eax, POOL_FRAMES - 1
    shl eax, 12
    add eax, pool + PTE_USER            ; the new PTE
    mov ebx, edi
    shl ebx, 12
    lea ebx, [window_tables + ebx + ecx * 4] ; physical (= linear) address of the PTE
%ifdef PARAVIRTUAL
    mov esi, ecx
    shl esi, 4
    mov [mmu_requests + esi], ebx
    mov [mmu_requests + esi + 8], eax
%else
    mov [ebx], eax
%endif
    inc ecx
    cmp ecx, WINDOW_PAGES
    jb .page
%ifdef PARAVIRTUAL
    HYPERVISOR_mmu_update mmu_requests, WINDOW_PAGES, 0 ; 8 validated PTE writes in one trap
    test eax, eax
    jnz failed
%endif
    popad
    ret

; touch_window: read each window page's identity and counter into the checksum, bump the counter
touch_window:
    pushad
    mov ebx, [checksum]
    mov esi, WINDOW
    mov ecx, WINDOW_PAGES
.touch:
    rol ebx, 5
    xor ebx, [esi]
    add ebx, [esi + 4]
    inc dword [esi + 4]
    add esi, 0x1000
    loop .touch
    mov [checksum], ebx
    popad
    ret

%ifdef PARAVIRTUAL
; print: ESI = NUL-terminated string, one console_io hypercall
print:
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

print_hex:                              ; EAX as 0x + 8 hex digits
    pushad
    mov edx, eax
    mov edi, hex_buffer + 2
    mov ecx, 8
.digit:
    rol edx, 4
    mov al, dl
    and al, 0x0F
    add al, '0'
    cmp al, '9'
    jbe .store
    add al, 'a' - '9' - 1
.store:
    stosb
    loop .digit
    mov esi, hex_buffer
    call print
    popad
    ret

failed:
    mov esi, msg_failed
    call print
    HYPERVISOR_crash 0x11
%else
print:
    jmp puts

print_hex:
    jmp puthex

unexpected_fault:
failed:
    mov esi, msg_failed
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES
%endif

    section .data
msg_done:       db "forkbench: 4 address spaces, 64 rounds, 2048 PTE writes, 256 CR3 switches, checksum ", 0
msg_newline:    db 10, 0
msg_failed:     db "forkbench: unexpected fault or refused page-table update", 10, 0
%ifdef PARAVIRTUAL
hex_buffer:     db "0x00000000", 0
%endif
checksum:       dd 0

    section .bss
alignb 4096
page_tables:                            ; every page-table page lives here (read-only to a PV guest)
kernel_table:   resb 4096
directories:    resb 4096 * SPACES
window_tables:  resb 4096 * SPACES
page_tables_end:
pool:           resb 4096 * POOL_FRAMES
%ifdef PARAVIRTUAL
mmu_requests:   resb 16 * WINDOW_PAGES
alignb 16
                resb 4096
stack_top:
%endif

MULTIBOOT_END
