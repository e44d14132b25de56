; SYNTAX TEST "source.asm.nasm.hyperstep" "comments and labels in every NASM form"

; a whole-line comment
; <- comment.line.semicolon.hyperstep-nasm punctuation.definition.comment.hyperstep-nasm
;  ^^^^^^^^^^^^^^^^^^^^ comment.line.semicolon.hyperstep-nasm
start:
; <----- entity.name.label.global.hyperstep-nasm
;    ^ punctuation.separator.label.hyperstep-nasm
.loop:
; <----- entity.name.label.local.hyperstep-nasm
..@hidden:
; <--------- entity.name.label.special.hyperstep-nasm
    after_spaces:   nop      ; trailing comment
;   ^^^^^^^^^^^^ entity.name.label.global.hyperstep-nasm
;                   ^^^ keyword.other.instruction.hyperstep-nasm
;                            ^^^^^^^^^^^^^^^^^^ comment.line.semicolon.hyperstep-nasm
;                              ^^^^^^^^^^^^^^^^ - keyword.other.instruction.hyperstep-nasm
message db "cli inside a string is text", 0
; <------- entity.name.label.global.hyperstep-nasm
;       ^^ keyword.other.directive.data.hyperstep-nasm
;          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ string.quoted.double.hyperstep-nasm
;           ^^^ - keyword.control.privileged.instruction.hyperstep-nasm
length equ $ - message
; <------ entity.name.label.global.hyperstep-nasm
;      ^^^ keyword.other.directive.hyperstep-nasm
;          ^ variable.language.location-counter.hyperstep-nasm
;              ^^^^^^^ - entity.name.label.global.hyperstep-nasm
.local_no_colon resd 1
; <--------------- entity.name.label.local.hyperstep-nasm
;               ^^^^ keyword.other.directive.reserve.hyperstep-nasm
loop_top mov eax, 1
; <-------- entity.name.label.global.hyperstep-nasm
;        ^^^ keyword.other.instruction.hyperstep-nasm
$str: db 0
; <---- entity.name.label.global.hyperstep-nasm
    jmp .loop ; .loop is a reference, not a definition
;       ^^^^^ - entity.name.label.local.hyperstep-nasm
    mov esi, str
;            ^^^ - support.function.sensitive.instruction.hyperstep-nasm
exc_%1:
; <------ entity.name.label.global.hyperstep-nasm
    GDT_ENTRY 0, 0xFFFFF, 0x9A, 0xC ; a macro invocation, not an instruction
;   ^^^^^^^^^ meta.macro-call.hyperstep-nasm support.other.macro.call.hyperstep-nasm
;             ^ constant.numeric.integer.decimal.hyperstep-nasm
;                                   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ comment.line.semicolon.hyperstep-nasm
gdt: GDT_ENTRY 0, 0, 0, 0
;    ^^^^^^^^^ support.other.macro.call.hyperstep-nasm
    PIC_EOI
;   ^^^^^^^ support.other.macro.call.hyperstep-nasm
    PUTC 'x'
;        ^^^ string.quoted.single.hyperstep-nasm
    nop
;   ^^^ keyword.other.instruction.hyperstep-nasm - support.other.macro.call.hyperstep-nasm
