; SYNTAX TEST "source.asm.nasm.hyperstep" "directives and the preprocessor"

bits 32
; <---- keyword.other.directive.hyperstep-nasm
;    ^^ constant.numeric.integer.decimal.hyperstep-nasm
[bits 16]
; <- meta.directive.primitive.hyperstep-nasm punctuation.definition.directive.begin.hyperstep-nasm
;^^^^ keyword.other.directive.hyperstep-nasm
;       ^ punctuation.definition.directive.end.hyperstep-nasm
org 0x7C00
; <--- keyword.other.directive.hyperstep-nasm
section .text
; <------- keyword.other.directive.section.hyperstep-nasm
;       ^^^^^ entity.name.section.hyperstep-nasm
segment .bss nobits
; <------- keyword.other.directive.section.hyperstep-nasm
;       ^^^^ entity.name.section.hyperstep-nasm
global _start
; <------ keyword.other.directive.hyperstep-nasm
extern kmain
; <------ keyword.other.directive.hyperstep-nasm
align 16
; <----- keyword.other.directive.hyperstep-nasm
alignb 4
; <------ keyword.other.directive.hyperstep-nasm
    db 1
;   ^^ keyword.other.directive.data.hyperstep-nasm
    dw 1
;   ^^ keyword.other.directive.data.hyperstep-nasm
    dd 1
;   ^^ keyword.other.directive.data.hyperstep-nasm
    dq 1
;   ^^ keyword.other.directive.data.hyperstep-nasm
    dt 1.5
;   ^^ keyword.other.directive.data.hyperstep-nasm
;      ^^^ constant.numeric.float.hyperstep-nasm
    resb 1
;   ^^^^ keyword.other.directive.reserve.hyperstep-nasm
    resw 1
;   ^^^^ keyword.other.directive.reserve.hyperstep-nasm
    resd 1
;   ^^^^ keyword.other.directive.reserve.hyperstep-nasm
    resq 1
;   ^^^^ keyword.other.directive.reserve.hyperstep-nasm
    times 510-($-$$) db 0
;   ^^^^^ keyword.other.directive.hyperstep-nasm
;                ^^ variable.language.location-counter.hyperstep-nasm
;                    ^^ keyword.other.directive.data.hyperstep-nasm
struc point
; <----- keyword.other.directive.hyperstep-nasm
;     ^^^^^ entity.name.struct.hyperstep-nasm
.x: resd 1
; <-- entity.name.label.local.hyperstep-nasm
endstruc
; <-------- keyword.other.directive.hyperstep-nasm
origin: istruc point
;       ^^^^^^ keyword.other.directive.hyperstep-nasm
;              ^^^^^ entity.name.struct.hyperstep-nasm
    at .x, dd 5
;   ^^ keyword.other.directive.hyperstep-nasm
;      ^^ variable.other.member.hyperstep-nasm
;          ^^ keyword.other.directive.data.hyperstep-nasm
    iend
;   ^^^^ keyword.other.directive.hyperstep-nasm
%define COM1 0x3F8
; <------- meta.preprocessor.hyperstep-nasm keyword.other.preprocessor.hyperstep-nasm
;       ^^^^ entity.name.macro.hyperstep-nasm
;            ^^^^^ constant.numeric.integer.hexadecimal.hyperstep-nasm
%undef COM1
; <------ keyword.other.preprocessor.hyperstep-nasm
;      ^^^^ entity.name.macro.hyperstep-nasm
%assign counter counter+1
; <------- keyword.other.preprocessor.hyperstep-nasm
;       ^^^^^^^ entity.name.macro.hyperstep-nasm
%include "hypercalls.inc"
; <-------- keyword.other.preprocessor.hyperstep-nasm
;        ^^^^^^^^^^^^^^^^ string.quoted.double.hyperstep-nasm
%macro OUTB 2
; <------ keyword.other.preprocessor.hyperstep-nasm
;      ^^^^ entity.name.macro.hyperstep-nasm
;           ^ constant.numeric.integer.decimal.hyperstep-nasm
%%retry: mov dx, %1
; <------- entity.name.label.macro-local.hyperstep-nasm
;                ^^ variable.parameter.macro.hyperstep-nasm
    mov al, %2
;           ^^ variable.parameter.macro.hyperstep-nasm
    jnz %%retry
;       ^^^^^^^ variable.other.macro-local.hyperstep-nasm
%endmacro
; <--------- keyword.other.preprocessor.hyperstep-nasm
%rep 4
; <---- keyword.other.preprocessor.hyperstep-nasm
%endrep
; <------- keyword.other.preprocessor.hyperstep-nasm
%ifdef DEBUG
; <------ keyword.other.preprocessor.hyperstep-nasm
;      ^^^^^ entity.name.macro.hyperstep-nasm
%elif ITER > 1
; <----- keyword.other.preprocessor.hyperstep-nasm
;          ^ keyword.operator.hyperstep-nasm
%else
; <----- keyword.other.preprocessor.hyperstep-nasm
%endif
; <------ keyword.other.preprocessor.hyperstep-nasm
%ifndef ITER
; <------- keyword.other.preprocessor.hyperstep-nasm
%if ITER
; <--- keyword.other.preprocessor.hyperstep-nasm
%endif
%endif
section .data align=16 progbits write ; attributes
; <------- keyword.other.directive.section.hyperstep-nasm
;       ^^^^^ entity.name.section.hyperstep-nasm
;             ^^^^^ storage.modifier.section-attribute.hyperstep-nasm
;                   ^^ constant.numeric.integer.decimal.hyperstep-nasm
;                      ^^^^^^^^ storage.modifier.section-attribute.hyperstep-nasm
;                               ^^^^^ storage.modifier.section-attribute.hyperstep-nasm
;                                     ^^^^^^^^^^^^ comment.line.semicolon.hyperstep-nasm
[section .rodata]
;^^^^^^^ keyword.other.directive.section.hyperstep-nasm
;               ^ punctuation.definition.directive.end.hyperstep-nasm
