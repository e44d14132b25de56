; mbinfo.asm - prints the Multiboot entry state the loader hands over: registers, EFLAGS, segment
; selectors, CR0, GDTR/IDTR, the GDT entries, and the Multiboot information structure (flags, mem_lower,
; mem_upper, command line, memory map). HyperStep's loader must produce exactly what QEMU's -kernel prints.
bits 32
MB_MAGIC equ 0x1BADB002
MB_FLAGS equ 0x00000003
section .multiboot
align 4
    dd MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

section .text
global _start
_start:
    mov [saved_eax], eax
    mov [saved_ebx], ebx
    mov [saved_esp], esp
    pushfd
    pop dword [saved_eflags]
    mov [saved_ecx], ecx
    mov [saved_edx], edx
    mov [saved_esi], esi
    mov [saved_edi], edi
    mov [saved_ebp], ebp
    mov esp, stack_top
    call serial_init
    mov esi, s_regs
    call puts
    mov eax, [saved_eax]
    call puthex
    mov eax, [saved_ebx]
    call puthex
    mov eax, [saved_esp]
    call puthex
    mov eax, [saved_eflags]
    call puthex
    call newline
    mov esi, s_gprs
    call puts
    mov eax, [saved_ecx]
    call puthex
    mov eax, [saved_edx]
    call puthex
    mov eax, [saved_esi]
    call puthex
    mov eax, [saved_edi]
    call puthex
    mov eax, [saved_ebp]
    call puthex
    call newline
    mov esi, s_segs
    call puts
    xor eax, eax
    mov ax, cs
    call puthex
    mov ax, ds
    call puthex
    mov ax, es
    call puthex
    mov ax, ss
    call puthex
    mov ax, fs
    call puthex
    mov ax, gs
    call puthex
    call newline
    mov esi, s_cr0
    call puts
    mov eax, cr0
    call puthex
    call newline
    mov esi, s_gdtr
    call puts
    sgdt [gdtr]
    movzx eax, word [gdtr]
    call puthex
    mov eax, [gdtr + 2]
    call puthex
    sidt [idtr]
    movzx eax, word [idtr]
    call puthex
    mov eax, [idtr + 2]
    call puthex
    call newline
    ; GDT entries up to the limit
    mov ebx, [gdtr + 2]
    movzx ecx, word [gdtr]
    inc ecx
    shr ecx, 3
.gdt:
    mov eax, [ebx + 4]
    call puthex
    mov eax, [ebx]
    call puthex
    call newline
    add ebx, 8
    loop .gdt
    ; Multiboot information
    mov ebx, [saved_ebx]
    mov esi, s_mbi
    call puts
    mov eax, [ebx]                      ; flags
    call puthex
    mov eax, [ebx + 4]                  ; mem_lower
    call puthex
    mov eax, [ebx + 8]                  ; mem_upper
    call puthex
    mov eax, [ebx + 12]                 ; boot_device
    call puthex
    mov eax, [ebx + 16]                 ; cmdline
    call puthex
    mov eax, [ebx + 20]                 ; mods_count
    call puthex
    mov eax, [ebx + 44]                 ; mmap_length
    call puthex
    mov eax, [ebx + 48]                 ; mmap_addr
    call puthex
    mov eax, [ebx + 64]                 ; boot_loader_name
    call puthex
    call newline
    mov esi, s_cmd
    call puts
    mov esi, [ebx + 16]
    test esi, esi
    jz .nocmd
    call puts
.nocmd:
    call newline
    ; memory map entries: size, base lo/hi, length lo/hi, type
    mov esi, [ebx + 48]
    mov edi, esi
    add edi, [ebx + 44]
.mmap:
    cmp esi, edi
    jae .mmap_done
    mov eax, [esi]
    call puthex
    mov eax, [esi + 8]
    call puthex
    mov eax, [esi + 4]
    call puthex
    mov eax, [esi + 16]
    call puthex
    mov eax, [esi + 12]
    call puthex
    mov eax, [esi + 20]
    call puthex
    call newline
    mov eax, [esi]
    lea esi, [esi + eax + 4]
    jmp .mmap
.mmap_done:
    mov esi, s_name
    call puts
    mov esi, [ebx + 64]
    test esi, esi
    jz .noname
    call puts
.noname:
    call newline
    mov al, 0
    jmp exit_qemu

%include "lib.inc"

section .data
s_regs: db "eax ebx esp eflags: ", 0
s_gprs: db "ecx edx esi edi ebp: ", 0
s_segs: db "cs ds es ss fs gs: ", 0
s_cr0:  db "cr0: ", 0
s_gdtr: db "gdtr idtr: ", 0
s_mbi:  db "mbi flags lower upper bootdev cmdline mods mmaplen mmapaddr name: ", 0
s_cmd:  db "cmdline: ", 0
s_name: db "loader: ", 0

section .bss
align 16
gdtr: resb 8
idtr: resb 8
saved_eax: resd 1
saved_ebx: resd 1
saved_ecx: resd 1
saved_edx: resd 1
saved_esi: resd 1
saved_edi: resd 1
saved_ebp: resd 1
saved_esp: resd 1
saved_eflags: resd 1
%ifdef BIG_BSS
    resb 4 * 1024 * 1024                ; makes the image too big for a 2 MiB machine (loader test)
%endif
    resb 4096
stack_top:
