; descriptor-tracing.guest.asm - a guest that rewrites live descriptors in its own GDT and LDT with plain stores
; and reloads the segment registers: natively (and in QEMU) the reload sees the new base at once (SDM Vol. 3A
; 3.4.3: a segment load reads the descriptor from memory). Under trap-and-emulate/BT the real GDT/LDT are the
; VMM's shadows, so the VMM must trace writes to the guest's tables (VMware's "tracing", Adams & Agesen 2006
; §3) or the reload sees the old base. Prints what FS reads through each descriptor, with paging off and on.
; Built by test/unit/vmm/descriptor-tracing.test.ts (nasm -f elf32 + samples/vmm/link.ld).
bits 32
%include "multiboot.inc"
%include "com1.inc"

SEL_CODE    equ 0x08
SEL_DATA    equ 0x10
SEL_MOVING  equ 0x18            ; the descriptor whose base the guest rewrites (paging off)
SEL_MOVING2 equ 0x20            ; the same with paging on
SEL_LDT     equ 0x28            ; LDT descriptor (system type 2)
SEL_LDT_FS  equ 0x04 | 0        ; LDT entry 0, TI = 1, RPL 0

MULTIBOOT_HEADER
_start:
    mov esp, stack_top
    call com1_init
    mov eax, ldt                                ; the LDT descriptor's base (not a link-time constant)
    mov [gdt + SEL_LDT + 2], ax
    shr eax, 16
    mov [gdt + SEL_LDT + 4], al
    mov [gdt + SEL_LDT + 7], ah
    lgdt [gdt_descriptor]
    jmp SEL_CODE:.reload
.reload:
    mov ax, SEL_DATA
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov ax, SEL_LDT
    lldt ax
    mov esi, s_title
    call puts

    ; paging off: GDT descriptor 0x18, base 0 -> 0x100
    mov ax, SEL_MOVING
    mov fs, ax
    mov al, [fs:probe]
    call putc                                   ; 'A'
    mov word [gdt + SEL_MOVING + 2], 0x0100     ; base 15:0 <- 0x0100 (one store to the live GDT)
    mov ax, SEL_MOVING
    mov fs, ax                                  ; reload: the new base counts from here
    mov al, [fs:probe]
    call putc                                   ; 'B'

    ; paging off: LDT descriptor 0, base 0 -> 0x200
    mov ax, SEL_LDT_FS
    mov fs, ax
    mov al, [fs:probe]
    call putc                                   ; 'A'
    mov word [ldt + 2], 0x0200
    mov ax, SEL_LDT_FS
    mov fs, ax
    mov al, [fs:probe]
    call putc                                   ; 'C'
    mov al, 10
    call putc

    ; paging on (identity map of the first 4 MiB with 4 KiB pages): GDT descriptor 0x20, base 0 -> 0x300
    mov edi, page_table
    mov eax, 0x003                              ; present, writable
.fill:
    mov [edi], eax
    add eax, 0x1000
    add edi, 4
    cmp edi, page_table + 4096
    jb .fill
    mov dword [page_directory], page_table + 0x003
    mov eax, page_directory
    mov cr3, eax
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    mov ax, SEL_MOVING2
    mov fs, ax
    mov al, [fs:probe]
    call putc                                   ; 'A'
    mov word [gdt + SEL_MOVING2 + 2], 0x0300
    mov ax, SEL_MOVING2
    mov fs, ax
    mov al, [fs:probe]
    call putc                                   ; 'D'
    mov al, 10
    call putc
    EXIT_QEMU EXIT_SUCCESS

COM1_ROUTINES

section .data align=4096
gdt:                                            ; alone on its page (the tracing count is exact)
    dq 0
    dq 0x00CF9A000000FFFF                       ; 0x08 code, base 0, 4 GiB
    dq 0x00CF92000000FFFF                       ; 0x10 data, base 0, 4 GiB
    dq 0x00CF92000000FFFF                       ; 0x18 data, base rewritten to 0x100
    dq 0x00CF92000000FFFF                       ; 0x20 data, base rewritten to 0x300
    dw ldt_end - ldt - 1, 0                     ; 0x28 LDT: limit, base 15:0 (patched below)
    db 0, 0x82, 0, 0                            ;      base 23:16, type 2 present DPL 0, base 31:24
gdt_end:
align 4096
ldt:                                            ; alone on its page
    dq 0x00CF92000000FFFF                       ; LDT 0: data, base rewritten to 0x200
ldt_end:
align 4096
gdt_descriptor:
    dw gdt_end - gdt - 1
    dd gdt
s_title: db "descriptor tracing: ", 0
align 256
probe_area:
probe equ probe_area
    db 'A'
    times 255 db 0
    db 'B'
    times 255 db 0
    db 'C'
    times 255 db 0
    db 'D'

section .bss align=4096
page_directory: resb 4096
page_table:     resb 4096
    resb 4096
stack_top:
MULTIBOOT_END
