; hello.asm - the smallest complete bare-metal guest: a Multiboot kernel that talks over the serial port,
; takes timer interrupts and ends the run with a status. Run it with:
;     hyperstep run samples/hello/hello.asm          (or: npm start)
; and, to compare with real tools:
;     nasm -f bin -o hello.bin hello.asm
;     qemu-system-i386 -kernel hello.bin -display none -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=0x04
;
; What a student should observe:
;  * "Hello from a bare-metal guest!" arrives on COM1 (the 16550A UART at port 0x3F8): the guest polls the
;    line status register (LSR, port 0x3FD) until the transmitter is empty, then writes the byte to 0x3F8.
;  * The guest installs its own GDT and IDT, moves the 8259A PIC's vectors to 0x20-0x2F (the firmware left
;    them at 0x08, on top of the CPU's exception vectors!), programs the 8254 PIT for 100 Hz and executes
;    STI; HLT. Each HLT sleeps until the next timer interrupt: "tick 1" ... "tick 5" appear one per
;    interrupt. In HyperStep the ticks are exactly 10 ms of VIRTUAL time apart (derived from retired
;    instructions), so every run is identical; under QEMU they follow the host clock.
;  * The handler acknowledges each interrupt with an EOI (0x20 to port 0x20); without it the PIC would never
;    deliver IRQ0 again (try deleting that line: the guest then sleeps forever and HyperStep reports it).
;  * Finally the guest writes 0x00 to port 0xF4 (QEMU's isa-debug-exit): the run ends with exit status
;    (0 << 1) | 1 = 1, under HyperStep and under QEMU alike.
bits 32
org 0x100000

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010003              ; page-align, memory info, a.out kludge addresses (bit 16)
COM1        equ 0x3F8
PIC1_CMD    equ 0x20
PIC1_DATA   equ 0x21
PIC2_CMD    equ 0xA0
PIC2_DATA   equ 0xA1
PIT_CH0     equ 0x40
PIT_CMD     equ 0x43
PIT_HZ      equ 1193182
TICK_HZ     equ 100
TICKS       equ 5
DEBUG_EXIT  equ 0xF4

section .text
multiboot_header:
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
    dd multiboot_header                 ; header_addr
    dd multiboot_header                 ; load_addr
    dd load_end                         ; load_end_addr
    dd bss_end                          ; bss_end_addr
    dd start                            ; entry_addr

start:
    mov esp, stack_top
    lgdt [gdt_descriptor]
    jmp 0x08:.reload_cs                 ; far jump loads CS from our GDT
.reload_cs:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    call serial_init
    mov esi, msg_hello
    call puts

    ; IDT entry 0x20 (IRQ0 after the remap) -> timer_handler, a 32-bit interrupt gate, DPL 0
    mov eax, timer_handler
    mov [idt + 0x20*8], ax
    mov word [idt + 0x20*8 + 2], 0x08
    mov word [idt + 0x20*8 + 4], 0x8E00
    shr eax, 16
    mov [idt + 0x20*8 + 6], ax
    lidt [idt_descriptor]

    ; 8259A: ICW1 (init, ICW4 follows), ICW2 (vector base), ICW3 (cascade), ICW4 (8086 mode)
    mov al, 0x11
    out PIC1_CMD, al
    out PIC2_CMD, al
    mov al, 0x20
    out PIC1_DATA, al
    mov al, 0x28
    out PIC2_DATA, al
    mov al, 0x04
    out PIC1_DATA, al
    mov al, 0x02
    out PIC2_DATA, al
    mov al, 0x01
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0xFE                        ; OCW1: only IRQ0 (the timer) unmasked
    out PIC1_DATA, al
    mov al, 0xFF
    out PIC2_DATA, al

    ; 8254: channel 0, lobyte/hibyte, mode 2 (rate generator), divisor for 100 Hz
    mov al, 0x34
    out PIT_CMD, al
    mov ax, PIT_HZ / TICK_HZ
    out PIT_CH0, al
    mov al, ah
    out PIT_CH0, al

    sti
.wait:
    hlt                                 ; sleep until the next interrupt
    cmp dword [ticks], TICKS
    jb .wait
    cli
    mov esi, msg_bye
    call puts
    mov al, 0
    out DEBUG_EXIT, al                  ; QEMU/HyperStep: exit status (0 << 1) | 1 = 1
.halt:
    hlt
    jmp .halt

timer_handler:
    pushad
    inc dword [ticks]
    mov esi, msg_tick
    call puts
    mov eax, [ticks]
    add al, '0'
    call putc
    mov al, 10
    call putc
    mov al, 0x20                        ; EOI: tell the PIC this interrupt is handled
    out PIC1_CMD, al
    popad
    iretd

serial_init:                            ; 115200 baud, 8 data bits, no parity, 1 stop bit
    mov dx, COM1 + 1
    mov al, 0
    out dx, al                          ; IER: no UART interrupts
    mov dx, COM1 + 3
    mov al, 0x80
    out dx, al                          ; LCR.DLAB = 1: ports 0/1 are the divisor latch
    mov dx, COM1
    mov al, 1
    out dx, al                          ; divisor 1 = 115200 baud
    mov dx, COM1 + 1
    mov al, 0
    out dx, al
    mov dx, COM1 + 3
    mov al, 0x03
    out dx, al                          ; 8N1, DLAB = 0
    ret

putc:                                   ; al = byte
    push edx
    push eax
    mov dx, COM1 + 5
.busy:
    in al, dx
    test al, 0x20                       ; LSR.THRE: transmitter holding register empty
    jz .busy
    pop eax
    mov dx, COM1
    out dx, al
    pop edx
    ret

puts:                                   ; esi = zero-terminated string
    lodsb
    test al, al
    jz .done
    call putc
    jmp puts
.done:
    ret

align 8
gdt:
    dq 0                                ; null descriptor
    dq 0x00CF9A000000FFFF               ; 0x08: ring 0 code, base 0, limit 4 GiB
    dq 0x00CF92000000FFFF               ; 0x10: ring 0 data, base 0, limit 4 GiB
gdt_descriptor:
    dw gdt_descriptor - gdt - 1
    dd gdt
idt_descriptor:
    dw 256*8 - 1
    dd idt

msg_hello: db "Hello from a bare-metal guest!", 10, 0
msg_tick:  db "tick ", 0
msg_bye:   db "Five timer interrupts taken; exiting through port 0xF4.", 10, 0
load_end:

section .bss follows=.text
alignb 8
idt:    resb 256*8
ticks:  resd 1
        resb 4096
stack_top:
bss_end:
