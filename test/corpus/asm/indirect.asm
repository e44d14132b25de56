; Indirect macro expansion %[...] (NASM manual 4.1.3): names built from macro values, in labels,
; directives, macro bodies, %rep loops and conditionals.
; formats: bin elf32
bits 32
%define WIDTH 32
%define reg16 ax
%define reg32 eax
%define ACC reg%[WIDTH]

section .text
global entry%[WIDTH]
entry%[WIDTH]:
    mov ACC, [table%[WIDTH]]
    mov reg%[WIDTH], ecx

%macro handler 1
vector_%[%1]:
    push dword %1
    jmp common_%[WIDTH]
%endmacro

%assign i 0
%rep 4
    handler i
%assign i i+1
%endrep

%define SLOT 2
%define slot%[SLOT]_name 'two'
%if %[SLOT] == 2
    db slot2_name
%elif %[UNDEFINED_IS_NOT_EXPANDED
    db 'never'
%endif

common_%[WIDTH]:
    ret

section .data
table%[WIDTH]:
%assign i 0
%rep 4
    dd vector_%[i]
%assign i i+1
%endrep
%define inner WIDTH
    dd %[%[inner]], %[ WIDTH / 2 ] ; %[not expanded in a comment]
    db '%[not in a string]'
