; Label-based values keep full width (NASM manual 3.5, "simple" vs "relocatable" expressions): a label,
; `$`, `$$` or an equ of a label is relocatable even in -f bin, so NASM never shrinks its field to imm8 or
; disp8, while a difference of two labels of one section is a plain number and is optimised.
; formats: bin elf32
bits 32
section .text
start:
        add     eax, start              ; 05 id, not 83 /0 ib
        add     eax, start + 1
        add     eax, after - start      ; a plain number: 83 /0 ib
        add     eax, $ - $$
        add     eax, $$
        add     eax, $
        add     eax, start * 1
        add     eax, (start)
        add     eax, byte start         ; an explicit size still wins
        add     eax, strict byte start
        add     eax, after - $$
        add     eax, after - $
        add     eax, -start + after     ; the label terms cancel
        add     eax, start * -1 + after
        add     eax, start == start
        add     eax, start < after
        add     eax, start != after
        sub     ecx, start
        cmp     edx, start
        and     esi, start + 2
        push    start
        push    after - start
        push    word start
        mov     eax, [ebx + start]      ; disp32, not disp8
        mov     eax, [ebx + after - start]
        mov     eax, [ebp + start]
        mov     eax, [esi*4 + start]
        mov     eax, [esp + start + 4]
        lea     eax, [eax + start]
        mov     byte [start], 1
        mov     byte [ebx + start], 1
        mov     dword [ebx + start], start
        imul    eax, ebx, start
        imul    eax, start
        imul    eax, ebx, after - start
        shl     eax, start + 1          ; imm8 field: C1 /4 ib (never the D1 shift-by-one form)
        rol     byte [ebx + start], start + 1
        enter   start + 8, 0
        ret     start + 4
        int     start + 0x21
        test    eax, start
        test    al, start
        mov     al, start
        mov     ax, start
        add     ax, start
        add     ax, after - start
        in      al, start + 0x60
        jmp     after                   ; same-section branches are still optimised
        jz      start
        call    after
        mov     eax, equ_label
        add     eax, equ_label
        add     eax, equ_number
        mov     eax, [ecx + equ_label]
        mov     eax, [ecx + equ_number]
        times 2 add eax, start
        dd      start, after - start, $ - start
        dw      start, after - start
        db      start, after - start
        bits 16
        add     ax, start
        add     si, start
        cmp     byte [bx + start], 0
        mov     ax, [bp + si + start]
        push    start
        add     ax, after - start
        bits 32
after:
        nop
equ_label equ start + 2
equ_number equ after - start

section .data
data_start:
        dd      data_start
        dd      data_end - data_start
        dw      data_start
data_end:
