; -f bin only: NASM's relocatable rule in flat binaries beyond what ELF can express (nasm 2.16):
; a negated label, labels of two sections, branches to another section (never short), `org` 0.
; formats: bin
bits 32
org 0
section .text
first:
        add     eax, -first             ; a negated label is still label-based: 05 id
        add     ebx, 4 - first
        mov     eax, [ebx + 4 - first]  ; ...but as a displacement NASM shrinks it (disp8)
        add     eax, data_label - first ; two sections: label-based, full width
        push    data_label - first
        jmp     data_label              ; another section: E9 rel32, never EB
        jz      data_label
        jmp     first                   ; same section: EB rel8
        call    data_label
        add     eax, first
        mov     eax, [first]
        mov     al, [ebx + first]
        jmp     0x08:first              ; far pointer with a label offset
        jmp     word 0x08:first + 2     ; ptr16:16
last:
        ret

section .data
data_label:
        dd      first, last - first
        jmp     first                   ; back to .text: E9 rel32
        db      last
