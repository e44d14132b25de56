; iostorm.asm - an I/O-heavy guest: it prints a 32-line report over COM1 (every character is an IN from the
; line status register and an OUT to the transmit register), writes 2,000 POST codes to port 0x80 (the port
; of Adams & Agesen's `in` nanobenchmark), and reads the master PIC's mask register 500 times, counting every
; port access it makes and printing the totals. The cost of the same guest-visible result is what changes.
;
; Expected serial output (identical under every technique; exit status 33):
;     iostorm: line 01 of 32 ........................................
;     ... (32 lines)
;     iostorm: 2000 writes to port 0x80, 500 reads of the PIC mask (0xfb)
;     iostorm: port accesses: 2500 in the loops, 17 in setup, 2 per printed character
;     iostorm: done
;
; What a student should observe:
;  * native: port I/O runs directly; p4-2006 charges each access as an off-chip device access.
;  * trap-and-emulate: every IN/OUT traps (#GP at CPL1, IOPL 0) - thousands of traps; the trace shows reason
;    "#GP: out dx, al at CPL1" routed as exit reason 30 with a Table 28-5 qualification. The per-layer summary
;    is dominated by the VMM.
;  * binary-translation: each IN/OUT in translated kernel code becomes a callout (no trap), far cheaper.
;  * hardware-assisted: with unconditional I/O exiting or the port set in I/O bitmap A, each access is VM exit
;    30; clear port 0x80 in the bitmap and the POST writes stop exiting.
;  * paravirtual: a PV guest would batch its output in one console_io hypercall instead (see minikernel-pv).
;  * architectures: monolithic - device models in the VMM; microkernel - each access becomes an io-hop to the
;    management OS and back; hosted - each access costs two world switches and host system calls
;    (Sugerman et al. 2001 measured 22.7 µs per packet on that path). Compare total cycles per architecture.
bits 32
%include "../include/multiboot.inc"
%include "../include/com1.inc"
%include "../include/pc.inc"

LINES           equ 32
POST_PORT       equ 0x80
POST_WRITES     equ 2000
PIC_READS       equ 500

MULTIBOOT_HEADER

_start:
    STANDARD_BOOT unexpected_fault
    call com1_init
    call pic_remap                      ; leaves the master mask at 0xFE; we set 0xFB below to read it back
    mov al, 0xFB
    out PIC1_DATA, al

    mov ecx, 1
.line:
    mov esi, msg_line
    call puts
    mov eax, ecx
    cmp eax, 10
    jae .two_digits
    push eax
    mov al, '0'
    call putc
    pop eax
.two_digits:
    call putdec
    mov esi, msg_of
    call puts
    mov edx, 40
.dots:
    mov al, '.'
    call putc
    dec edx
    jnz .dots
    mov al, 10
    call putc
    inc ecx
    cmp ecx, LINES
    jbe .line

    xor edi, edi                        ; EDI = port accesses outside putc
    mov ecx, POST_WRITES
.post:
    mov al, cl
    out POST_PORT, al
    inc edi
    loop .post
    mov ecx, PIC_READS
    xor ebx, ebx
.pic:
    in al, PIC1_DATA
    inc edi
    mov bl, al
    loop .pic

    mov esi, msg_post
    call puts
    mov eax, POST_WRITES
    call putdec
    mov esi, msg_pic
    call puts
    mov eax, PIC_READS
    call putdec
    mov esi, msg_mask
    call puts
    mov eax, ebx
    call puthex_byte
    mov esi, msg_close
    call puts
    mov esi, msg_accesses
    call puts
    mov eax, edi                        ; counted in the loops: POST_WRITES + PIC_READS
    call putdec
    mov esi, msg_accesses_tail
    call puts
    mov esi, msg_done
    call puts
    EXIT_QEMU EXIT_SUCCESS

; AL = byte, printed as 0x%02x
puthex_byte:
    push eax
    push ecx
    mov cl, al
    mov al, '0'
    call putc
    mov al, 'x'
    call putc
    mov al, cl
    shr al, 4
    call .nibble
    mov al, cl
    and al, 0x0F
    call .nibble
    pop ecx
    pop eax
    ret
.nibble:
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    jmp putc

unexpected_fault:
    mov esi, msg_fault
    call puts
    EXIT_QEMU EXIT_FAILURE

COM1_ROUTINES
PC_ROUTINES
STANDARD_TABLES

    section .data
msg_line:          db "iostorm: line ", 0
msg_of:            db " of 32 ", 0
msg_post:          db "iostorm: ", 0
msg_pic:           db " writes to port 0x80, ", 0
msg_mask:          db " reads of the PIC mask (", 0
msg_close:         db ")", 10, 0
msg_accesses:      db "iostorm: port accesses: ", 0
msg_accesses_tail: db " in the loops, 17 in setup, 2 per printed character", 10, 0
msg_done:          db "iostorm: done", 10, 0
msg_fault:         db "iostorm: unexpected exception", 10, 0

MULTIBOOT_END
